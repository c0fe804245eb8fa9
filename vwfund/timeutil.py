"""Instants are UTC; days and years are the organisation's local calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vwfund.errors import ConfigError, InputError

DEFAULT_TIMEZONE = "Europe/Amsterdam"


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    """Return a ZoneInfo or raise ConfigError naming the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"organisation.timezone: unknown time zone {name!r}") from exc


def as_utc(value: datetime, default_zone: str = DEFAULT_TIMEZONE) -> datetime:
    """Convert to aware UTC; a naive value is read as the organisation's local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(default_zone))
    return value.astimezone(UTC)


def parse_instant(text: str, default_zone: str = DEFAULT_TIMEZONE) -> datetime:
    """Parse an ISO 8601 date or date-time; a bare date is local midnight. Returns aware UTC."""
    raw = (text or "").strip()
    if not raw:
        raise InputError("empty date")
    try:
        if len(raw) == 10:
            return as_utc(datetime.combine(date.fromisoformat(raw), time()), default_zone)
        return as_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")), default_zone)
    except ValueError as exc:
        raise InputError(f"malformed date {text!r}: expected YYYY-MM-DD or an ISO 8601 date-time") from exc


def local_date(instant: datetime, tz: str) -> date:
    """The calendar day of an instant in the organisation's time zone."""
    return as_utc(instant).astimezone(zone(tz)).date()


def local_year(instant: datetime, tz: str) -> int:
    """The calendar year of an instant in the organisation's time zone."""
    return local_date(instant, tz).year


def year_bounds(year: int, tz: str) -> tuple[datetime, datetime]:
    """UTC instants [start, end) of a local calendar year."""
    z = zone(tz)
    start = datetime(year, 1, 1, tzinfo=z).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=z).astimezone(UTC)
    return start, end


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """UTC instants [start, end) of a local calendar day."""
    z = zone(tz)
    start = datetime.combine(day, time(), tzinfo=z).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=z).astimezone(UTC)
    return start, end
