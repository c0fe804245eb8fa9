"""Read-only questions about the store that the CLI and the pages ask."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from vwfund.errors import InputError
from vwfund.identity import normalise_email
from vwfund.store.schema import consents, contact_links, contacts, donations, mailing_members, recurring_plans

DONATION_COLUMNS = (
    "source",
    "external_id",
    "contact_id",
    "amount_minor",
    "currency",
    "fee_minor",
    "refunded_minor",
    "status",
    "received_at",
    "campaign",
    "team",
    "walker",
    "channel",
    "anonymous",
)


def iter_donations(
    conn: Connection,
    *,
    campaign: str | None = None,
    since: datetime | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Gifts, newest first, filtered; streamed (no limit means every matching row)."""
    query = select(*(donations.c[c] for c in DONATION_COLUMNS)).order_by(
        donations.c.received_at.desc(), donations.c.id.desc()
    )
    if campaign:
        query = query.where(donations.c.campaign == campaign)
    if since:
        query = query.where(donations.c.received_at >= since)
    if status:
        query = query.where(donations.c.status == status)
    if limit is not None:
        query = query.limit(limit)
    for row in conn.execution_options(yield_per=2000).execute(query):
        yield dict(row._mapping)


def contact_summary(conn: Connection, email: str) -> list[dict[str, Any]]:
    """Everything the store holds on the contacts with this email (usually one)."""
    normalised = normalise_email(email)
    if not normalised:
        raise InputError("give an email address")
    result = []
    for c in conn.execute(select(contacts).where(contacts.c.email == normalised)):
        cid = c.id
        links = [
            dict(r._mapping)
            for r in conn.execute(
                select(contact_links.c.system, contact_links.c.external_id, contact_links.c.linked_by).where(
                    contact_links.c.contact_id == cid
                )
            )
        ]
        gifts = [
            dict(r._mapping)
            for r in conn.execute(
                select(*(donations.c[x] for x in DONATION_COLUMNS))
                .where(donations.c.contact_id == cid)
                .order_by(donations.c.received_at)
            )
        ]
        result.append(
            {
                "contact": dict(c._mapping),
                "links": links,
                "donations": gifts,
                "recurring_plans": [
                    dict(r._mapping)
                    for r in conn.execute(select(recurring_plans).where(recurring_plans.c.contact_id == cid))
                ],
                "consents": [
                    dict(r._mapping)
                    for r in conn.execute(select(consents).where(consents.c.contact_id == cid).order_by(consents.c.at))
                ],
                "mailing": [
                    dict(r._mapping)
                    for r in conn.execute(select(mailing_members).where(mailing_members.c.contact_id == cid))
                ],
            }
        )
    return result
