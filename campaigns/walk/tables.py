"""Tables of the sponsored walk: editions, teams and walkers (created by migration 0005).

Sponsorships themselves are core donations whose ``campaign`` is the edition's code and whose ``team`` and
``walker`` hold the slugs below.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Integer, String, Table, Text, UniqueConstraint

from vwfund.store.schema import UTCDateTime, metadata

walk_editions = Table(
    "walk_editions", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("year", Integer, nullable=False),
    Column("walk_date", Date),
    Column("currency", String(3), nullable=False),
    Column("goal_minor", BigInteger),
    Column("updated_at", UTCDateTime, nullable=False),
)

walk_teams = Table(
    "walk_teams", metadata,
    Column("id", Integer, primary_key=True),
    Column("edition", String(100), nullable=False),
    Column("slug", String(100), nullable=False),
    Column("name", Text, nullable=False),
    Column("company", Text),
    Column("captain", Text),
    Column("goal_minor", BigInteger),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("edition", "slug"),
)

walk_walkers = Table(
    "walk_walkers", metadata,
    Column("id", Integer, primary_key=True),
    Column("edition", String(100), nullable=False),
    Column("slug", String(100), nullable=False),
    Column("first_name", Text, nullable=False),
    Column("last_name", Text),
    Column("team_slug", String(100), index=True),
    Column("goal_minor", BigInteger),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("edition", "slug"),
)
