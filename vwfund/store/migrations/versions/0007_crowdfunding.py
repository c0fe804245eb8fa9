"""Tables of the crowdfunding plugin: none (campaigns live in the core ``campaigns`` table; totals are
computed from ``donations``). This revision keeps the chain in a fixed order.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Revert this revision."""
