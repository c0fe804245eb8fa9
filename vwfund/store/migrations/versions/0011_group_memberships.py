"""Group memberships read from the system of record (CiviCRM groups).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vwfund.store.schema

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "group_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=False),
        sa.Column("group_name", sa.Text(), nullable=False),
        sa.Column("contact_external_id", sa.String(length=255), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seen_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_group_memberships_contact_id_contacts"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_memberships")),
        sa.UniqueConstraint("source", "group_id", "contact_external_id",
                            name=op.f("uq_group_memberships_source_group_id_contact_external_id")),
    )
    with op.batch_alter_table("group_memberships") as batch:
        batch.create_index(batch.f("ix_group_memberships_contact_id"), ["contact_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("group_memberships") as batch:
        batch.drop_index(batch.f("ix_group_memberships_contact_id"))
    op.drop_table("group_memberships")
