"""The period a segments run covers: the reference date and the instants derived from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from vwfund.campaigns.segments.settings import SegmentSettings
from vwfund.timeutil import day_bounds


def epoch(instant: datetime) -> int:
    """Whole seconds since 1970 of an aware instant (the unit of ``counted_gifts.received_epoch``)."""
    return int(instant.timestamp())


@dataclass(frozen=True)
class Period:
    """The reference date and the instants derived from it in the organisation's calendar."""

    as_of: date
    cutoff: datetime
    year: int
    year_starts: tuple[datetime, ...]
    window_start: datetime
    monthly_start: datetime

    @property
    def years(self) -> tuple[int, ...]:
        """The calendar years kept apart, newest first (``year_starts[k]`` starts ``years[k]``)."""
        return tuple(self.year - k for k in range(len(self.year_starts)))


def make_period(as_of: date, settings: SegmentSettings) -> Period:
    """Gifts up to the end of ``as_of`` (local) count; the window is the ``window_days`` days ending that day."""
    tz = settings.timezone
    cutoff = day_bounds(as_of, tz)[1]
    starts = tuple(day_bounds(date(as_of.year - k, 1, 1), tz)[0] for k in range(settings.history_years + 1))
    return Period(
        as_of=as_of,
        cutoff=cutoff,
        year=as_of.year,
        year_starts=starts,
        window_start=day_bounds(as_of - timedelta(days=settings.window_days - 1), tz)[0],
        monthly_start=day_bounds(as_of - timedelta(days=settings.monthly_recent_days - 1), tz)[0],
    )
