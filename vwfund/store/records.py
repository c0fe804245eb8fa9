"""Saving domain records: upserts keyed by (source, external id), so a re-import never duplicates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_

from vwfund.identity import email_hash
from vwfund.models import (
    AuditEntry,
    Campaign,
    ConsentRecord,
    Contact,
    Donation,
    EngagementEvent,
    GroupMembership,
    GroupSnapshotDone,
    MailingMember,
    Payout,
    PayoutLine,
    RecurringPlan,
)
from vwfund.store.contacts import save_contacts
from vwfund.store.schema import (
    audit_log,
    campaigns,
    consents,
    contact_links,
    donations,
    engagement_events,
    group_memberships,
    mailing_members,
    payout_lines,
    payouts,
    recurring_plans,
)
from vwfund.store.upsert import upsert


def _contact_ids(conn: Connection, refs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Resolve (system, external id) pairs to contact ids in one query per 500."""
    found: dict[tuple[str, str], int] = {}
    pending = list(refs)
    for i in range(0, len(pending), 500):
        chunk = pending[i : i + 500]
        rows = conn.execute(
            select(contact_links.c.system, contact_links.c.external_id, contact_links.c.contact_id).where(
                tuple_(contact_links.c.system, contact_links.c.external_id).in_(chunk)
            )
        )
        found.update({(r.system, r.external_id): r.contact_id for r in rows})
    return found


def _with_contacts(conn: Connection, records: Sequence[Donation | RecurringPlan | ConsentRecord]) -> list[int | None]:
    refs = {
        (r.contact_source, r.contact_external_id)
        for r in records
        if r.contact_source is not None and r.contact_external_id is not None
    }
    ids = _contact_ids(conn, refs) if refs else {}
    return [
        ids.get((r.contact_source, r.contact_external_id))  # type: ignore[arg-type]
        if r.contact_source and r.contact_external_id
        else None
        for r in records
    ]


def save_donations(conn: Connection, records: Sequence[Donation]) -> int:
    """Upsert gifts; the stored contact link is kept when the new record names no known contact."""
    if not records:
        return 0
    now = datetime.now(UTC)
    ids = _with_contacts(conn, records)
    rows = [
        {**r.model_dump(), "contact_id": cid, "created_at": now, "updated_at": now}
        for r, cid in zip(records, ids, strict=True)
    ]
    upsert(conn, donations, rows, ["source", "external_id"], keep=["created_at"], coalesce=["contact_id"],
           newer="observed_at")
    return len(rows)


def save_recurring_plans(conn: Connection, records: Sequence[RecurringPlan]) -> int:
    """Upsert recurring giving plans."""
    if not records:
        return 0
    now = datetime.now(UTC)
    ids = _with_contacts(conn, records)
    rows = [{**r.model_dump(), "contact_id": cid, "updated_at": now} for r, cid in zip(records, ids, strict=True)]
    upsert(conn, recurring_plans, rows, ["source", "external_id"], coalesce=["contact_id"])
    return len(rows)


def save_consents(conn: Connection, records: Sequence[ConsentRecord]) -> int:
    """Upsert consent evidence, attached to the contact it names."""
    if not records:
        return 0
    ids = _with_contacts(conn, records)
    rows = []
    for r, cid in zip(records, ids, strict=True):
        data = r.model_dump(exclude={"contact_source", "contact_external_id"})
        rows.append({**data, "contact_id": cid})
    upsert(conn, consents, rows, ["source", "external_id"], coalesce=["contact_id"])
    return len(rows)


def save_mailing_members(conn: Connection, records: Sequence[MailingMember]) -> int:
    """Upsert newsletter members keyed by (audience, email hash); linked to the Mailchimp contact."""
    if not records:
        return 0
    hashes = {("mailchimp", email_hash(r.email)) for r in records}
    ids = _contact_ids(conn, hashes)
    rows = []
    for r in records:
        h = email_hash(r.email)
        data = r.model_dump()
        data["tags"] = list(r.tags)
        rows.append({**data, "email_hash": h, "contact_id": ids.get(("mailchimp", h))})
    upsert(conn, mailing_members, rows, ["audience", "email_hash"], coalesce=["contact_id"])
    return len(rows)


