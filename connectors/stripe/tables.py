"""Tables of the Stripe plugin (created by migration 0002_stripe)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from vwfund.store.schema import UTCDateTime, metadata

#: Webhook deliveries by event id: ``applied`` (dedupe), ``ignored`` (a type we do not follow), or
#: ``pending`` (could not be applied yet; the payload is kept until the next sync applies it, then dropped).
stripe_webhook_events = Table(
    "stripe_webhook_events", metadata,
    Column("event_id", String(255), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=1),
    Column("payload", Text),
    Column("error", Text),
)
