"""Turning Mailchimp answers into domain records (no HTTP here): members, consents, engagement."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from vwfund.errors import InputError
from vwfund.identity import email_hash, normalise_email
from vwfund.models import ConsentRecord, Contact, EngagementEvent, MailingMember
from vwfund.timeutil import parse_instant

SOURCE = "mailchimp"
#: Statuses that mean the person left (or the address bounced): an opt-out everywhere.
OPTED_OUT = frozenset({"unsubscribed", "cleaned"})
#: Statuses a push must never overwrite (never resubscribe, never undo an archive).
NEVER_RESUBSCRIBE = frozenset({"unsubscribed", "cleaned", "archived"})
ENGAGEMENT_KINDS = {"open": "open", "click": "click"}
PURPOSE_MAX = 64


def instant(value: str | None) -> datetime | None:
    """A Mailchimp timestamp (ISO 8601, or empty) as aware UTC."""
    if not value:
        return None
    try:
        return parse_instant(value, "UTC")
    except InputError:
        return None


def member_records(member: Mapping[str, Any], audience: str) -> list[Any]:
    """A member as a Contact, a MailingMember and one ConsentRecord per marketing permission.

    A member whose address is malformed yields nothing (the caller counts it).
    """
    try:
        email = normalise_email(str(member.get("email_address") or ""))
    except InputError:
        return []
    if email is None:
        return []
    member_id = str(member.get("id") or email_hash(email))
    status = str(member.get("status") or "")
    merge = member.get("merge_fields") or {}
    stats = member.get("stats") or {}
    changed = instant(member.get("last_changed"))
    opted_in = instant(member.get("timestamp_opt"))
    left = status in OPTED_OUT
    first, last = _text(merge.get("FNAME")), _text(merge.get("LNAME"))
    language = _text(member.get("language"))
    permissions = list(member.get("marketing_permissions") or [])
    records: list[Any] = [
        Contact(source=SOURCE, external_id=member_id, email=email, first_name=first, last_name=last,
                language=language, do_not_email=left, is_opt_out=left, updated_at=changed),
        MailingMember(
            audience=audience, email=email, status=status, first_name=first, last_name=last, language=language,
            tags=tuple(str(t.get("name")) for t in member.get("tags") or [] if t.get("name")),
            opted_in_at=opted_in, last_changed=changed,
            avg_open_rate=_rate(stats.get("avg_open_rate")), avg_click_rate=_rate(stats.get("avg_click_rate")),
            member_rating=_rating(member.get("member_rating")),
            marketing_permissions={_purpose(p): bool(p.get("enabled")) for p in permissions},
        ),
    ]
    for p in permissions:
        granted = bool(p.get("enabled")) and not left
        at = (opted_in if granted else changed) or changed or opted_in
        if at is None:
            continue
        records.append(ConsentRecord(
            source=SOURCE, external_id=f"{audience}:{member_id}:{p.get('marketing_permission_id')}",
            contact_source=SOURCE, contact_external_id=member_id, purpose=_purpose(p),
            channel=permission_channel(p),
            granted=granted, at=at,
            evidence=f"Mailchimp audience {audience}, marketing permission {p.get('marketing_permission_id')}, "
                     f"status {status}, timestamp_opt {member.get('timestamp_opt') or 'none'}",
        ))
    return records


def permission_channel(permission: Mapping[str, Any]) -> str:
    """The channel a marketing permission is about: Mailchimp's standard texts are Email, Direct Mail and
    Customized Online Advertising; anything else is read as email (the audience is an email list)."""
    text = str(permission.get("text") or "").lower()
    if "direct mail" in text or "post" in text:
        return "post"
    if "advertising" in text or "ads" in text.split():
        return "advertising"
    return "email"


def activity_events(row: Mapping[str, Any], audience: str, sent_at: datetime | None) -> Iterator[EngagementEvent]:
    """One recipient's email activity as events: ``sent`` at the send time, then each open and click."""
    h = str(row.get("email_id") or "")
    if not h and row.get("email_address"):
        h = email_hash(str(row["email_address"]))
    campaign = str(row.get("campaign_id") or "")
    if not h or not campaign:
        return
    if sent_at is not None:
        yield EngagementEvent(audience=audience, email_hash=h, mailing_id=campaign, kind="sent", at=sent_at)
    for act in row.get("activity") or []:
        kind = ENGAGEMENT_KINDS.get(str(act.get("action")))
        at = instant(act.get("timestamp"))
        if kind and at is not None:
            yield EngagementEvent(audience=audience, email_hash=h, mailing_id=campaign, kind=kind, at=at)


def _purpose(permission: Mapping[str, Any]) -> str:
    text = _text(permission.get("text"))
    if text and len(text) <= PURPOSE_MAX:
        return text
    return str(permission.get("marketing_permission_id") or "marketing")[:PURPOSE_MAX]


def _text(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _rate(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _rating(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
