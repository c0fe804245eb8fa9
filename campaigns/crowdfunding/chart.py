"""The progress chart: donors' money raised, cumulative by local day, against the goal (matplotlib, Agg).

Amounts become floats only here, as plot coordinates; every figure in a label is formatted from the exact
integer minor units.
"""

from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal

from vwfund.campaigns.crowdfunding.status import CampaignStatus
from vwfund.money import Money, currency_exponent
from vwfund.timeutil import local_date


def _coordinate(minor: int, exponent: int) -> float:
    """A plot coordinate in major units (display only)."""
    return float(Decimal(minor).scaleb(-exponent))


def render_chart(status: CampaignStatus, locale: str = "nl_NL") -> bytes:
    """A PNG: cumulative money raised per day, the goal, today's total with matched funding, the projection."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    c, exp = status.campaign, currency_exponent(status.currency)

    def fmt(minor: int) -> str:
        return Money(minor, status.currency).format(locale).replace("$", r"\$")

    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.add_subplot()
    # matplotlib plots datetimes on a date axis (its stubs only name numbers, hence Any)
    days: list[Any] = [datetime.combine(d.day, time()) + timedelta(days=1) for d in status.by_day]
    values = [_coordinate(d.cumulative_minor, exp) for d in status.by_day]
    if days:
        ax.step([days[0] - timedelta(days=1), *days], [0.0, *values], where="post", color="#c8102e",
                linewidth=2, label="donors' gifts (cumulative)")
    ax.axhline(_coordinate(c.goal_minor, exp), color="#5b6770", linestyle="--", linewidth=1.2,
               label=f"goal {fmt(c.goal_minor)}")
    last_local_day = local_date(c.ends_at - timedelta(microseconds=1), status.timezone)
    end_day: Any = datetime.combine(last_local_day, time()) + timedelta(days=1)
    if days and status.matched_minor:
        ax.plot([days[-1]], [_coordinate(status.total_minor, exp)], marker="o", color="#1f5fa8",
                label=f"with matched funding {fmt(status.total_minor)}")
    projected = status.projection.total_minor
    if days and projected is not None and status.state == "running":
        ax.plot([days[-1], end_day], [_coordinate(status.total_minor, exp), _coordinate(projected, exp)],
                color="#1f5fa8", linestyle=":", label=f"projection {fmt(projected)}")
    name = c.name.replace("$", r"\$")  # a "$" would start matplotlib's math text
    ax.set_title(f"{name}: {fmt(status.total_minor)} of {fmt(c.goal_minor)} ({status.share_of_goal}%)")
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda v, _pos: f"{format_decimal(round(v), locale=locale)} {status.currency}"))
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
