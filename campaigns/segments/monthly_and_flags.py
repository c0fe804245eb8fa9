"""What a segments run reads besides the gifts: the active monthly donors and the flagged contacts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select

from vwfund.campaigns.segments.period import Period
from vwfund.store.amounts import is_counted_expr
from vwfund.store.schema import contacts, donations, recurring_plans

#: Plan statuses that mean the plan no longer runs (when no end date is known).
ENDED_PLAN_STATUSES = ("canceled", "cancelled", "ended", "incomplete_expired", "expired")


def read_monthly(conn: Connection, period: Period) -> set[int]:
    """Contacts with a monthly plan running at the cutoff and a counted payment on it in the recent days."""
    d, p = donations.c, recurring_plans.c
    running = or_(p.ended_at >= period.cutoff, and_(p.ended_at.is_(None), p.status.not_in(ENDED_PLAN_STATUSES)))
    stmt = (
        select(d.contact_id)
        .distinct()
        .select_from(donations.join(recurring_plans, and_(p.source == d.source, p.external_id == d.recurring_plan)))
        .where(
            d.contact_id.is_not(None),
            d.received_at >= period.monthly_start,
            d.received_at < period.cutoff,
            is_counted_expr(donations),
            p.interval == "month",
            p.started_at < period.cutoff,
            running,
        )
    )
    return {r[0] for r in conn.execute(stmt)}


@dataclass(frozen=True)
class ContactFlags:
    """Contacts with a flag set: those never put in a segment, and those who opted out or said no email."""

    excluded: frozenset[int]
    opted_out: frozenset[int]
    do_not_email: frozenset[int]


def read_flags(conn: Connection) -> ContactFlags:
    """Read the (few) contacts with a flag set."""
    c = contacts.c
    gone = or_(c.is_deleted.is_(True), c.is_deceased.is_(True), c.restricted.is_(True), c.anonymised_at.is_not(None))
    stmt = select(c.id, gone, c.is_opt_out, c.do_not_email).where(
        or_(gone, c.is_opt_out.is_(True), c.do_not_email.is_(True))
    )
    excluded, opted_out, no_email = set(), set(), set()
    for cid, is_gone, opt_out, dne in conn.execute(stmt):
        if is_gone:
            excluded.add(cid)
        if opt_out:
            opted_out.add(cid)
        if dne:
            no_email.add(cid)
    return ContactFlags(frozenset(excluded), frozenset(opted_out), frozenset(no_email))


def read_monthly_and_flags(conn: Connection, period: Period) -> tuple[set[int], ContactFlags]:
    """The active monthly donors and the flagged contacts."""
    return read_monthly(conn, period), read_flags(conn)
