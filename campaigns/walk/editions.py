"""Walk editions, teams and walkers in the store: save, look up, move a walker, rename a team.

A team's and a walker's slug is their stable key (and their page's URL); names may change. Every team and
walker is also a store contact (source ``walk``, id ``team:SLUG`` / ``walker:SLUG``) so that CRM connectors
can soft-credit them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Table, select, update

from vwfund.campaigns.walk.tables import walk_editions, walk_teams, walk_walkers
from vwfund.config import Config
from vwfund.errors import ConfigError, InputError
from vwfund.models import AuditEntry, Contact
from vwfund.money import normalise_currency
from vwfund.store.records import save_records, write_audit
from vwfund.store.upsert import upsert
from vwfund.timeutil import utcnow

CONTACT_SOURCE = "walk"
#: Letters and digits (any script, lower case) joined by single hyphens, at most 100 characters.
SLUG = re.compile(r"^(?=.{1,100}$)[^\W_A-Z]+(?:-[^\W_A-Z]+)*$")


def check_slug(value: str, what: str) -> str:
    """A slug (lower-case letters, digits and single inner hyphens, at most 100): also a file and URL name."""
    if not SLUG.match(value or "") or value != value.lower():
        raise InputError(f"{what} {value!r} is not a slug: use lower-case letters, digits and hyphens (e.g. team-42)")
    return value


@dataclass(frozen=True)
class Edition:
    """One year's walk: its code is the donations' ``campaign``."""

    code: str
    name: str
    year: int
    walk_date: date | None
    currency: str
    goal_minor: int | None


@dataclass(frozen=True)
class Team:
    """A walking team (a company team names its company)."""

    slug: str
    name: str
    company: str | None = None
    captain: str | None = None
    goal_minor: int | None = None


@dataclass(frozen=True)
class Walker:
    """A walker, on a team (or walking alone), with a personal page."""

    slug: str
    first_name: str
    last_name: str | None = None
    team_slug: str | None = None
    goal_minor: int | None = None

    @property
    def name(self) -> str:
        """First and last name as the walker gave them."""
        return " ".join(p for p in (self.first_name, self.last_name) if p)


def team_contact(team: Team, email: str | None = None) -> Contact:
    """The store contact that stands for a team."""
    return Contact(source=CONTACT_SOURCE, external_id=f"team:{team.slug}", display_name=team.name, email=email)


def walker_contact(walker: Walker, email: str | None = None) -> Contact:
    """The store contact that stands for a walker."""
    return Contact(source=CONTACT_SOURCE, external_id=f"walker:{walker.slug}", first_name=walker.first_name,
                   last_name=walker.last_name, display_name=walker.name, email=email)


def save_edition(conn: Connection, edition: Edition) -> None:
    """Create or update an edition by code."""
    check_slug(edition.code, "edition code")
    row = {"code": edition.code, "name": edition.name, "year": edition.year, "walk_date": edition.walk_date,
           "currency": normalise_currency(edition.currency), "goal_minor": edition.goal_minor, "updated_at": utcnow()}
    upsert(conn, walk_editions, [row], ["code"])


def save_teams(conn: Connection, edition: str, teams: Sequence[Team], emails: Sequence[str | None] = ()) -> int:
    """Create or update teams by slug (a new name renames; the slug stays) and their contacts."""
    now = utcnow()
    rows = [{"edition": edition, "slug": check_slug(t.slug, "team"), "name": t.name, "company": t.company,
             "captain": t.captain, "goal_minor": t.goal_minor, "updated_at": now} for t in teams]
    upsert(conn, walk_teams, rows, ["edition", "slug"])
    mails = list(emails) or [None] * len(teams)
    save_records(conn, [team_contact(t, e) for t, e in zip(teams, mails, strict=True)])
    return len(rows)


def save_walkers(conn: Connection, edition: str, walkers: Sequence[Walker], emails: Sequence[str | None] = ()) -> int:
    """Create or update walkers by slug (a new team moves them, gifts follow) and their contacts."""
    now = utcnow()
    rows = [{"edition": edition, "slug": check_slug(w.slug, "walker"), "first_name": w.first_name,
             "last_name": w.last_name, "team_slug": w.team_slug, "goal_minor": w.goal_minor, "updated_at": now}
            for w in walkers]
    upsert(conn, walk_walkers, rows, ["edition", "slug"])
    mails = list(emails) or [None] * len(walkers)
    save_records(conn, [walker_contact(w, e) for w, e in zip(walkers, mails, strict=True)])
    return len(rows)


def load_editions(conn: Connection) -> list[Edition]:
    """Every edition, newest year first."""
    rows = conn.execute(select(walk_editions).order_by(walk_editions.c.year.desc(), walk_editions.c.code))
    return [Edition(r.code, r.name, r.year, r.walk_date, r.currency, r.goal_minor) for r in rows]


def resolve_edition(conn: Connection, config: Config, code: str | None = None) -> Edition:
    """The edition named, else ``[walk] edition``, else the newest one; a ConfigError says how to create one."""
    wanted = code or config.get("walk", "edition")
    editions = load_editions(conn)
    if wanted:
        for edition in editions:
            if edition.code == wanted:
                return edition
        known = ", ".join(e.code for e in editions) or "none"
        raise ConfigError(f"no walk edition {wanted!r} (known: {known}); create it with `vwfund walk edition {wanted} ...`")
    if not editions:
        raise ConfigError("no walk edition yet: create one with `vwfund walk edition CODE --name ... --year ...`")
    return editions[0]


def load_teams(conn: Connection, edition: str) -> dict[str, Team]:
    """The edition's teams by slug."""
    rows = conn.execute(select(walk_teams).where(walk_teams.c.edition == edition).order_by(walk_teams.c.slug))
    return {r.slug: Team(r.slug, r.name, r.company, r.captain, r.goal_minor) for r in rows}


