"""What the demo generator made, handed to each campaign job's ``demo`` hook.

The core generates contacts, gifts (with walk and crowdfunding attribution), monthly donors, consents and a
newsletter audience with engagement, and writes them to the store. Jobs seed their own tables from this
description (e.g. the walk's teams and walkers) and then run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class DemoTeam:
    """A walk team: slug (stable URL key), name, company (for company teams), captain, goal."""

    slug: str
    name: str
    company: str | None
    captain: str
    goal_minor: int


@dataclass(frozen=True)
class DemoWalker:
    """A walker on a team, with a personal page slug and goal."""

    slug: str
    first_name: str
    last_name: str
    team_slug: str
    goal_minor: int


@dataclass(frozen=True)
class DemoWalk:
    """The sponsored walk edition of the demo year."""

    code: str
    name: str
    year: int
    walk_date: date
    currency: str
    goal_minor: int
    teams: list[DemoTeam]
    walkers: list[DemoWalker]


@dataclass(frozen=True)
class DemoCrowdfunding:
    """The demo crowdfunding campaign (matched funding: a funder doubles gifts up to a cap)."""

    code: str
    name: str
    currency: str
    goal_minor: int
    starts_at: datetime
    ends_at: datetime
    match_cap_minor: int


@dataclass
class DemoWorld:
    """Everything the generator made, by key and size (records themselves are in the store)."""

    seed: int
    scale: float
    as_of: datetime
    timezone: str
    currency: str
    walk: DemoWalk
    crowdfunding: DemoCrowdfunding
    audience: str
    appeal_codes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
