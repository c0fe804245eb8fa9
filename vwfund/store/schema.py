"""The core tables (SQLAlchemy Core). Changes go through an Alembic migration in ``migrations/``.

Plugins that need tables of their own define them on the same ``metadata`` in their own module and add
a migration; ``tests/test_migrations.py`` checks that migrating from empty yields exactly these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored as UTC (naive on SQLite, timestamptz on PostgreSQL), read back aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: convert to UTC first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return aware UTC."""
        if value is None:
            return None
        instant: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


Minor = BigInteger  # integer minor units of a currency


def _now() -> datetime:
    return datetime.now(UTC)


store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), index=True),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("display_name", Text),
    Column("language", String(16)),
    Column("street", Text),
    Column("postcode", String(32)),
    Column("city", Text),
    Column("country", String(64)),
    Column("phone", String(64)),
    Column("do_not_email", Boolean, nullable=False, default=False),
    Column("is_opt_out", Boolean, nullable=False, default=False),
    Column("do_not_mail", Boolean, nullable=False, default=False),
    Column("is_deceased", Boolean, nullable=False, default=False),
    Column("is_deleted", Boolean, nullable=False, default=False),
    Column("restricted", Boolean, nullable=False, default=False),
    Column("anonymised_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
)

contact_links = Table(
    "contact_links",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("external_id", String(255), primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("linked_by", String(32), nullable=False, default="id"),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
)

contact_conflicts = Table(
    "contact_conflicts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("system", String(32), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("email", String(254)),
    Column("candidate_ids", JSON, nullable=False),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    Column("resolved_at", UTCDateTime),
    UniqueConstraint("system", "external_id"),
)

consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="CASCADE"), index=True),
    Column("purpose", String(64), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("evidence", Text),
    UniqueConstraint("source", "external_id"),
)

donations = Table(
    "donations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL"), index=True),
    Column("contact_source", String(32)),
    Column("contact_external_id", String(255)),
    Column("amount_minor", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("fee_minor", Minor, nullable=False, default=0),
    Column("refunded_minor", Minor, nullable=False, default=0),
    Column("status", String(24), nullable=False),
    Column("received_at", UTCDateTime, nullable=False, index=True),
    Column("campaign", String(100), index=True),
    Column("team", String(200), index=True),
    Column("walker", String(200), index=True),
    Column("channel", String(32)),
    Column("recurring_plan", String(255)),
    Column("anonymous", Boolean, nullable=False, default=False),
    Column("public_name", Text),
    Column("public_message", Text),
    Column("matched", Boolean, nullable=False, default=False),
    Column("is_test", Boolean, nullable=False, default=False),
    Column("payout_id", String(255)),
    Column("observed_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    UniqueConstraint("source", "external_id"),
    Index("ix_donations_contact_ref", "contact_source", "contact_external_id"),
    Index("ix_donations_campaign_status", "campaign", "status"),
)

counted_gifts = Table(
    "counted_gifts",
    metadata,
    # Kept by database triggers on donations (migrations 0012, 0013), never written by the code: one row per
    # gift that counts by the rule of vwfund.store.amounts and is linked to a contact.
    Column("donation_id", Integer, primary_key=True, autoincrement=False),
    Column("contact_id", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("donor_key", BigInteger, nullable=False),  # contact and currency in one (vwfund.store.donor_keys)
    Column("received_epoch", BigInteger, nullable=False),  # UTC, whole seconds since 1970
    Column("net_minor", Minor, nullable=False),  # amount - refunded
    Index("ix_counted_gifts_donor", "donor_key", "received_epoch", "net_minor"),
)

recurring_plans = Table(
    "recurring_plans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL"), index=True),
    Column("contact_source", String(32)),
    Column("contact_external_id", String(255)),
    Column("amount_minor", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("interval", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("campaign", String(100)),
    Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now),
    UniqueConstraint("source", "external_id"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", String(24), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("goal_minor", Minor),
    Column("starts_at", UTCDateTime),
    Column("ends_at", UTCDateTime),
    Column("settings", JSON, nullable=False, default=dict),
)

mailing_members = Table(
    "mailing_members",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("audience", String(64), nullable=False),
    Column("email_hash", String(32), nullable=False, index=True),
    Column("email", String(254)),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL"), index=True),
    Column("status", String(24), nullable=False),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("language", String(16)),
    Column("tags", JSON, nullable=False, default=list),
    Column("opted_in_at", UTCDateTime),
    Column("last_changed", UTCDateTime),
    Column("avg_open_rate", Float),
    Column("avg_click_rate", Float),
    Column("member_rating", Integer),
    Column("marketing_permissions", JSON, nullable=False, default=dict),
    UniqueConstraint("audience", "email_hash"),
)

engagement_events = Table(
    "engagement_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("audience", String(64), nullable=False),
    Column("email_hash", String(32), nullable=False, index=True),
    Column("mailing_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("audience", "email_hash", "mailing_id", "kind", "at"),
    Index("ix_engagement_events_mailing", "audience", "mailing_id", "at"),
)

group_memberships = Table(
    "group_memberships", metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("group_id", String(64), nullable=False),
    Column("group_name", Text, nullable=False),
    Column("contact_external_id", String(255), nullable=False),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL"), index=True),
    Column("status", String(16), nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("source", "group_id", "contact_external_id"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("email_hash", String(64), primary_key=True),
    Column("reason", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False, default=_now),
)

payouts = Table(
    "payouts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("amount_minor", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(24), nullable=False),
    Column("arrival_at", UTCDateTime),
    UniqueConstraint("source", "external_id"),
)

payout_lines = Table(
    "payout_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("payout_id", String(255), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("donation_external_id", String(255), index=True),
    Column("gross_minor", Minor, nullable=False),
    Column("fee_minor", Minor, nullable=False),
    Column("net_minor", Minor, nullable=False),
    Column("currency", String(3), nullable=False),
    UniqueConstraint("source", "external_id"),
)

donate_links = Table(
    "donate_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign", String(100), nullable=False),
    Column("team", String(200), nullable=False, default=""),
    Column("walker", String(200), nullable=False, default=""),
    Column("url", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, default=_now),
    UniqueConstraint("campaign", "team", "walker"),
)

segment_runs = Table(
    "segment_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, index=True),
    Column("as_of", UTCDateTime, nullable=False),
    Column("ran_at", UTCDateTime, nullable=False, default=_now),
    Column("definition", JSON, nullable=False),
    Column("member_count", Integer, nullable=False),
)

segment_members = Table(
    "segment_members",
    metadata,
    Column("run_id", Integer, ForeignKey("segment_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", Integer, primary_key=True),
)

push_state = Table(
    "push_state",
    metadata,
    Column("target", String(32), primary_key=True),
    Column("scope", String(100), primary_key=True),
    Column("item", String(255), primary_key=True),
    Column("digest", String(64)),
    Column("pushed_at", UTCDateTime, nullable=False, default=_now),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False, default=_now, index=True),
    Column("actor", String(100), nullable=False),
    Column("action", String(64), nullable=False),
    Column("contact_id", Integer, index=True),
    Column("rule", String(64)),
    Column("system", String(32)),
    Column("before_digest", String(64)),
    Column("after_digest", String(64)),
    Column("answer", Text),
    Column("details", JSON, nullable=False, default=dict),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("stream", String(100), primary_key=True),
    Column("cursor", Text),
    Column("updated_at", UTCDateTime, nullable=False, default=_now),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("stream", String(100), nullable=False, index=True),
    Column("direction", String(8), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("status", String(16), nullable=False),
    Column("counts", JSON, nullable=False, default=dict),
    Column("error", Text),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
)
