"""Segments: a covering index on donations for the per-contact ledger (dropped in 0012 for counted_gifts).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ["contact_id", "currency", "received_at", "status", "is_test", "amount_minor", "refunded_minor"]


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.create_index("ix_donations_segments_ledger", COLUMNS, unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.drop_index("ix_donations_segments_ledger")