def save_engagement(conn: Connection, records: Sequence[EngagementEvent]) -> int:
    """Insert engagement events, ignoring ones already stored."""
    rows = [r.model_dump() for r in records]
    upsert(
        conn,
        engagement_events,
        rows,
        ["audience", "email_hash", "mailing_id", "kind", "at"],
        keep=list(rows[0]) if rows else (),
    )
    return len(rows)


def save_group_memberships(conn: Connection, records: Sequence[GroupMembership]) -> int:
    """Upsert group memberships, linked to the store's contact by the source's contact id."""
    if not records:
        return 0
    ids = _contact_ids(conn, {(r.source, r.contact_external_id) for r in records})
    now = datetime.now(UTC)
    rows = [{**r.model_dump(), "contact_id": ids.get((r.source, r.contact_external_id)), "seen_at": now}
            for r in records]
    upsert(conn, group_memberships, rows, ["source", "group_id", "contact_external_id"], coalesce=["contact_id"])
    return len(rows)


def prune_group_memberships(conn: Connection, records: Sequence[GroupSnapshotDone]) -> int:
    """After a complete read, forget the memberships of that source it did not see."""
    gone = 0
    for done in records:
        gone += conn.execute(delete(group_memberships).where(
            (group_memberships.c.source == done.source) & (group_memberships.c.seen_at < done.started_at)
        )).rowcount
    return gone


def save_payouts(conn: Connection, records: Sequence[Payout]) -> int:
    """Upsert payouts."""
    upsert(conn, payouts, [r.model_dump() for r in records], ["source", "external_id"])
    return len(records)


def save_payout_lines(conn: Connection, records: Sequence[PayoutLine]) -> int:
    """Upsert the balance transactions of payouts."""
    upsert(conn, payout_lines, [r.model_dump() for r in records], ["source", "external_id"])
    return len(records)


def save_campaigns(conn: Connection, records: Sequence[Campaign]) -> int:
    """Upsert campaigns by code."""
    upsert(conn, campaigns, [r.model_dump() for r in records], ["code"])
    return len(records)


def write_audit(conn: Connection, entry: AuditEntry) -> None:
    """Append one audit entry (inside the caller's transaction, with the change it records)."""
    conn.execute(insert(audit_log).values(**entry.model_dump()))


_SAVERS: dict[type[Any], Any] = {
    Donation: save_donations,
    RecurringPlan: save_recurring_plans,
    ConsentRecord: save_consents,
    MailingMember: save_mailing_members,
    EngagementEvent: save_engagement,
    Payout: save_payouts,
    PayoutLine: save_payout_lines,
    Campaign: save_campaigns,
    GroupMembership: save_group_memberships,
    GroupSnapshotDone: prune_group_memberships,
}
#: Save order inside one page: contacts first, so that gifts and plans find their contact.
_ORDER = [
    Contact, Campaign, RecurringPlan, Donation, ConsentRecord, MailingMember, EngagementEvent, GroupMembership,
    GroupSnapshotDone, Payout, PayoutLine,
]


def save_records(conn: Connection, records: Iterable[Any]) -> Counter[str]:
    """Save a page of mixed domain records in dependency order; returns counts per kind (and outcome)."""
    by_type: dict[type[Any], list[Any]] = {}
    for record in records:
        by_type.setdefault(type(record), []).append(record)
    unknown = set(by_type) - set(_ORDER)
    if unknown:
        raise TypeError(f"the store cannot save {sorted(t.__name__ for t in unknown)}")
    counts: Counter[str] = Counter()
    for kind in _ORDER:
        items = by_type.get(kind)
        if not items:
            continue
        if kind is Contact:
            for outcome, n in save_contacts(conn, items).items():
                counts[f"contacts_{outcome}"] += n
        else:
            counts[kind.__name__] += _SAVERS[kind](conn, items)
    return counts
