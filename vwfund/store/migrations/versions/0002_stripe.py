"""Tables of the stripe plugin: webhook deliveries (dedupe, and events kept for the next sync).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vwfund.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stripe_webhook_events",
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_stripe_webhook_events")),
    )
    op.create_index(op.f("ix_stripe_webhook_events_status"), "stripe_webhook_events", ["status"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_stripe_webhook_events_status"), table_name="stripe_webhook_events")
    op.drop_table("stripe_webhook_events")
