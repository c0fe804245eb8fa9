"""Each contact's situation as the policy sees it, read in bulk: gifts, clicks, consents, lists, exceptions.

Opens are never read: Apple Mail Privacy Protection makes them meaningless, so an open neither keeps a
contact nor changes a plan. The situation's digest (last gift, last click, last consent, active monthly
giving) is recorded with a plan; ``apply`` recomputes it and leaves alone whoever changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, func, select, true

from vwfund.campaigns.gdpr.policy import Policy
from vwfund.campaigns.gdpr.tables import gdpr_holds
from vwfund.identity import digest
from vwfund.store.schema import (
    consents,
    contacts,
    donations,
    engagement_events,
    mailing_members,
    recurring_plans,
    segment_members,
    segment_runs,
)

CHUNK = 500


@dataclass(frozen=True)
class Membership:
    """One newsletter membership of a contact."""

    audience: str
    status: str
    on_list_since: datetime | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class LatestConsent:
    """The latest consent record of a contact for one purpose, and whether it is full evidence."""

    granted: bool
    at: datetime
    has_evidence: bool


@dataclass(slots=True)
class Situation:
    """What the policy needs to know about one contact."""

    contact_id: int
    email: str | None
    created_at: datetime
    last_gift: datetime | None = None
    last_click: datetime | None = None
    last_consent: datetime | None = None
    active_recurring: bool = False
    held: bool = False
    memberships: list[Membership] = field(default_factory=list)
    consents: dict[str, LatestConsent] = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)

    def facts(self) -> dict[str, Any]:
        """The facts the digest covers, as recorded with a plan row."""
        return {
            "last_gift": self.last_gift.isoformat() if self.last_gift else None,
            "last_click": self.last_click.isoformat() if self.last_click else None,
            "last_consent": self.last_consent.isoformat() if self.last_consent else None,
            "active_recurring": self.active_recurring,
        }

    @property
    def digest(self) -> str:
        """A digest of the facts: it changes when the contact gave, clicked, consented or started monthly giving."""
        return facts_digest(self.facts())

    @property
    def tags(self) -> set[str]:
        """Every newsletter tag of the contact."""
        return {t for m in self.memberships for t in m.tags}


def facts_digest(facts: dict[str, Any]) -> str:
    """The digest of recorded facts (see :meth:`Situation.facts`)."""
    return digest(facts.get("last_gift"), facts.get("last_click"), facts.get("last_consent"),
                  bool(facts.get("active_recurring")))


def _rows(conn: Connection, query: Select[Any], column: Any, ids: Sequence[int] | None) -> Iterator[Any]:
    """Run ``query`` for every contact, or for ``ids`` in chunks."""
    if ids is None:
        yield from conn.execute(query)
        return
    for i in range(0, len(ids), CHUNK):
        yield from conn.execute(query.where(column.in_(ids[i : i + CHUNK])))


def load_situations(conn: Connection, policy: Policy, ids: Sequence[int] | None = None) -> dict[int, Situation]:
    """Situations of every live contact (not anonymised, not deleted), or of ``ids`` only."""
    found: dict[int, Situation] = {}
    live = select(contacts.c.id, contacts.c.email, contacts.c.created_at).where(
        contacts.c.anonymised_at.is_(None), contacts.c.is_deleted.is_(False)
    )
    for cid, email, created in _rows(conn, live, contacts.c.id, ids):
        found[cid] = Situation(cid, email, created)

    gifts = (
        select(donations.c.contact_id, func.max(donations.c.received_at).label("last"))
        .where(donations.c.contact_id.is_not(None), donations.c.is_test.is_(False), donations.c.status != "failed")
        .group_by(donations.c.contact_id)
    )
    for cid, last in _rows(conn, gifts, donations.c.contact_id, ids):
        if cid in found:
            found[cid].last_gift = last

    audience_ok = mailing_members.c.audience.in_(policy.audiences) if policy.audiences else true()
    clicks = (
        select(mailing_members.c.contact_id, func.max(engagement_events.c.at).label("last"))
        .select_from(engagement_events.join(mailing_members, and_(
            mailing_members.c.audience == engagement_events.c.audience,
            mailing_members.c.email_hash == engagement_events.c.email_hash,
        )))
        .where(engagement_events.c.kind == "click", mailing_members.c.contact_id.is_not(None), audience_ok)
        .group_by(mailing_members.c.contact_id)
    )
    for cid, last in _rows(conn, clicks, mailing_members.c.contact_id, ids):
        if cid in found:
            found[cid].last_click = last

    members = select(
        mailing_members.c.contact_id, mailing_members.c.audience, mailing_members.c.status,
        mailing_members.c.opted_in_at, mailing_members.c.tags,
    ).where(mailing_members.c.contact_id.is_not(None), audience_ok)
    for cid, audience, status, opted_in_at, tags in _rows(conn, members, mailing_members.c.contact_id, ids):
        s = found.get(cid)
        if s is not None:
            s.memberships.append(Membership(audience, status, opted_in_at, tuple(tags or ())))

    evidence = select(
        consents.c.contact_id, consents.c.purpose, consents.c.granted, consents.c.at, consents.c.source,
        consents.c.evidence,
    ).where(consents.c.contact_id.is_not(None)).order_by(consents.c.at, consents.c.id)
    for cid, purpose, granted, at, source, text in _rows(conn, evidence, consents.c.contact_id, ids):
        s = found.get(cid)
        if s is None:
            continue
        has_text = bool((text or "").strip()) or not policy.evidence_requires_text
        s.consents[purpose] = LatestConsent(granted, at, bool(source) and has_text)
        if granted and (s.last_consent is None or at > s.last_consent):
            s.last_consent = at

    monthly = select(recurring_plans.c.contact_id).where(
        recurring_plans.c.status == "active", recurring_plans.c.contact_id.is_not(None)
    ).distinct()
    for r in _rows(conn, monthly, recurring_plans.c.contact_id, ids):
        if r.contact_id in found:
            found[r.contact_id].active_recurring = True

    holds = select(gdpr_holds.c.contact_id).where(gdpr_holds.c.closed_at.is_(None)).distinct()
    for r in _rows(conn, holds, gdpr_holds.c.contact_id, ids):
        if r.contact_id in found:
            found[r.contact_id].held = True

    for group in policy.keep_groups:
        run_id = conn.execute(
            select(func.max(segment_runs.c.id)).where(segment_runs.c.name == group)
        ).scalar()
        if run_id is None:
            continue
        in_group = select(segment_members.c.contact_id).where(segment_members.c.run_id == run_id)
        for r in _rows(conn, in_group, segment_members.c.contact_id, ids):
            if r.contact_id in found:
                found[r.contact_id].groups.add(group)
    return found


def inactivity_windows(conn: Connection, policy: Policy, now: datetime) -> dict[str, datetime]:
    """Per audience, the start of the inactivity window: the last N mailings or M months, whichever is longer.

    A mailing's time is its first recorded event. An audience with fewer than N mailings reaches back to
    its first one.
    """
    months_start = policy.window_months(now)
    query = select(
        engagement_events.c.audience, engagement_events.c.mailing_id, func.min(engagement_events.c.at).label("started")
    ).group_by(engagement_events.c.audience, engagement_events.c.mailing_id)
    if policy.audiences:
        query = query.where(engagement_events.c.audience.in_(policy.audiences))
    starts: dict[str, list[datetime]] = {}
    for r in conn.execute(query):
        if r.started <= now:
            starts.setdefault(r.audience, []).append(r.started)
    windows: dict[str, datetime] = {}
    for audience, times in starts.items():
        times.sort(reverse=True)
        nth = times[min(policy.inactive_campaigns, len(times)) - 1]
        windows[audience] = min(nth, months_start)
    return windows
