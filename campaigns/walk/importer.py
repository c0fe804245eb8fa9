"""Reading teams and walkers from CSV (or JSON lines), checked like the offline donations import.

Teams columns: slug, name, company, captain, goal, email (required: slug, name).
Walkers columns: slug, first_name, last_name, team, goal, email (required: slug, first_name).
Every bad row is reported by line and column and then nothing is saved. Names are kept as given (pages
escape them); goals are amounts in the edition's currency ("2500" or "2.500,00").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from vwfund.campaigns.walk.editions import (
    SLUG,
    Edition,
    Team,
    Walker,
    load_teams,
    save_teams,
    save_walkers,
)
from vwfund.connectors.offline.parse import RowError, check_columns, parse_rows
from vwfund.connectors.offline.rows import read_rows
from vwfund.errors import InputError
from vwfund.identity import normalise_email
from vwfund.money import Money
from vwfund.store.database import Store

TEAM_COLUMNS = ("slug", "name", "company", "captain", "goal", "email")
WALKER_COLUMNS = ("slug", "first_name", "last_name", "team", "goal", "email")
MAX_NAME = 200


@dataclass
class WalkImport:
    """What an import of teams or walkers read and saved."""

    path: str
    kind: str
    edition: str
    rows: int
    saved: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary."""
        return {"path": self.path, "kind": self.kind, "edition": self.edition, "rows": self.rows, "saved": self.saved}


def _slug(value: str | None, column: str) -> str:
    if not value:
        raise RowError(column, f"missing {column}")
    if not SLUG.match(value) or value != value.lower():
        raise RowError(column, f"{value!r} is not a slug: use lower-case letters, digits and hyphens")
    return value


def _name(value: str | None, column: str, required: bool = True) -> str | None:
    if not value:
        if required:
            raise RowError(column, f"missing {column}")
        return None
    if len(value) > MAX_NAME:
        raise RowError(column, f"longer than {MAX_NAME} characters")
    if any(ord(ch) < 32 for ch in value):
        raise RowError(column, "contains control characters")
    return value


def _goal(value: str | None, currency: str) -> int | None:
    if value is None:
        return None
    try:
        goal = Money.parse(value, currency)
    except InputError as exc:
        raise RowError("goal", str(exc)) from exc
    if goal.minor < 0:
        raise RowError("goal", "a goal cannot be negative")
    return goal.minor


def _email(value: str | None) -> str | None:
    try:
        return normalise_email(value)
    except InputError as exc:
        raise RowError("email", str(exc)) from exc


def _once(slug: str, seen: Counter[str]) -> None:
    seen[slug] += 1
    if seen[slug] > 1:
        raise RowError("slug", f"{slug!r} appears more than once in this file")


def _team_row(currency: str) -> Callable[[dict[str, str | None], str, Counter[str]], list[Any]]:
    def convert(values: dict[str, str | None], tz: str, seen: Counter[str]) -> list[Any]:
        slug = _slug(values.get("slug"), "slug")
        _once(slug, seen)
        team = Team(slug=slug, name=_name(values.get("name"), "name") or "",
                    company=_name(values.get("company"), "company", False),
                    captain=_name(values.get("captain"), "captain", False), goal_minor=_goal(values.get("goal"), currency))
        return [(team, _email(values.get("email")))]

    return convert


def _walker_row(currency: str, teams: set[str]) -> Callable[[dict[str, str | None], str, Counter[str]], list[Any]]:
    def convert(values: dict[str, str | None], tz: str, seen: Counter[str]) -> list[Any]:
        slug = _slug(values.get("slug"), "slug")
        _once(slug, seen)
        team = values.get("team")
        if team is not None and team not in teams:
            raise RowError("team", f"no team {team!r} in this walk edition: import the teams first")
        walker = Walker(slug=slug, first_name=_name(values.get("first_name"), "first_name") or "",
                        last_name=_name(values.get("last_name"), "last_name", False), team_slug=team,
                        goal_minor=_goal(values.get("goal"), currency))
        return [(walker, _email(values.get("email")))]

    return convert


def read_people(path: Path, kind: str, edition: Edition, known_teams: set[str], tz: str) -> tuple[int, list[Any]]:
    """Read and check a teams or walkers file; returns (rows, [(Team|Walker, email)]); nothing is saved."""
    if kind == "teams":
        allowed, required, convert = TEAM_COLUMNS, ("slug", "name"), _team_row(edition.currency)
    elif kind == "walkers":
        allowed, required, convert = WALKER_COLUMNS, ("slug", "first_name"), _walker_row(edition.currency, known_teams)
    else:
        raise InputError(f"unknown kind {kind!r}: import teams or walkers")
    columns, rows = read_rows(path)
    check_columns(str(path), columns, allowed, required)
    parsed = parse_rows(str(path), rows, convert, tz)
    if parsed.problems:
        raise InputError(f"{path}: nothing was imported; fix these rows and run the import again "
                         f"({len(parsed.problems)} shown):", parsed.problems)
    if parsed.rows == 0:
        raise InputError(f"{path}: no rows under the header")
    return parsed.rows, parsed.records


def save_people(conn: Connection, kind: str, edition: str, items: Sequence[tuple[Any, str | None]]) -> int:
    """Save checked teams or walkers (with their contacts) inside the caller's transaction."""
    people = [p for p, _ in items]
    emails = [e for _, e in items]
    saved: int = (save_teams if kind == "teams" else save_walkers)(conn, edition, people, emails)
    return saved


def import_people(store: Store, path: Path, kind: str, edition: Edition, tz: str) -> WalkImport:
    """Read a teams or walkers file and save all of it in one transaction, or nothing."""
    with store.read() as conn:
        known = set(load_teams(conn, edition.code))
    rows, items = read_people(path, kind, edition, known, tz)
    with store.begin() as conn:
        saved = save_people(conn, kind, edition.code, items)
    return WalkImport(str(path), kind, edition.code, rows, saved)
