"""Core tables: contacts, donations, consents, mailing members, sync state, audit log.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vwfund.store.schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("system", sa.String(length=32), nullable=True),
        sa.Column("before_digest", sa.String(length=64), nullable=True),
        sa.Column("after_digest", sa.String(length=64), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("goal_minor", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("code", name=op.f("uq_campaigns_code")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("street", sa.Text(), nullable=True),
        sa.Column("postcode", sa.String(length=32), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("country", sa.String(length=64), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("do_not_email", sa.Boolean(), nullable=False),
        sa.Column("is_opt_out", sa.Boolean(), nullable=False),
        sa.Column("do_not_mail", sa.Boolean(), nullable=False),
        sa.Column("is_deceased", sa.Boolean(), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("anonymised_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_email"), ["email"], unique=False)

    op.create_table(
        "donate_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.String(length=100), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("walker", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donate_links")),
        sa.UniqueConstraint("campaign", "team", "walker", name=op.f("uq_donate_links_campaign_team_walker")),
    )
    op.create_table(
        "engagement_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("email_hash", sa.String(length=32), nullable=False),
        sa.Column("mailing_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_events")),
        sa.UniqueConstraint(
            "audience",
            "email_hash",
            "mailing_id",
            "kind",
            "at",
            name=op.f("uq_engagement_events_audience_email_hash_mailing_id_kind_at"),
        ),
    )
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_events_email_hash"), ["email_hash"], unique=False)

    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )
    op.create_table(
        "payout_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("payout_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("donation_external_id", sa.String(length=255), nullable=True),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_lines")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_payout_lines_source_external_id")),
    )
    with op.batch_alter_table("payout_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payout_lines_donation_external_id"), ["donation_external_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payout_lines_payout_id"), ["payout_id"], unique=False)

    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("arrival_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_payouts_source_external_id")),
    )
    op.create_table(
        "push_state",
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("item", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("pushed_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", "scope", "item", name=op.f("pk_push_state")),
    )
    op.create_table(
        "segment_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("as_of", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ran_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_runs")),
    )
    with op.batch_alter_table("segment_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_runs_name"), ["name"], unique=False)

    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_store_meta")),
    )
    op.create_table(
        "suppressions",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email_hash", name=op.f("pk_suppressions")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("started_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_stream"), ["stream"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("updated_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_consents_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_consents_source_external_id")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "contact_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("candidate_ids", sa.JSON(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_conflicts_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_conflicts")),
        sa.UniqueConstraint("system", "external_id", name=op.f("uq_contact_conflicts_system_external_id")),
    )
    op.create_table(
        "contact_links",
        sa.Column("system", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("linked_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_links_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("system", "external_id", name=op.f("pk_contact_links")),
    )
    with op.batch_alter_table("contact_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_links_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "donations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("contact_source", sa.String(length=32), nullable=True),
        sa.Column("contact_external_id", sa.String(length=255), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("received_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("campaign", sa.String(length=100), nullable=True),
        sa.Column("team", sa.String(length=200), nullable=True),
        sa.Column("walker", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("recurring_plan", sa.String(length=255), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("public_name", sa.Text(), nullable=True),
        sa.Column("public_message", sa.Text(), nullable=True),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("payout_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_donations_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donations")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_donations_source_external_id")),
    )
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_donations_campaign"), ["campaign"], unique=False)
        batch_op.create_index(batch_op.f("ix_donations_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_donations_contact_ref", ["contact_source", "contact_external_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_donations_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_donations_team"), ["team"], unique=False)
        batch_op.create_index(batch_op.f("ix_donations_walker"), ["walker"], unique=False)

    op.create_table(
        "mailing_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=64), nullable=False),
        sa.Column("email_hash", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("opted_in_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_changed", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("avg_open_rate", sa.Float(), nullable=True),
        sa.Column("avg_click_rate", sa.Float(), nullable=True),
        sa.Column("member_rating", sa.Integer(), nullable=True),
        sa.Column("marketing_permissions", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_mailing_members_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailing_members")),
        sa.UniqueConstraint("audience", "email_hash", name=op.f("uq_mailing_members_audience_email_hash")),
    )
    with op.batch_alter_table("mailing_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mailing_members_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mailing_members_email_hash"), ["email_hash"], unique=False)

    op.create_table(
        "recurring_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("contact_source", sa.String(length=32), nullable=True),
        sa.Column("contact_external_id", sa.String(length=255), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("started_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=True),
        sa.Column("campaign", sa.String(length=100), nullable=True),
        sa.Column("updated_at", vwfund.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_recurring_plans_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_plans")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_recurring_plans_source_external_id")),
    )
    with op.batch_alter_table("recurring_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recurring_plans_contact_id"), ["contact_id"], unique=False)

    op.create_table(
        "segment_members",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["segment_runs.id"], name=op.f("fk_segment_members_run_id_segment_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "contact_id", name=op.f("pk_segment_members")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("segment_members")
    with op.batch_alter_table("recurring_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recurring_plans_contact_id"))

    op.drop_table("recurring_plans")
    with op.batch_alter_table("mailing_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mailing_members_email_hash"))
        batch_op.drop_index(batch_op.f("ix_mailing_members_contact_id"))

    op.drop_table("mailing_members")
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_donations_walker"))
        batch_op.drop_index(batch_op.f("ix_donations_team"))
        batch_op.drop_index(batch_op.f("ix_donations_received_at"))
        batch_op.drop_index("ix_donations_contact_ref")
        batch_op.drop_index(batch_op.f("ix_donations_contact_id"))
        batch_op.drop_index(batch_op.f("ix_donations_campaign"))

    op.drop_table("donations")
    with op.batch_alter_table("contact_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_links_contact_id"))

    op.drop_table("contact_links")
    op.drop_table("contact_conflicts")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_contact_id"))

    op.drop_table("consents")
    op.drop_table("sync_state")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_stream"))

    op.drop_table("sync_runs")
    op.drop_table("suppressions")
    op.drop_table("store_meta")
    with op.batch_alter_table("segment_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_runs_name"))

    op.drop_table("segment_runs")
    op.drop_table("push_state")
    op.drop_table("payouts")
    with op.batch_alter_table("payout_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_lines_payout_id"))
        batch_op.drop_index(batch_op.f("ix_payout_lines_donation_external_id"))

    op.drop_table("payout_lines")
    op.drop_table("locks")
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_events_email_hash"))

    op.drop_table("engagement_events")
    op.drop_table("donate_links")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_email"))

    op.drop_table("contacts")
    op.drop_table("campaigns")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_contact_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
