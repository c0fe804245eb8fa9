"""Defining a crowdfunding campaign: checked input, kept in the core ``campaigns`` table.

A campaign is a :class:`vwfund.models.Campaign` of kind ``crowdfunding``; its settings hold the matched
funding (``match``: see :mod:`vwfund.campaigns.crowdfunding.matching`) and the channels it expects
(``channels``: shown in the breakdown even before their first gift).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from vwfund.campaigns.crowdfunding.matching import MatchRule, Milestone, parse_ratio
from vwfund.config import Config
from vwfund.errors import ConfigError, InputError
from vwfund.models import AuditEntry, Campaign, CampaignKind
from vwfund.money import Money, normalise_currency
from vwfund.store.database import Store
from vwfund.store.records import save_records, write_audit
from vwfund.store.schema import campaigns
from vwfund.timeutil import as_utc, utcnow

KIND = CampaignKind.CROWDFUNDING.value
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class CrowdfundingCampaign:
    """A crowdfunding campaign as the totals need it: window, goal, currency, match, channels."""

    code: str
    name: str
    currency: str
    goal_minor: int
    starts_at: datetime
    ends_at: datetime
    match: MatchRule
    channels: tuple[str, ...]

    @classmethod
    def from_record(cls, campaign: Campaign) -> CrowdfundingCampaign:
        """Check a stored campaign and read its settings."""
        if campaign.kind != CampaignKind.CROWDFUNDING:
            raise InputError(f"campaign {campaign.code!r} is a {campaign.kind} campaign, not crowdfunding")
        if campaign.goal_minor is None or campaign.starts_at is None or campaign.ends_at is None:
            raise InputError(f"campaign {campaign.code!r} needs a goal, a start and an end")
        channels = campaign.settings.get("channels") or []
        return cls(
            code=campaign.code, name=campaign.name, currency=campaign.currency, goal_minor=campaign.goal_minor,
            starts_at=campaign.starts_at, ends_at=campaign.ends_at,
            match=MatchRule.from_settings(campaign.settings.get("match")),
            channels=tuple(str(c) for c in channels),
        )

    def to_record(self) -> Campaign:
        """The core record to save."""
        settings: dict[str, Any] = {"match": self.match.to_settings(), "channels": list(self.channels)}
        return Campaign(code=self.code, name=self.name, kind=CampaignKind.CROWDFUNDING, currency=self.currency,
                        goal_minor=self.goal_minor, starts_at=self.starts_at, ends_at=self.ends_at,
                        settings=settings)


def _instant(text: str, tz: str, option: str, end_of_day: bool) -> datetime:
    """A date (the whole local day: its start, or for an end the next midnight) or an ISO date-time."""
    raw = (text or "").strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if end_of_day:
                day += timedelta(days=1)
            return as_utc(datetime.combine(day, time()), tz)
        return as_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")), tz)
    except ValueError:
        raise InputError(f"{option}: {text!r} is not a date (YYYY-MM-DD) or ISO 8601 date-time") from None


def _amount(text: str, currency: str, option: str) -> int:
    """Positive minor units from a typed amount in the campaign's currency."""
    try:
        minor = Money.parse(str(text), currency).minor
    except InputError as exc:
        raise InputError(f"{option}: {exc}") from None
    if minor <= 0:
        raise InputError(f"{option}: must be more than zero, not {text!r}")
    return minor


def _milestone(text: str, currency: str) -> Milestone:
    """``AMOUNT:SUM``: when donors reach AMOUNT, the funder gives SUM."""
    at, sep, add = (text or "").partition(":")
    if not sep:
        raise InputError(f"--match-milestone: {text!r} must be AMOUNT:SUM (e.g. 50000:10000)")
    return Milestone(_amount(at, currency, "--match-milestone AMOUNT"), _amount(add, currency, "--match-milestone SUM"))


def define_campaign(
    code: str,
    *,
    name: str,
    goal: str,
    currency: str,
    start: str,
    end: str,
    tz: str,
    match_cap: str | None = None,
    match_ratio: str | None = None,
    milestones: Sequence[str] = (),
    channels: Sequence[str] = (),
) -> CrowdfundingCampaign:
    """Check typed input and build a campaign; every error names the option at fault.

    Amounts are in major units of the currency ("100000", "2500,50"); dates are local days of the
    organisation's time zone (an end date includes that whole day) or ISO 8601 date-times.
    """
    if not _CODE.match(code or ""):
        raise InputError(f"CODE: {code!r} must be 1-100 letters, digits, '.', '_' or '-', starting with "
                         "a letter or digit")
    if not (name or "").strip():
        raise InputError("--name: give the campaign's public name")
    try:
        currency = normalise_currency(currency)
    except InputError as exc:
        raise InputError(f"--currency: {exc}") from None
    starts_at = _instant(start, tz, "--start", end_of_day=False)
    ends_at = _instant(end, tz, "--end", end_of_day=True)
    if ends_at <= starts_at:
        raise InputError(f"--end ({end}) must come after --start ({start})")
    cap = _amount(match_cap, currency, "--match-cap") if match_cap is not None else None
    if match_ratio is not None and cap is None:
        raise InputError("--match-ratio: give --match-cap too (the most the funder adds)")
    ratio = parse_ratio(match_ratio if match_ratio is not None else 1, "--match-ratio")
    parsed = tuple(sorted((_milestone(m, currency) for m in milestones), key=lambda m: m.at_minor))
    if len({m.at_minor for m in parsed}) != len(parsed):
        raise InputError("--match-milestone: two milestones at the same amount")
    for ch in channels:
        if not _CHANNEL.match(ch):
            raise InputError(f"--channel: {ch!r} must be a short lower-case name such as stripe or offline")
    return CrowdfundingCampaign(
        code=code, name=name.strip(), currency=currency, goal_minor=_amount(goal, currency, "--goal"),
        starts_at=starts_at, ends_at=ends_at, match=MatchRule(cap, parsed, ratio), channels=tuple(dict.fromkeys(channels)),
    )


