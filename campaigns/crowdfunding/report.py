"""A campaign's status in words and tables, for the terminal and the demo report."""

from __future__ import annotations

from datetime import timedelta

from vwfund.campaigns.crowdfunding.status import CampaignStatus
from vwfund.money import Money
from vwfund.timeutil import local_date

END_MARGIN = timedelta(microseconds=1)  # ends_at is exclusive: the last day is the one before it


def describe_status(status: CampaignStatus, locale: str = "nl_NL", *, days: int = 14) -> list[str]:
    """The status as lines of text: totals, match, gifts, channels, the last ``days`` days, projection."""
    c = status.campaign

    def fmt(minor: int) -> str:
        return Money(minor, status.currency).format(locale)

    first, last = local_date(c.starts_at, status.timezone), local_date(c.ends_at - END_MARGIN, status.timezone)
    lines = [
        f"{c.name} [{c.code}], {first.isoformat()} to {last.isoformat()} ({status.timezone}): {status.state}, "
        f"{status.days_left} day(s) left",
        f"total        {fmt(status.total_minor)} of {fmt(c.goal_minor)} ({status.share_of_goal}% of goal)",
        f"raised       {fmt(status.raised_minor)} = gross {fmt(status.gross_minor)} "
        f"- refunds {fmt(status.refunds_minor)}",
        f"net          {fmt(status.net_minor)} after fees {fmt(status.fees_minor)}",
    ]
    if not c.match.is_empty:
        parts = []
        if c.match.cap_minor is not None:
            parts.append(f"doubling {fmt(status.match.doubled_minor)} (cap {fmt(c.match.cap_minor)})")
        for m in c.match.milestones:
            reached = "reached" if m in status.match.milestones_reached else "not yet"
            parts.append(f"{fmt(m.sum_minor)} at {fmt(m.at_minor)} ({reached})")
        if status.match_paid_minor:
            parts.append(f"paid so far {fmt(status.match_paid_minor)}")
        lines.append(f"matched      {fmt(status.matched_minor)}: " + "; ".join(parts))
    lines.append(f"gifts        {status.gifts} from {status.donors} donors; average {fmt(status.average_minor)}, "
                 f"median {fmt(status.median_minor)}")
    for ch in status.by_channel:
        lines.append(f"  channel {ch.channel:<12} {_gifts(ch.gifts, 7)}  {fmt(ch.raised_minor):>16} raised  "
                     f"fees {fmt(ch.fees_minor)}")
    shown = [d for d in status.by_day if d.gifts or d.raised_minor][-days:]
    if shown:
        lines.append(f"by day ({status.timezone}, last {len(shown)} with gifts):")
        lines += [f"  {d.day.isoformat()}  {_gifts(d.gifts, 6)}  {fmt(d.raised_minor):>16}  "
                  f"cumulative {fmt(d.cumulative_minor)}" for d in shown]
    projected = status.projection.total_minor
    lines.append(f"projection   {fmt(projected) if projected is not None else '-'} ({status.projection.method})")
    notes = []
    if status.late_gifts:
        notes.append(f"{status.late_gifts} gift(s) received after the end (counted, not matched)")
    if status.not_counted:
        notes.append("not counted: " + ", ".join(f"{n} {k}" for k, n in sorted(status.not_counted.items())))
    if status.other_currencies:
        notes.append("other currencies, never added: "
                     + ", ".join(f"{n} gift(s) in {k}" for k, n in sorted(status.other_currencies.items())))
    lines += [f"note         {n}" for n in notes]
    return lines


def _gifts(n: int, width: int) -> str:
    """``n`` right-aligned in ``width``, then "gift" or "gifts" (padded, so columns stay aligned)."""
    return f"{n:>{width}} {'gift ' if n == 1 else 'gifts'}"
