"""Erasure holds: a contact under a hold (a legal claim, a dispute) is never erased or anonymised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from vwfund.campaigns.gdpr.steps import Audit, audit
from vwfund.campaigns.gdpr.tables import gdpr_holds
from vwfund.errors import InputError
from vwfund.store.schema import contacts
from vwfund.timeutil import utcnow


def open_hold(conn: Connection, contact_id: int, reason: str, actor: str, now: datetime | None = None) -> int:
    """Open a hold on a contact; returns its id."""
    if not reason.strip():
        raise InputError("a hold needs a reason")
    if conn.execute(select(contacts.c.id).where(contacts.c.id == contact_id)).first() is None:
        raise InputError(f"no contact with id {contact_id}")
    at = now or utcnow()
    key = conn.execute(insert(gdpr_holds).values(
        contact_id=contact_id, reason=reason.strip(), opened_at=at, opened_by=actor,
    )).inserted_primary_key
    assert key is not None
    hold_id = key[0]
    audit(conn, Audit(actor, {}), "hold", contact_id, answer="hold opened", hold=int(hold_id))
    return int(hold_id)


def close_hold(conn: Connection, hold_id: int, actor: str, now: datetime | None = None) -> None:
    """Close an open hold."""
    row = conn.execute(select(gdpr_holds).where(gdpr_holds.c.id == hold_id)).first()
    if row is None or row.closed_at is not None:
        raise InputError(f"no open hold with id {hold_id}")
    conn.execute(update(gdpr_holds).where(gdpr_holds.c.id == hold_id).values(closed_at=now or utcnow()))
    audit(conn, Audit(actor, {}), "release", row.contact_id, answer="hold closed", hold=hold_id)


def open_holds(conn: Connection, contact_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Open holds (of some contacts, or all)."""
    query = select(gdpr_holds).where(gdpr_holds.c.closed_at.is_(None)).order_by(gdpr_holds.c.id)
    if contact_ids is not None:
        query = query.where(gdpr_holds.c.contact_id.in_(contact_ids))
    return [dict(r._mapping) for r in conn.execute(query)]
