"""Identity: contacts linked across systems by their ids first, then by email; never by name.

One email on several contacts is recorded as a conflict for a person to decide
(``vwfund contacts conflicts`` / ``vwfund contacts link``), never guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from vwfund.errors import InputError
from vwfund.identity import email_hash
from vwfund.models import Contact
from vwfund.store.schema import (
    contact_conflicts,
    contact_links,
    contacts,
    donations,
    group_memberships,
    mailing_members,
    recurring_plans,
    suppressions,
)

PERSONAL_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "display_name",
    "language",
    "street",
    "postcode",
    "city",
    "country",
    "phone",
)
FLAG_FIELDS = ("do_not_email", "is_opt_out", "do_not_mail", "is_deceased", "is_deleted")
#: Flags a sync may only turn on: a system that still has someone subscribed never clears another
#: system's opt-out (a new consent is recorded as a consent, not by clearing a flag).
STICKY_FLAGS = ("do_not_email", "is_opt_out", "do_not_mail", "is_deceased")
#: Tables whose rows point at a contact through (contact_source, contact_external_id).
REFERRING_TABLES = (donations, recurring_plans)


def find_contact_id(conn: Connection, system: str, external_id: str) -> int | None:
    """The contact linked to an id in a system, if any."""
    return conn.execute(
        select(contact_links.c.contact_id).where(
            (contact_links.c.system == system) & (contact_links.c.external_id == external_id)
        )
    ).scalar()


def contacts_by_email(conn: Connection, email: str) -> list[int]:
    """Ids of every contact with this (normalised) email."""
    rows = conn.execute(select(contacts.c.id).where(contacts.c.email == email).order_by(contacts.c.id))
    return [r.id for r in rows]


def is_suppressed(conn: Connection, email: str) -> bool:
    """Whether an email was erased or permanently deleted: it must never be added again."""
    h = email_hash(email)
    return conn.execute(select(suppressions.c.email_hash).where(suppressions.c.email_hash == h)).first() is not None


def suppress(conn: Connection, email: str, reason: str) -> None:
    """Add an email (as its hash only) to the suppression list."""
    h = email_hash(email)
    if conn.execute(select(suppressions.c.email_hash).where(suppressions.c.email_hash == h)).first() is None:
        conn.execute(insert(suppressions).values(email_hash=h, reason=reason, at=datetime.now(UTC)))


def _fields(record: Contact, existing: bool) -> dict[str, Any]:
    """Column values to write: personal fields that are given, and flags (sticky ones only turned on)."""
    values = {f: getattr(record, f) for f in PERSONAL_FIELDS if getattr(record, f) is not None}
    for flag in FLAG_FIELDS:
        value = bool(getattr(record, flag))
        if value or not existing or flag not in STICKY_FLAGS:
            values[flag] = value
    return values


def _attach_references(
    conn: Connection, system: str, external_id: str, contact_id: int, moved_from: int | None = None
) -> None:
    """Point the rows that name (system, external_id) at ``contact_id``: unattached ones, and
    those of the contact the link moved from (only these rows: that contact's other links keep theirs)."""
    for table in REFERRING_TABLES:
        owner: Any = table.c.contact_id.is_(None)
        if moved_from is not None:
            owner = or_(owner, table.c.contact_id == moved_from)
        conn.execute(
            update(table)
            .where(and_(table.c.contact_source == system, table.c.contact_external_id == external_id, owner))
            .values(contact_id=contact_id)
        )
    conn.execute(
        update(group_memberships)
        .where(and_(group_memberships.c.source == system, group_memberships.c.contact_external_id == external_id))
        .values(contact_id=contact_id)
    )
    if system == "mailchimp":
        conn.execute(
            update(mailing_members).where(mailing_members.c.email_hash == external_id).values(contact_id=contact_id)
        )


def link_contact(
    conn: Connection, system: str, external_id: str, contact_id: int, linked_by: str, replace: bool = False
) -> None:
    """Record that ``external_id`` in ``system`` is contact ``contact_id``.

    A new link is a plain insert: a concurrent writer that linked the same id first makes it collide, and
    the transaction runs again (``Store.write``) instead of silently taking the link over. Only a person's
    decision (``replace=True``) moves an existing link.
    """
    old = find_contact_id(conn, system, external_id) if replace else None
    if replace:
        conn.execute(
            delete(contact_links).where(
                (contact_links.c.system == system) & (contact_links.c.external_id == external_id)
            )
        )
    conn.execute(
        insert(contact_links).values(
            system=system,
            external_id=external_id,
            contact_id=contact_id,
            linked_by=linked_by,
            created_at=datetime.now(UTC),
        )
    )
    _attach_references(conn, system, external_id, contact_id, moved_from=old)


def save_contact(conn: Connection, record: Contact) -> tuple[int | None, str]:
    """Save one contact record; returns (contact id, outcome).

    Outcomes: ``updated`` (known link), ``linked`` (matched by email), ``created``, ``conflict``
    (created apart and reported), ``suppressed`` (an erased email: nothing stored).
    """
    if record.email and is_suppressed(conn, record.email):
        return None, "suppressed"
    values = _fields(record, existing=True)
    contact_id = find_contact_id(conn, record.source, record.external_id)
    if contact_id is not None:
        anonymised = conn.execute(select(contacts.c.anonymised_at).where(contacts.c.id == contact_id)).scalar()
        if anonymised is not None:  # never re-identify an anonymised contact
            values = {f: values[f] for f in FLAG_FIELDS if f in values}
        conn.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))
        return contact_id, "updated"
    outcome = "created"
    candidates: list[int] = []
    if record.email:
        same_email = contacts_by_email(conn, record.email)
        linked_here = (
            set(
                conn.execute(
                    select(contact_links.c.contact_id).where(
                        (contact_links.c.system == record.source) & contact_links.c.contact_id.in_(same_email)
                    )
                ).scalars()
            )
            if same_email
            else set()
        )
        candidates = [c for c in same_email if c not in linked_here]
        if len(candidates) == 1 and not linked_here:
            link_contact(conn, record.source, record.external_id, candidates[0], "email")
            conn.execute(update(contacts).where(contacts.c.id == candidates[0]).values(**values))
            return candidates[0], "linked"
        if same_email:
            outcome, candidates = "conflict", same_email
    now = datetime.now(UTC)
    values = _fields(record, existing=False)
    inserted = conn.execute(insert(contacts).values(**values, created_at=now, updated_at=now)).inserted_primary_key
    assert inserted is not None
    new_id = int(inserted[0])
    link_contact(conn, record.source, record.external_id, new_id, "new")
    if outcome == "conflict":
        conn.execute(
            delete(contact_conflicts).where(
                (contact_conflicts.c.system == record.source) & (contact_conflicts.c.external_id == record.external_id)
            )
        )
        conn.execute(
            insert(contact_conflicts).values(
                system=record.source,
                external_id=record.external_id,
                email=record.email,
                candidate_ids=[*candidates, new_id],
                contact_id=new_id,
                status="open",
                created_at=now,
            )
        )
    return int(new_id), outcome


