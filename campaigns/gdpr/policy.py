"""The clean-up policy, read from ``[gdpr]`` in ``vwfund.toml`` with documented defaults.

Every key is validated here; a bad value raises a ConfigError that names the key.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vwfund.config import Config, parse_bool, parse_int, parse_names
from vwfund.errors import ConfigError
from vwfund.timeutil import local_year, year_bounds

#: Fiscal retention of gift records per country (NL: art. 52 AWR; BE: up to 10 years).
RETENTION_BY_COUNTRY = {"NL": 7, "BE": 10}
INACTIVE_ACTIONS = ("archive", "delete_permanently")

#: Every key of ``[gdpr]`` with its default (None: derived, see :func:`load_policy`).
DEFAULTS: dict[str, Any] = {
    "audiences": [],               # newsletter audiences considered (empty: all)
    "inactive_campaigns": 12,      # N: no click in the last N mailings ...
    "inactive_months": 24,         # M: ... nor in the last M months (the longer window counts)
    "grace_months": 6,             # G: on the list at least G months
    "no_gift_years": 2,            # Y: no gift in the last Y years
    "inactive_action": "archive",  # archive | delete_permanently (in Mailchimp)
    "anonymise_inactive": False,   # also anonymise inactive contacts in CiviCRM and the store
    "consent_purposes": ["newsletter"],  # purposes that need an explicit consent record
    "evidence_requires_text": True,      # consent evidence must hold the text shown (time and source always)
    "retention_years": None,       # default by [organisation] country: NL 7, BE 10
    "repermission_days": 30,       # waiting period after the re-permission mailing
    "repermission_tag": "repermission",
    "require_repermission": True,  # inactivity actions only after the waiting period
    "bequest_tag": "bequest-pledged",
    "keep_tags": [],               # newsletter tags that exempt a contact
    "keep_groups": [],             # segment names whose members are exempt
    "steward": None,               # who is recorded in the audit trail (default: the login name)
}


@dataclass(frozen=True)
class Policy:
    """The validated clean-up policy."""

    audiences: tuple[str, ...] = ()
    inactive_campaigns: int = 12
    inactive_months: int = 24
    grace_months: int = 6
    no_gift_years: int = 2
    inactive_action: str = "archive"
    anonymise_inactive: bool = False
    consent_purposes: tuple[str, ...] = ("newsletter",)
    evidence_requires_text: bool = True
    retention_years: int = 7
    repermission_days: int = 30
    repermission_tag: str = "repermission"
    require_repermission: bool = True
    bequest_tag: str = "bequest-pledged"
    keep_tags: tuple[str, ...] = ()
    keep_groups: tuple[str, ...] = ()
    steward: str = "steward"
    timezone: str = "Europe/Amsterdam"

    def to_json(self) -> dict[str, Any]:
        """The policy as recorded with a plan."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    def retention_cutoff(self, now: datetime) -> datetime:
        """Gifts received on or after this instant are inside the retention period.

        Conservative: a gift of calendar year X is kept until the end of year X + retention_years.
        """
        return year_bounds(local_year(now, self.timezone) - self.retention_years, self.timezone)[0]

    def window_months(self, now: datetime) -> datetime:
        """The start of the last ``inactive_months`` months."""
        return now - timedelta(days=round(self.inactive_months * 30.44))

    def grace_start(self, now: datetime) -> datetime:
        """Members on the list since before this instant are past the grace period."""
        return now - timedelta(days=round(self.grace_months * 30.44))

    def gift_start(self, now: datetime) -> datetime:
        """A gift on or after this instant keeps a contact."""
        return now - timedelta(days=round(self.no_gift_years * 365.25))


def _whole(key: str, value: Any, minimum: int) -> int:
    return parse_int(f"[gdpr] {key}", value, minimum)


def _flag(key: str, value: Any) -> bool:
    return parse_bool(f"[gdpr] {key}", value)


def _names(key: str, value: Any) -> tuple[str, ...]:
    return parse_names(f"[gdpr] {key}", value)


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"[gdpr] {key} must be a non-empty text, not {value!r}")
    return value.strip()


def load_policy(config: Config) -> Policy:
    """Read and validate ``[gdpr]``; unknown keys and bad values raise a ConfigError naming the key."""
    given = config.section("gdpr")
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"[gdpr] {unknown[0]} is not a known setting (known: {', '.join(sorted(DEFAULTS))})")
    raw = {k: (given[k] if given.get(k) is not None else v) for k, v in DEFAULTS.items()}
    action = _text("inactive_action", raw["inactive_action"])
    if action not in INACTIVE_ACTIONS:
        raise ConfigError(f"[gdpr] inactive_action must be one of {', '.join(INACTIVE_ACTIONS)}, not {action!r}")
    country = str(config.get("organisation", "country") or "").upper()
    if raw["retention_years"] is None:
        if country not in RETENTION_BY_COUNTRY:
            raise ConfigError(
                f"[gdpr] retention_years must be set: no default for [organisation] country {country!r} "
                "(NL: 7, BE: 10)"
            )
        retention = RETENTION_BY_COUNTRY[country]
    else:
        retention = _whole("retention_years", raw["retention_years"], 1)
    steward = raw["steward"]
    if steward is None:
        try:
            steward = getpass.getuser()
        except Exception:  # no login name (containers): a neutral name
            steward = "steward"
    return Policy(
        audiences=_names("audiences", raw["audiences"]),
        inactive_campaigns=_whole("inactive_campaigns", raw["inactive_campaigns"], 1),
        inactive_months=_whole("inactive_months", raw["inactive_months"], 1),
        grace_months=_whole("grace_months", raw["grace_months"], 0),
        no_gift_years=_whole("no_gift_years", raw["no_gift_years"], 1),
        inactive_action=action,
        anonymise_inactive=_flag("anonymise_inactive", raw["anonymise_inactive"]),
        consent_purposes=_names("consent_purposes", raw["consent_purposes"]),
        evidence_requires_text=_flag("evidence_requires_text", raw["evidence_requires_text"]),
        retention_years=retention,
        repermission_days=_whole("repermission_days", raw["repermission_days"], 0),
        repermission_tag=_text("repermission_tag", raw["repermission_tag"]),
        require_repermission=_flag("require_repermission", raw["require_repermission"]),
        bequest_tag=_text("bequest_tag", raw["bequest_tag"]),
        keep_tags=_names("keep_tags", raw["keep_tags"]),
        keep_groups=_names("keep_groups", raw["keep_groups"]),
        steward=_text("steward", steward),
        timezone=config.timezone,
    )
