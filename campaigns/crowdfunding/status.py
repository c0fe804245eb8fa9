"""A crowdfunding campaign's status: money raised toward the goal, exact to the minor unit.

What counts is the core rule (:mod:`vwfund.store.amounts`): a gift attributed to the campaign
(``donation.campaign == code``) in the campaign's currency adds ``amount - refunded`` when it succeeded;
pending, failed, disputed and test gifts add nothing. Gifts in another currency are never added (they
are reported apart). Gifts flagged ``matched`` are the funder's own payments of the match and are
reported as ``match_paid``, never added on top of the computed match. The CLI, the JSON feed, the
thermometer and the chart all read this one :class:`CampaignStatus`.

Refunds have no date of their own in the store: a refund lowers the day on which its gift was received.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, func, select
from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign, load_campaign
from vwfund.campaigns.crowdfunding.matching import MatchOutcome, compute_match

from vwfund.money import Money
from vwfund.store.amounts import COUNTED, counted_minor, fee_counted_minor
from vwfund.store.schema import donations
from vwfund.timeutil import local_date, utcnow, zone

if TYPE_CHECKING:
    from vwfund.app import App

DAY = timedelta(days=1)


class GiftRow(NamedTuple):
    """The columns of one gift that the totals read."""

    source: str
    external_id: str
    contact_id: int | None
    contact_source: str | None
    contact_external_id: str | None
    amount_minor: int
    currency: str
    fee_minor: int
    refunded_minor: int
    status: str
    received_at: datetime
    channel: str | None
    is_test: bool
    matched: bool


@dataclass
class ChannelTotal:
    """Money raised through one channel (the gift's channel, else its source system)."""

    channel: str
    gifts: int = 0
    gross_minor: int = 0
    refunds_minor: int = 0
    fees_minor: int = 0

    @property
    def raised_minor(self) -> int:
        """Gross minus refunds."""
        return self.gross_minor - self.refunds_minor

    def to_json(self, currency: str) -> dict[str, Any]:
        """JSON-safe, amounts as exact strings with their minor units."""
        return {
            "channel": self.channel, "gifts": self.gifts,
            "gross": Money(self.gross_minor, currency).to_json(),
            "refunds": Money(self.refunds_minor, currency).to_json(),
            "raised": Money(self.raised_minor, currency).to_json(),
            "fees": Money(self.fees_minor, currency).to_json(),
            "net": Money(self.raised_minor - self.fees_minor, currency).to_json(),
        }


@dataclass(frozen=True)
class DayTotal:
    """Donors' money raised on one local day, and the running total at its end."""

    day: date
    gifts: int
    raised_minor: int
    cumulative_minor: int


@dataclass(frozen=True)
class Projection:
    """The expected end total (matched funding included), or None, with the method in words."""

    total_minor: int | None
    method: str


@dataclass
class CampaignStatus:
    """Everything ``vwfund crowdfunding status`` shows, in integer minor units of ``currency``."""

    campaign: CrowdfundingCampaign
    as_of: datetime
    timezone: str
    gross_minor: int = 0
    refunds_minor: int = 0
    fees_minor: int = 0
    gifts: int = 0
    donors: int = 0
    eligible_minor: int = 0
    match: MatchOutcome = field(default_factory=lambda: MatchOutcome(0, ()))
    match_paid_minor: int = 0
    average_minor: int = 0
    median_minor: int = 0
    by_channel: list[ChannelTotal] = field(default_factory=list)
    by_day: list[DayTotal] = field(default_factory=list)
    projection: Projection = field(default_factory=lambda: Projection(None, ""))
    late_gifts: int = 0
    not_counted: dict[str, int] = field(default_factory=dict)
    other_currencies: dict[str, int] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        """The campaign's currency."""
        return self.campaign.currency

    @property
    def raised_minor(self) -> int:
        """Donors' money raised: gross minus refunds (the core rule)."""
        return self.gross_minor - self.refunds_minor

    @property
    def net_minor(self) -> int:
        """Money raised minus fees."""
        return self.raised_minor - self.fees_minor

    @property
    def matched_minor(self) -> int:
        """What the funder adds."""
        return self.match.total_minor

    @property
    def total_minor(self) -> int:
        """Money raised plus matched funding: the number on the thermometer."""
        return self.raised_minor + self.matched_minor

    @property
    def state(self) -> str:
        """``upcoming``, ``running`` or ``ended``."""
        if self.as_of < self.campaign.starts_at:
            return "upcoming"
        return "running" if self.as_of < self.campaign.ends_at else "ended"

    @property
    def days_left(self) -> int:
        """Days (or part of one) until the end; 0 once ended."""
        remaining = self.campaign.ends_at - max(self.as_of, self.campaign.starts_at)
        if remaining <= timedelta(0):
            return 0
        whole, rest = divmod(remaining, DAY)
        return int(whole) + (1 if rest else 0)

    @property
    def share_of_goal(self) -> Decimal:
        """The total as a percentage of the goal, rounded down to 0.1 (so 100.0 means reached)."""
        share = Decimal(self.total_minor * 100) / Decimal(self.campaign.goal_minor)
        return share.quantize(Decimal("0.1"), rounding=ROUND_DOWN)

    def money(self, minor: int) -> Money:
        """Minor units as Money in the campaign's currency."""
        return Money(minor, self.currency)

    def to_json(self) -> dict[str, Any]:
        """The JSON feed: amounts as exact strings with minor units; no personal data."""
        c, m = self.campaign, self.money
        return {
            "code": c.code, "name": c.name, "currency": c.currency, "state": self.state,
            "as_of": self.as_of.isoformat(), "timezone": self.timezone,
            "starts_at": c.starts_at.isoformat(), "ends_at": c.ends_at.isoformat(), "days_left": self.days_left,
            "goal": m(c.goal_minor).to_json(), "total": m(self.total_minor).to_json(),
            "share_of_goal_percent": str(self.share_of_goal),
            "gross": m(self.gross_minor).to_json(), "refunds": m(self.refunds_minor).to_json(),
            "raised": m(self.raised_minor).to_json(), "fees": m(self.fees_minor).to_json(),
            "net": m(self.net_minor).to_json(),
            "matched": {
                **m(self.matched_minor).to_json(),
                "doubled": m(self.match.doubled_minor).to_json(),
                "cap": m(c.match.cap_minor).to_json() if c.match.cap_minor is not None else None,
                "ratio": str(c.match.ratio),
                "eligible": m(self.eligible_minor).to_json(),
                "milestones": [
                    {"at": m(ms.at_minor).to_json(), "sum": m(ms.sum_minor).to_json(),
                     "reached": ms in self.match.milestones_reached}
                    for ms in c.match.milestones
                ],
                "paid": m(self.match_paid_minor).to_json(),
            },
            "gifts": self.gifts, "donors": self.donors,
            "average_gift": m(self.average_minor).to_json(), "median_gift": m(self.median_minor).to_json(),
            "by_channel": [ch.to_json(c.currency) for ch in self.by_channel],
            "by_day": [{"day": d.day.isoformat(), "gifts": d.gifts, "raised": m(d.raised_minor).to_json(),
                        "cumulative": m(d.cumulative_minor).to_json()} for d in self.by_day],
            "projection": {
                "total": m(self.projection.total_minor).to_json() if self.projection.total_minor is not None
                else None,
                "method": self.projection.method,
            },
            "late_gifts": self.late_gifts, "not_counted": dict(self.not_counted),
            "other_currencies": dict(self.other_currencies),
        }


def _rounded_division(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest whole minor unit (half to even), exactly."""
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def median_minor(amounts: Sequence[int]) -> int:
    """The median of whole minor units (the middle two averaged, half to even); 0 for none."""
    if not amounts:
        return 0
    ordered = sorted(amounts)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return _rounded_division(ordered[mid - 1] + ordered[mid], 2)


def _donor_key(g: GiftRow) -> tuple[Any, ...]:
    """One donor per contact; a gift with no known contact is its own donor."""
    if g.contact_id is not None:
        return ("contact", g.contact_id)
    if g.contact_source and g.contact_external_id:
        return ("ref", g.contact_source, g.contact_external_id)
    return ("gift", g.source, g.external_id)


def _days(campaign: CrowdfundingCampaign, per_day: dict[date, list[int]], as_of: datetime, tz: str) -> list[DayTotal]:
    """Every local day from the start (or the first gift) to today (or the end, or the last gift)."""
    first = local_date(campaign.starts_at, tz)
    last = local_date(min(as_of, campaign.ends_at - timedelta(microseconds=1)), tz)
    if per_day:
        first, last = min(first, *per_day), max(last, *per_day)
    days, cumulative, day = [], 0, first
    while day <= last:
        gifts, raised = per_day.get(day, [0, 0])
        cumulative += raised
        days.append(DayTotal(day, gifts, raised, cumulative))
        day += DAY
    return days


def project_total(status: CampaignStatus) -> Projection:
    """The expected end total: the run rate so far carried to the end, matched funding applied to it."""
    c, as_of = status.campaign, status.as_of
    if status.state == "ended":
        return Projection(status.total_minor, "ended: the final total")
    if status.state == "upcoming":
        return Projection(None, "not started: no projection")
    elapsed, remaining = as_of - c.starts_at, c.ends_at - as_of
    if elapsed < DAY:
        return Projection(None, "less than a day in: too early to project")
    seconds_elapsed = int(elapsed.total_seconds())
    seconds_left = int(remaining.total_seconds())
    more = _rounded_division(status.eligible_minor * seconds_left, seconds_elapsed)
    matched = compute_match(c.match, status.eligible_minor + more).total_minor
    return Projection(
        status.raised_minor + more + matched,
        f"linear: money raised in the campaign so far ÷ {_span(elapsed)} elapsed × {_span(remaining)} left, "
        "added to the total, with matched funding applied to the result",
    )


def _span(delta: timedelta) -> str:
    days = Decimal(int(delta.total_seconds())) / Decimal(86400)
    return f"{days.quantize(Decimal('0.1'))} days"


def summarise(campaign: CrowdfundingCampaign, rows: Iterable[GiftRow], *, as_of: datetime, tz: str,
              not_counted: dict[str, int] | None = None) -> CampaignStatus:
    """Add up gifts already filtered to the campaign (any currency, counted statuses) into a status."""
    status = CampaignStatus(campaign, as_of, tz, not_counted=dict(not_counted or {}))
    z = zone(tz)
    channels = {name: ChannelTotal(name) for name in campaign.channels}
    per_day: dict[date, list[int]] = {}
    amounts: list[int] = []
    donors: set[tuple[Any, ...]] = set()
    other: Counter[str] = Counter()
    for g in rows:
        if g.currency != campaign.currency:
            other[g.currency] += 1
            continue
        counted = counted_minor(g.status, g.amount_minor, g.refunded_minor, g.is_test)
        fee = fee_counted_minor(g.status, g.fee_minor, g.is_test)
        if g.status not in COUNTED or g.is_test:
            continue
        if g.matched:
            status.match_paid_minor += counted
            continue
        status.gross_minor += g.amount_minor
        status.refunds_minor += g.refunded_minor
        status.fees_minor += fee
        ch = channels.setdefault(g.channel or g.source, ChannelTotal(g.channel or g.source))
        ch.gross_minor += g.amount_minor
        ch.refunds_minor += g.refunded_minor
        ch.fees_minor += fee
        if campaign.starts_at <= g.received_at < campaign.ends_at:
            status.eligible_minor += counted
        elif g.received_at >= campaign.ends_at:
            status.late_gifts += 1
        day = per_day.setdefault(g.received_at.astimezone(z).date(), [0, 0])
        day[1] += counted
        if counted > 0:
            day[0] += 1
            ch.gifts += 1
            amounts.append(counted)
            donors.add(_donor_key(g))
    status.gifts, status.donors = len(amounts), len(donors)
    status.average_minor = _rounded_division(sum(amounts), len(amounts)) if amounts else 0
    status.median_minor = median_minor(amounts)
    status.match = compute_match(campaign.match, status.eligible_minor)
    status.by_channel = sorted(channels.values(), key=lambda ch: (-ch.raised_minor, ch.channel))
    status.by_day = _days(campaign, per_day, as_of, tz)
    status.other_currencies = dict(other)
    status.projection = project_total(status)
    return status


def read_gifts(conn: Connection, code: str) -> Iterable[GiftRow]:
    """The campaign's gifts with a status that may count (filtered by the core's COUNTED statuses)."""
    d = donations.c
    query = select(d.source, d.external_id, d.contact_id, d.contact_source, d.contact_external_id,
                   d.amount_minor, d.currency, d.fee_minor, d.refunded_minor, d.status, d.received_at,
                   d.channel, d.is_test, d.matched).where((d.campaign == code) & d.status.in_(COUNTED))
    for row in conn.execution_options(yield_per=5000).execute(query):
        yield GiftRow._make(row)


def count_not_counted(conn: Connection, code: str) -> dict[str, int]:
    """Gifts attributed to the campaign that add nothing, by reason (status, or ``test``)."""
    d = donations.c
    counts: Counter[str] = Counter()
    rows = conn.execute(select(d.status, d.is_test, func.count()).where(d.campaign == code)
                        .group_by(d.status, d.is_test))
    for status, is_test, n in rows:
        if is_test:
            counts["test"] += n
        elif status not in COUNTED:
            counts[status] += n
    return dict(counts)


def campaign_status(conn: Connection, code: str, tz: str, as_of: datetime | None = None) -> CampaignStatus:
    """The status of campaign ``code`` now (or at ``as_of``), read in one transaction."""
    campaign = load_campaign(conn, code)
    return summarise(campaign, read_gifts(conn, code), as_of=as_of or utcnow(), tz=tz,
                     not_counted=count_not_counted(conn, code))


def read_status(app: App, code: str, as_of: datetime | None = None) -> CampaignStatus:
    """The status of campaign ``code`` in the organisation's time zone, from the app's store."""
    with app.store.read() as conn:
        return campaign_status(conn, code, app.config.timezone, as_of)
