"""The campaign's gifts summed in SQL (one pass per question), with the core rule's SQL forms.

Money raised uses :func:`vwfund.store.amounts.counted_expr` (``amount - refunded`` for succeeded gifts,
0 otherwise), a gift counts as a gift by :func:`vwfund.store.amounts.is_counted_expr`, and a fee belongs
with a gift whose status counts, as :func:`vwfund.store.amounts.fee_counted_minor` says. Summing in the
database keeps a campaign of 100,000 gifts fast enough for a live feed; days are built from quarter-hour
buckets (every time zone's offset is a multiple of 15 minutes) mapped to the organisation's local days.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Integer, and_, case, cast, func, select

from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign
from vwfund.store.amounts import COUNTED, counted_expr, is_counted_expr
from vwfund.store.schema import donations

BUCKET_SECONDS = 900
COUNTED_CLASS = "counted"
d = donations.c


@dataclass(frozen=True)
class GiftGroup:
    """Sums for gifts sharing a channel, currency, matched flag and place in time (before/in/after)."""

    channel: str
    currency: str
    matched: bool
    window: str
    rows: int
    gross_minor: int
    refunds_minor: int
    counted_minor: int
    fees_minor: int
    gifts: int


@dataclass
class GiftAggregates:
    """Everything the status needs from the store, already summed."""

    groups: list[GiftGroup] = field(default_factory=list)
    #: quarter-hour bucket start (UTC) -> (gifts, money raised), donors' gifts in the campaign's currency
    buckets: dict[datetime, tuple[int, int]] = field(default_factory=dict)
    #: counted amount of one gift -> how many gifts had it (for the median)
    amounts: Counter[int] = field(default_factory=Counter)
    donors: int = 0
    not_counted: dict[str, int] = field(default_factory=dict)


def _bucket(conn: Connection) -> Any:
    """SQL: the quarter-hour bucket of ``received_at`` as whole Unix seconds / 900."""
    if conn.dialect.name == "sqlite":  # naive UTC text: strftime('%s') gives Unix seconds
        return cast(func.strftime("%s", d.received_at), Integer) // BUCKET_SECONDS
    return cast(func.floor(func.extract("epoch", d.received_at) / BUCKET_SECONDS), BigInteger)


def _donor_counts() -> list[Any]:
    """SQL: distinct contacts, distinct contact references without a contact, and gifts with neither
    (each of those is its own donor); their sum is the number of donors."""
    no_contact = d.contact_id.is_(None)
    reference = case((and_(no_contact, d.contact_external_id.is_not(None)),
                      d.contact_source + ":" + d.contact_external_id))
    return [func.count(func.distinct(d.contact_id)), func.count(func.distinct(reference)),
            func.sum(case((and_(no_contact, d.contact_external_id.is_(None)), 1), else_=0))]


def read_aggregates(conn: Connection, campaign: CrowdfundingCampaign) -> GiftAggregates:
    """Sum the gifts attributed to ``campaign`` (``donation.campaign == code``) in four queries."""
    counted, is_counted = counted_expr(donations), is_counted_expr(donations)
    status_counts = and_(d.status.in_(COUNTED), d.is_test.is_(False))
    donors_gifts = and_(d.campaign == campaign.code, status_counts, d.currency == campaign.currency,
                        d.matched.is_(False))
    channel = func.coalesce(d.channel, d.source)
    window = case((d.received_at < campaign.starts_at, "before"), (d.received_at >= campaign.ends_at, "after"),
                  else_="in")
    status_class = case((d.is_test.is_(True), "test"), (d.status.in_(COUNTED), COUNTED_CLASS), else_=d.status)
    out = GiftAggregates()
    not_counted: Counter[str] = Counter()
    rows = conn.execute(
        select(status_class, channel, d.currency, d.matched, window, func.count(),
               func.sum(case((status_counts, d.amount_minor), else_=0)),
               func.sum(case((status_counts, d.refunded_minor), else_=0)), func.sum(counted),
               func.sum(case((status_counts, d.fee_minor), else_=0)), func.sum(case((is_counted, 1), else_=0)))
        .where(d.campaign == campaign.code).group_by(status_class, channel, d.currency, d.matched, window)
    )
    for r in rows:
        if r[0] == COUNTED_CLASS:
            out.groups.append(GiftGroup(str(r[1]), r[2], bool(r[3]), r[4], *(int(v or 0) for v in r[5:])))
        else:
            not_counted[r[0]] += int(r[5])
    out.not_counted = dict(not_counted)
    bucket = _bucket(conn)
    for b, gifts, raised in conn.execute(
        select(bucket, func.sum(case((is_counted, 1), else_=0)), func.sum(counted))
        .where(donors_gifts).group_by(bucket)
    ):
        start = datetime.fromtimestamp(int(b) * BUCKET_SECONDS, UTC)
        before = out.buckets.get(start, (0, 0))
        out.buckets[start] = (before[0] + int(gifts), before[1] + int(raised))
    amount = d.amount_minor - d.refunded_minor
    out.amounts = Counter({int(v): int(n) for v, n in conn.execute(
        select(amount, func.count()).where(donors_gifts, is_counted).group_by(amount))})
    contacts, references, anonymous = conn.execute(select(*_donor_counts()).where(donors_gifts, is_counted)).one()
    out.donors = int(contacts or 0) + int(references or 0) + int(anonymous or 0)
    return out