_OPTION_KEYS = (("--match-milestone", "match_milestones"), ("--match-ratio", "match_ratio"),
                ("--match-cap", "match_cap"), ("--channel", "channels"), ("--currency", "currency"),
                ("--start", "start"), ("--end", "end"), ("--goal", "goal"), ("--name", "name"))
CONFIG_KEYS = {"name", "goal", "currency", "start", "end", "match_cap", "match_ratio", "match_milestones",
               "channels"}


def define_from_config(config: Config, code: str) -> CrowdfundingCampaign:
    """A campaign from the config file's ``[crowdfunding.CODE]`` table, checked like ``create``'s options.

    Keys: name, goal, start, end (required), currency (default: the organisation's), match_cap,
    match_ratio, match_milestones (a list of "AMOUNT:SUM"), channels (a list).
    """
    where = f"[crowdfunding.{code}]"
    table = config.get("crowdfunding", code)
    if not isinstance(table, dict):
        raise ConfigError(f"{where} is not in the config file {config.path or '(none found)'}: add it with "
                          "name, goal, start and end")
    unknown = sorted(set(table) - CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(CONFIG_KEYS))}")
    missing = [k for k in ("name", "goal", "start", "end") if k not in table]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    lists = {k: table.get(k, []) for k in ("match_milestones", "channels")}
    for key, value in lists.items():
        if not isinstance(value, list):
            raise ConfigError(f"{where} {key} must be a list, e.g. {key} = [\"...\"]")

    def text(key: str) -> str | None:
        value = table.get(key)
        if isinstance(value, float):
            raise ConfigError(f"{where} {key}: write amounts as whole numbers or quoted text (\"2500.50\")")
        return None if value is None else str(value)

    try:
        return define_campaign(
            code, name=str(table["name"]), goal=text("goal") or "", currency=text("currency") or config.currency,
            start=str(table["start"]), end=str(table["end"]), tz=config.timezone, match_cap=text("match_cap"),
            match_ratio=text("match_ratio"), milestones=[str(m) for m in lists["match_milestones"]],
            channels=[str(c) for c in lists["channels"]],
        )
    except InputError as exc:
        message = str(exc)
        for option, key in _OPTION_KEYS:
            message = message.replace(option, key)
        raise ConfigError(f"{where}: {message}") from None


def _stored(conn: Connection, code: str) -> Campaign | None:
    row = conn.execute(select(campaigns).where(campaigns.c.code == code)).first()
    if row is None:
        return None
    data = dict(row._mapping)
    data.pop("id", None)
    return Campaign(**{**data, "settings": data.get("settings") or {}})


def save_campaign(store: Store, campaign: CrowdfundingCampaign, *, replace: bool = False,
                  actor: str = "cli") -> CrowdfundingCampaign:
    """Save a campaign; an existing code is changed only with ``replace`` (and never one of another kind)."""
    with store.begin() as conn:
        existing = _stored(conn, campaign.code)
        if existing is not None and existing.kind != CampaignKind.CROWDFUNDING:
            raise InputError(f"campaign {campaign.code!r} exists as a {existing.kind} campaign: choose another code")
        if existing is not None and not replace:
            raise InputError(f"campaign {campaign.code!r} exists already: add --replace to change it")
        save_records(conn, [campaign.to_record()])
        write_audit(conn, AuditEntry(at=utcnow(), actor=actor, action="crowdfunding.define",
                                     details={"code": campaign.code, "replaced": existing is not None}))
    return campaign


def load_campaign(conn: Connection, code: str) -> CrowdfundingCampaign:
    """The crowdfunding campaign with this code, or an InputError naming the code."""
    stored = _stored(conn, code)
    if stored is None:
        raise InputError(f"no campaign {code!r}: create it with `vwfund crowdfunding create {code} ...`")
    return CrowdfundingCampaign.from_record(stored)


def list_campaigns(conn: Connection) -> list[CrowdfundingCampaign]:
    """Every crowdfunding campaign, by start."""
    rows = conn.execute(select(campaigns.c.code).where(campaigns.c.kind == KIND)).scalars().all()
    found = [load_campaign(conn, code) for code in rows]
    return sorted(found, key=lambda c: (c.starts_at, c.code))
