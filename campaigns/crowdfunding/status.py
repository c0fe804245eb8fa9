"""A crowdfunding campaign's status: money raised toward the goal, exact to the minor unit.

What counts is the core rule (:mod:`vwfund.store.amounts`, summed in SQL by
:mod:`vwfund.campaigns.crowdfunding.aggregates`): a gift attributed to the campaign
(``donation.campaign == code``) in the campaign's currency adds ``amount - refunded`` when it succeeded;
pending, failed, disputed and test gifts add nothing. Gifts in another currency are never added (they
are reported apart). Gifts flagged ``matched`` are the funder's own payments of the match and are
reported as ``match_paid``, never added on top of the computed match. The CLI, the JSON feed, the
thermometer and the chart all read this one :class:`CampaignStatus`.

Refunds have no date of their own in the store: a refund lowers the day on which its gift was received.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from vwfund.campaigns.crowdfunding.aggregates import GiftAggregates, read_aggregates
from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign, load_campaign
from vwfund.campaigns.crowdfunding.matching import MatchOutcome, compute_match
from vwfund.money import Money
from vwfund.timeutil import local_date, utcnow, zone

if TYPE_CHECKING:
    from vwfund.app import App

DAY = timedelta(days=1)


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


def median_minor(amounts: Counter[int]) -> int:
    """The median of gifts given as amount -> how many (middle two averaged, half to even); 0 for none."""
    n = sum(amounts.values())
    if n == 0:
        return 0
    wanted = (n - 1) // 2, n // 2  # 0-based positions of the middle one or two gifts
    found: list[int] = []
    seen = 0
    for value in sorted(amounts):
        seen += amounts[value]
        while len(found) < 2 and wanted[len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    return _rounded_division(found[0] + found[1], 2)


def _days(campaign: CrowdfundingCampaign, per_day: dict[date, list[int]], as_of: datetime,
          tz: str) -> list[DayTotal]:
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




def summarise(campaign: CrowdfundingCampaign, sums: GiftAggregates, *, as_of: datetime,
              tz: str) -> CampaignStatus:
    """Turn the campaign's summed gifts into its status (totals, match, channels, days, projection)."""
    status = CampaignStatus(campaign, as_of, tz, not_counted=dict(sums.not_counted))
    channels = {name: ChannelTotal(name) for name in campaign.channels}
    other: Counter[str] = Counter()
    for g in sums.groups:
        if g.currency != campaign.currency:
            other[g.currency] += g.rows
        elif g.matched:
            status.match_paid_minor += g.counted_minor
        else:
            status.gross_minor += g.gross_minor
            status.refunds_minor += g.refunds_minor
            status.fees_minor += g.fees_minor
            status.gifts += g.gifts
            status.eligible_minor += g.counted_minor if g.window == "in" else 0
            status.late_gifts += g.gifts if g.window == "after" else 0
            ch = channels.setdefault(g.channel, ChannelTotal(g.channel))
            ch.gross_minor += g.gross_minor
            ch.refunds_minor += g.refunds_minor
            ch.fees_minor += g.fees_minor
            ch.gifts += g.gifts
    z = zone(tz)
    per_day: dict[date, list[int]] = {}
    for start, (gifts, raised) in sums.buckets.items():
        day = per_day.setdefault(start.astimezone(z).date(), [0, 0])
        day[0] += gifts
        day[1] += raised
    status.donors = sums.donors
    status.average_minor = _rounded_division(status.raised_minor, status.gifts) if status.gifts else 0
    status.median_minor = median_minor(sums.amounts)
    status.match = compute_match(campaign.match, status.eligible_minor)
    status.by_channel = sorted(channels.values(), key=lambda ch: (-ch.raised_minor, ch.channel))
    status.by_day = _days(campaign, per_day, as_of, tz)
    status.other_currencies = dict(other)
    status.projection = project_total(status)
    return status


def campaign_status(conn: Connection, code: str, tz: str, as_of: datetime | None = None) -> CampaignStatus:
    """The status of campaign ``code`` now (or at ``as_of``), read in one transaction."""
    campaign = load_campaign(conn, code)
    return summarise(campaign, read_aggregates(conn, campaign), as_of=as_of or utcnow(), tz=tz)


def read_status(app: App, code: str, as_of: datetime | None = None) -> CampaignStatus:
    """The status of campaign ``code`` in the organisation's time zone, from the app's store."""
    with app.store.read() as conn:
        return campaign_status(conn, code, app.config.timezone, as_of)
