"""Tables of the walk plugin: walk_editions, walk_teams, walk_walkers.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vwfund.store.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "walk_editions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("walk_date", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("goal_minor", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_walk_editions")),
        sa.UniqueConstraint("code", name=op.f("uq_walk_editions_code")),
    )
    op.create_table(
        "walk_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("company", sa.Text(), nullable=True),
        sa.Column("captain", sa.Text(), nullable=True),
        sa.Column("goal_minor", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_walk_teams")),
        sa.UniqueConstraint("edition", "slug", name=op.f("uq_walk_teams_edition_slug")),
    )
    op.create_table(
        "walk_walkers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("edition", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("team_slug", sa.String(length=100), nullable=True),
        sa.Column("goal_minor", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_walk_walkers")),
        sa.UniqueConstraint("edition", "slug", name=op.f("uq_walk_walkers_edition_slug")),
    )
    op.create_index(op.f("ix_walk_walkers_team_slug"), "walk_walkers", ["team_slug"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_walk_walkers_team_slug"), table_name="walk_walkers")
    op.drop_table("walk_walkers")
    op.drop_table("walk_teams")
    op.drop_table("walk_editions")
