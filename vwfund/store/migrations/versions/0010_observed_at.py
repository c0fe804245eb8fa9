"""When each gift's state was read from its source, so an older state never overwrites a newer one.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vwfund.store.schema

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("donations") as batch:
        batch.add_column(sa.Column("observed_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("donations") as batch:
        batch.drop_column("observed_at")
