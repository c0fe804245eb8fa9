"""Tables of the GDPR job: plans and their rows, the state of each step, re-permission waits, erasure holds.

Rows name contacts by store id only (never an email): the plan file is where the steward sees emails.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text

from vwfund.store.schema import UTCDateTime, metadata

gdpr_plans = Table(
    "gdpr_plans", metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("policy", JSON, nullable=False),
    Column("counts", JSON, nullable=False),
)

gdpr_plan_rows = Table(
    "gdpr_plan_rows", metadata,
    Column("plan_id", String(36), ForeignKey("gdpr_plans.id", ondelete="CASCADE"), primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("contact_id", Integer, nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("rules", JSON, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("facts", JSON, nullable=False),
    Column("state", String(16), nullable=False, default="planned"),
    Column("note", Text),
)

gdpr_steps = Table(
    "gdpr_steps", metadata,
    Column("plan_id", String(36), primary_key=True),
    Column("row", Integer, primary_key=True),
    Column("system", String(32), primary_key=True),
    Column("contact_id", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("answer", Text),
    Column("at", UTCDateTime, nullable=False),
)

gdpr_repermission = Table(
    "gdpr_repermission", metadata,
    Column("plan_id", String(36), ForeignKey("gdpr_plans.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", Integer, primary_key=True),
    Column("tag", String(100), nullable=False),
    Column("tagged_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
)

gdpr_holds = Table(
    "gdpr_holds", metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", Integer, nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_by", String(100), nullable=False),
    Column("closed_at", UTCDateTime),
)
