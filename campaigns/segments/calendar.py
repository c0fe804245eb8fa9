"""Local calendar days and years of stored instants (whole seconds since 1970, UTC), in any time zone."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from vwfund.timeutil import zone

Ints = npt.NDArray[np.int64]


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
#: Marks a UTC day on which the zone's offset changes (no real offset is this large).
CLOCK_CHANGE = 1 << 40


class LocalDays:
    """Local calendar day (as a proleptic ordinal, ``date.toordinal``) of an instant in seconds since 1970.

    The zone's UTC offset is looked up once per UTC day: where it is the same all that day (every day but
    those of a clock change), the local day is plain arithmetic, in any zone, half-hour offsets included;
    on the days of a change each instant is converted exactly.
    """

    def __init__(self, tz: str) -> None:
        self.zone = zone(tz)
        self.offsets: dict[int, int | None] = {}

    def _offset(self, day: int) -> int | None:
        # a zone changes its offset at most once a day, so a change shows between these three instants
        offsets = {datetime.fromtimestamp(day * 86400 + hour * 3600, self.zone).utcoffset() for hour in (0, 12, 24)}
        if len(offsets) != 1:
            return None
        offset = offsets.pop()
        return None if offset is None else int(offset.total_seconds())

    def _exact(self, seconds: int) -> int:
        return datetime.fromtimestamp(seconds, self.zone).date().toordinal()

    def __call__(self, seconds: int) -> int:
        """The ordinal of the local day of the instant ``seconds`` after 1970-01-01 00:00 UTC."""
        return int(self.many(np.array([seconds], dtype=np.int64))[0])

    def many(self, instants: Ints) -> Ints:
        """The local day ordinals of many instants (seconds since 1970)."""
        if len(instants) == 0:
            return np.zeros(0, dtype=np.int64)
        days, inverse = np.unique(instants // 86400, return_inverse=True)
        known = self.offsets
        for day in days.tolist():
            if day not in known:
                known[day] = self._offset(day)
        table = np.array([CLOCK_CHANGE if (o := known[day]) is None else o for day in days.tolist()], dtype=np.int64)
        offsets = table[inverse.reshape(-1)]
        out = (instants + offsets) // 86400 + EPOCH_ORDINAL
        for i in np.flatnonzero(offsets == CLOCK_CHANGE):
            out[i] = self._exact(int(instants[i]))
        return out


def year_of(ordinals: Ints) -> Ints:
    """The calendar year of each day ordinal (``date.toordinal``), exact, proleptic Gregorian."""
    days = (ordinals - EPOCH_ORDINAL).astype("datetime64[D]")
    return days.astype("datetime64[Y]").astype(np.int64) + 1970
