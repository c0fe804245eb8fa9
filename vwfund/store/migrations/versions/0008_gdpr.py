"""Tables of the gdpr plugin: plans, plan rows, step states, re-permission waits, erasure holds.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vwfund.store.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "gdpr_plans",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("as_of", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gdpr_plans")),
    )
    op.create_table(
        "gdpr_plan_rows",
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["gdpr_plans.id"], name=op.f("fk_gdpr_plan_rows_plan_id_gdpr_plans"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "row", name=op.f("pk_gdpr_plan_rows")),
    )
    op.create_index(op.f("ix_gdpr_plan_rows_contact_id"), "gdpr_plan_rows", ["contact_id"], unique=False)
    op.create_table(
        "gdpr_steps",
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "row", "system", name=op.f("pk_gdpr_steps")),
    )
    op.create_table(
        "gdpr_repermission",
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.Column("tagged_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["gdpr_plans.id"],
                                name=op.f("fk_gdpr_repermission_plan_id_gdpr_plans"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "contact_id", name=op.f("pk_gdpr_repermission")),
    )
    op.create_table(
        "gdpr_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gdpr_holds")),
    )
    op.create_index(op.f("ix_gdpr_holds_contact_id"), "gdpr_holds", ["contact_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_gdpr_holds_contact_id"), table_name="gdpr_holds")
    op.drop_table("gdpr_holds")
    op.drop_table("gdpr_repermission")
    op.drop_table("gdpr_steps")
    op.drop_index(op.f("ix_gdpr_plan_rows_contact_id"), table_name="gdpr_plan_rows")
    op.drop_table("gdpr_plan_rows")
    op.drop_table("gdpr_plans")