def load_walkers(conn: Connection, edition: str, team: str | None = None) -> dict[str, Walker]:
    """The edition's walkers by slug (only one team's when ``team`` is given)."""
    query = select(walk_walkers).where(walk_walkers.c.edition == edition).order_by(walk_walkers.c.slug)
    if team is not None:
        query = query.where(walk_walkers.c.team_slug == team)
    return {r.slug: Walker(r.slug, r.first_name, r.last_name, r.team_slug, r.goal_minor) for r in conn.execute(query)}


def find_team(conn: Connection, edition: str, slug: str) -> Team | None:
    """One team by slug (None when the edition has no such team)."""
    r = conn.execute(select(walk_teams).where((walk_teams.c.edition == edition) & (walk_teams.c.slug == slug))).first()
    return Team(r.slug, r.name, r.company, r.captain, r.goal_minor) if r else None


def find_walker(conn: Connection, edition: str, slug: str) -> Walker | None:
    """One walker by slug (None when the edition has no such walker)."""
    r = conn.execute(select(walk_walkers).where((walk_walkers.c.edition == edition)
                                                & (walk_walkers.c.slug == slug))).first()
    return Walker(r.slug, r.first_name, r.last_name, r.team_slug, r.goal_minor) if r else None


def _require(conn: Connection, t: Table, edition: str, slug: str, what: str) -> None:
    found = conn.execute(select(t.c.slug).where((t.c.edition == edition) & (t.c.slug == slug))).first()
    if found is None:
        raise InputError(f"no {what} {slug!r} in walk edition {edition!r}")


def move_walker(conn: Connection, edition: str, walker: str, team: str | None) -> None:
    """Move a walker to another team (or to none); their gifts count for the new team from now on."""
    _require(conn, walk_walkers, edition, walker, "walker")
    if team is not None:
        _require(conn, walk_teams, edition, team, "team")
    where = (walk_walkers.c.edition == edition) & (walk_walkers.c.slug == walker)
    before = conn.execute(select(walk_walkers.c.team_slug).where(where)).scalar()
    conn.execute(update(walk_walkers).where(where).values(team_slug=team, updated_at=utcnow()))
    write_audit(conn, AuditEntry(at=utcnow(), actor="walk", action="walk.move_walker", system=CONTACT_SOURCE,
                                 details={"edition": edition, "walker": walker, "from": before, "to": team}))


def rename_team(conn: Connection, edition: str, team: str, name: str) -> None:
    """Give a team a new name; its slug (and page URL) stays."""
    _require(conn, walk_teams, edition, team, "team")
    if not name.strip():
        raise InputError("a team's name cannot be empty")
    where = (walk_teams.c.edition == edition) & (walk_teams.c.slug == team)
    before = conn.execute(select(walk_teams.c.name).where(where)).scalar()
    conn.execute(update(walk_teams).where(where).values(name=name.strip(), updated_at=utcnow()))
    write_audit(conn, AuditEntry(at=utcnow(), actor="walk", action="walk.rename_team", system=CONTACT_SOURCE,
                                 details={"edition": edition, "team": team, "from": before, "to": name.strip()}))
    save_records(conn, [Contact(source=CONTACT_SOURCE, external_id=f"team:{team}", display_name=name.strip())])
