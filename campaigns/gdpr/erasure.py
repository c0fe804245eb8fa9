"""What the GDPR actions change in the store.

Anonymisation blanks every personal field of the contact, marks it anonymised and restricted, removes free
text from its gifts (public name, message), and deletes its newsletter memberships, engagement, consent
evidence and the email in open conflicts; gift amounts and dates stay (fiscal retention). Erasure does the
same and then, when no gift lies inside the retention period, detaches the gifts from the person and deletes
the contact. Every erased email goes to the suppression list (as a hash), so no later sync re-adds it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from vwfund.identity import digest, email_hash
from vwfund.store.contacts import PERSONAL_FIELDS, suppress
from vwfund.store.schema import (
    consents,
    contact_conflicts,
    contacts,
    donations,
    engagement_events,
    mailing_members,
    recurring_plans,
    segment_members,
)

#: Free-text columns of gifts, written by the public.
GIFT_FREE_TEXT = ("public_name", "public_message")


def contact_digest(conn: Connection, contact_id: int) -> str:
    """A digest of the contact's personal fields and memberships (for before/after in the audit trail)."""
    row = conn.execute(select(contacts).where(contacts.c.id == contact_id)).first()
    if row is None:
        return digest("gone", contact_id)
    members = sorted(
        (r.audience, r.status)
        for r in conn.execute(
            select(mailing_members.c.audience, mailing_members.c.status).where(mailing_members.c.contact_id == contact_id)
        )
    )
    return digest(*(getattr(row, f) for f in PERSONAL_FIELDS), row.do_not_email, row.restricted, members)


def contact_emails(conn: Connection, contact_id: int) -> set[str]:
    """Every email the store holds for a contact (its own and its newsletter memberships')."""
    emails = {e for e in conn.execute(select(contacts.c.email).where(contacts.c.id == contact_id)).scalars() if e}
    emails |= {
        e for e in conn.execute(select(mailing_members.c.email).where(mailing_members.c.contact_id == contact_id)).scalars()
        if e
    }
    return emails


def _drop_memberships(conn: Connection, contact_id: int, audiences: tuple[str, ...] = ()) -> None:
    where = mailing_members.c.contact_id == contact_id
    if audiences:
        where = where & mailing_members.c.audience.in_(audiences)
    for r in conn.execute(select(mailing_members.c.audience, mailing_members.c.email_hash).where(where)).all():
        conn.execute(delete(engagement_events).where(
            (engagement_events.c.audience == r.audience) & (engagement_events.c.email_hash == r.email_hash)
        ))
    conn.execute(delete(mailing_members).where(where))


def archive_in_store(conn: Connection, contact_id: int, audiences: tuple[str, ...] = ()) -> None:
    """Mark the contact's newsletter memberships archived (reversible, as in Mailchimp)."""
    where = mailing_members.c.contact_id == contact_id
    if audiences:
        where = where & mailing_members.c.audience.in_(audiences)
    conn.execute(update(mailing_members).where(where).values(status="archived"))


def delete_memberships_in_store(conn: Connection, contact_id: int, audiences: tuple[str, ...] = ()) -> None:
    """After a permanent deletion in Mailchimp: suppress the member emails, drop memberships and engagement."""
    where = mailing_members.c.contact_id == contact_id
    if audiences:
        where = where & mailing_members.c.audience.in_(audiences)
    for email in conn.execute(select(mailing_members.c.email).where(where)).scalars():
        if email:
            suppress(conn, email, "gdpr-delete")
    _drop_memberships(conn, contact_id, audiences)


def remove_consent_in_store(conn: Connection, contact_id: int, audiences: tuple[str, ...] = ()) -> None:
    """No more newsletter: the contact is marked do-not-email and unsubscribed."""
    conn.execute(update(contacts).where(contacts.c.id == contact_id).values(do_not_email=True))
    where = (mailing_members.c.contact_id == contact_id) & (mailing_members.c.status == "subscribed")
    if audiences:
        where = where & mailing_members.c.audience.in_(audiences)
    conn.execute(update(mailing_members).where(where).values(status="unsubscribed"))


def anonymise_contact(conn: Connection, contact_id: int, now: datetime, reason: str = "gdpr-anonymise") -> None:
    """Blank the contact's personal data everywhere in the store; keep gift amounts and dates."""
    for email in contact_emails(conn, contact_id):
        suppress(conn, email, reason)
        conn.execute(update(contact_conflicts).where(contact_conflicts.c.email == email).values(email=None))
    blank: dict[str, Any] = dict.fromkeys(PERSONAL_FIELDS)
    conn.execute(update(contacts).where(contacts.c.id == contact_id).values(
        **blank, restricted=True, anonymised_at=now, do_not_email=True, do_not_mail=True, is_opt_out=True,
    ))
    conn.execute(update(donations).where(donations.c.contact_id == contact_id).values(dict.fromkeys(GIFT_FREE_TEXT)))
    conn.execute(delete(consents).where(consents.c.contact_id == contact_id))
    _drop_memberships(conn, contact_id)


def gifts_in_retention(conn: Connection, contact_id: int, cutoff: datetime) -> int:
    """How many of the contact's gift records lie inside the retention period (received on or after cutoff)."""
    return int(conn.execute(
        select(func.count()).select_from(donations).where(
            (donations.c.contact_id == contact_id) & (donations.c.received_at >= cutoff)
        )
    ).scalar_one())


def erase_contact(conn: Connection, contact_id: int, now: datetime, cutoff: datetime) -> str:
    """Erase a contact (art. 17), or anonymise and restrict it where gifts are inside retention.

    Returns ``erased`` or ``anonymised``. Gifts are never deleted: inside retention they stay with the
    anonymised contact; otherwise they are detached from the person (amounts and dates only remain).
    """
    anonymise_contact(conn, contact_id, now, "gdpr-erasure")
    if gifts_in_retention(conn, contact_id, cutoff):
        return "anonymised"
    for table in (donations, recurring_plans):
        conn.execute(update(table).where(table.c.contact_id == contact_id).values(
            contact_id=None, contact_source=None, contact_external_id=None,
        ))
    conn.execute(delete(segment_members).where(segment_members.c.contact_id == contact_id))
    conn.execute(delete(contacts).where(contacts.c.id == contact_id))
    return "erased"


def forget_memberships_by_email(conn: Connection, email: str) -> int:
    """Drop newsletter memberships of an email that belong to no contact; returns how many."""
    h = email_hash(email)
    rows = conn.execute(select(mailing_members.c.audience).where(
        (mailing_members.c.email_hash == h) & mailing_members.c.contact_id.is_(None)
    )).scalars().all()
    for audience in rows:
        conn.execute(delete(engagement_events).where(
            (engagement_events.c.audience == audience) & (engagement_events.c.email_hash == h)
        ))
    conn.execute(delete(mailing_members).where(
        (mailing_members.c.email_hash == h) & mailing_members.c.contact_id.is_(None)
    ))
    return len(rows)
