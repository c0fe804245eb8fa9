"""The rules: what the policy decides for one contact, with rule ids and the reason in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vwfund.campaigns.gdpr.policy import Policy
from vwfund.campaigns.gdpr.situation import Situation

KEEP = "keep"
ARCHIVE = "archive"
DELETE_PERMANENTLY = "delete_permanently"
ANONYMISE = "anonymise"
REMOVE_CONSENT = "remove_consent"
ACTIONS = (KEEP, ARCHIVE, DELETE_PERMANENTLY, ANONYMISE, REMOVE_CONSENT)
#: How each action reads in a plan.
ACTION_WORDS = {
    KEEP: "keep",
    ARCHIVE: "archive in Mailchimp",
    DELETE_PERMANENTLY: "delete permanently in Mailchimp",
    ANONYMISE: "anonymise in CiviCRM and the store",
    REMOVE_CONSENT: "remove consent",
}

INACTIVE_SUBSCRIBER = "inactive-subscriber"
INACTIVE_CONTACT = "inactive-contact"
NO_CONSENT_EVIDENCE = "no-consent-evidence"
CONSENT_WITHDRAWN = "consent-withdrawn"
#: Rules whose actions wait for the re-permission period.
INACTIVITY_RULES = frozenset({INACTIVE_SUBSCRIBER, INACTIVE_CONTACT})


@dataclass(frozen=True)
class Decision:
    """One action for one contact, with the rules behind it and why, in words."""

    action: str
    rules: tuple[str, ...]
    reason: str


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else "never"


def exceptions(situation: Situation, policy: Policy) -> list[tuple[str, str]]:
    """The exceptions that keep an inactive contact: (rule id, words)."""
    found: list[tuple[str, str]] = []
    if situation.held:
        found.append(("keep-erasure-hold", "an erasure hold is open"))
    if situation.active_recurring:
        found.append(("keep-monthly-donor", "active monthly donor"))
    tags = situation.tags
    if policy.bequest_tag in tags:
        found.append(("keep-bequest", "bequest pledged"))
    for tag in sorted(tags & set(policy.keep_tags)):
        found.append(("keep-tag", f"tagged {tag!r}"))
    for group in sorted(situation.groups):
        found.append(("keep-group", f"member of segment {group!r}"))
    return found


def is_inactive(
    situation: Situation, policy: Policy, windows: dict[str, datetime], now: datetime
) -> tuple[bool, str]:
    """Whether a subscribed contact is inactive by the policy, and the reason in words."""
    subscribed = [m for m in situation.memberships if m.status == "subscribed"]
    if not subscribed:
        return False, "not subscribed"
    grace = policy.grace_start(now)
    since = min((m.on_list_since or situation.created_at) for m in subscribed)
    if since > grace:
        return False, f"on the list since {_day(since)} (grace period of {policy.grace_months} months)"
    default_window = policy.window_months(now)
    window = min(windows.get(m.audience, default_window) for m in subscribed)
    if situation.last_click is not None and situation.last_click >= window:
        return False, f"clicked on {_day(situation.last_click)}"
    if situation.last_consent is not None and situation.last_consent >= window:
        return False, f"consented on {_day(situation.last_consent)}"
    if situation.last_gift is not None and situation.last_gift >= policy.gift_start(now):
        return False, f"gave on {_day(situation.last_gift)}"
    return True, (
        f"no click in the last {policy.inactive_campaigns} mailings or {policy.inactive_months} months "
        f"(since {_day(window)}), on the list since {_day(since)}, no gift in {policy.no_gift_years} years "
        f"(last gift: {_day(situation.last_gift)}); opens are not counted"
    )


def consent_problems(situation: Situation, policy: Policy) -> list[tuple[str, str]]:
    """Purposes a subscribed contact lacks explicit, evidenced consent for: (rule id, words)."""
    if not any(m.status == "subscribed" for m in situation.memberships):
        return []
    found: list[tuple[str, str]] = []
    for purpose in policy.consent_purposes:
        latest = situation.consents.get(purpose)
        if latest is None:
            found.append((NO_CONSENT_EVIDENCE, f"no consent record for {purpose!r}"))
        elif not latest.granted:
            found.append((CONSENT_WITHDRAWN, f"consent for {purpose!r} withdrawn on {_day(latest.at)}"))
        elif not latest.has_evidence:
            found.append((NO_CONSENT_EVIDENCE,
                          f"consent for {purpose!r} of {_day(latest.at)} lacks its source or the text shown"))
    return found


def decide(situation: Situation, policy: Policy, windows: dict[str, datetime], now: datetime) -> list[Decision]:
    """What the policy decides for one contact (nothing, when nothing is to be done)."""
    inactive, why = is_inactive(situation, policy, windows, now)
    if inactive:
        kept_by = exceptions(situation, policy)
        if kept_by:
            rules = (INACTIVE_SUBSCRIBER, *(r for r, _ in kept_by))
            return [Decision(KEEP, rules, f"{why}; kept: " + ", ".join(w for _, w in kept_by))]
        decisions = [Decision(policy.inactive_action, (INACTIVE_SUBSCRIBER,), why)]
        if policy.anonymise_inactive:
            decisions.append(Decision(ANONYMISE, (INACTIVE_CONTACT,), why + "; gift records are kept"))
        return decisions
    problems = consent_problems(situation, policy)
    if problems:
        return [Decision(REMOVE_CONSENT, tuple(dict.fromkeys(r for r, _ in problems)),
                         "; ".join(w for _, w in problems))]
    return []