def save_contacts(conn: Connection, records: Iterable[Contact]) -> Counter[str]:
    """Save contact records; returns counts per outcome."""
    counts: Counter[str] = Counter()
    for record in records:
        counts[save_contact(conn, record)[1]] += 1
    return counts


def open_conflicts(conn: Connection) -> list[dict[str, Any]]:
    """Emails found on several contacts, waiting for a person's decision."""
    rows = conn.execute(
        select(contact_conflicts).where(contact_conflicts.c.status == "open").order_by(contact_conflicts.c.id)
    )
    return [dict(r._mapping) for r in rows]


def resolve_conflict(conn: Connection, conflict_id: int, contact_id: int) -> dict[str, Any]:
    """Decide a conflict: the outside record belongs to ``contact_id`` (one of the candidates).

    The record's link, gifts and memberships move to that contact; the contact created apart is
    removed when nothing else refers to it.
    """
    row = conn.execute(select(contact_conflicts).where(contact_conflicts.c.id == conflict_id)).first()
    if row is None or row.status != "open":
        raise InputError(f"no open conflict with id {conflict_id}: see `vwfund contacts conflicts`")
    if contact_id not in row.candidate_ids:
        raise InputError(f"contact {contact_id} is not a candidate of conflict {conflict_id} ({row.candidate_ids})")
    provisional = row.contact_id
    link_contact(conn, row.system, row.external_id, contact_id, "person", replace=True)
    if provisional is not None and provisional != contact_id:
        still_linked = conn.execute(
            select(contact_links.c.system).where(contact_links.c.contact_id == provisional)
        ).first()
        if still_linked is None:
            conn.execute(delete(contacts).where(contacts.c.id == provisional))
    conn.execute(
        update(contact_conflicts)
        .where(contact_conflicts.c.id == conflict_id)
        .values(status="resolved", contact_id=contact_id, resolved_at=datetime.now(UTC))
    )
    return {"conflict": conflict_id, "system": row.system, "external_id": row.external_id, "contact_id": contact_id}
