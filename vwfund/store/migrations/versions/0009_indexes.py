"""Indexes for campaign totals and inactivity windows.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_donations_campaign_status", "donations", ["campaign", "status"])
    op.create_index("ix_engagement_events_mailing", "engagement_events", ["audience", "mailing_id", "at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_engagement_events_mailing", table_name="engagement_events")
    op.drop_index("ix_donations_campaign_status", table_name="donations")
