"""The walk's public functions over an App: what the commands, the live pages and the demo call.

Each opens its own transaction on the store and returns data; none prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from vwfund.app import App
from vwfund.campaigns.walk.editions import (
    Edition,
    find_team,
    find_walker,
    load_teams,
    load_walkers,
    move_walker,
    rename_team,
    resolve_edition,
    save_edition,
)
from vwfund.campaigns.walk.importer import WalkImport, import_people
from vwfund.campaigns.walk.links import load_donate_links
from vwfund.campaigns.walk.pages import BuiltSite, Renderer, build_site
from vwfund.campaigns.walk.reconcile import Reconciliation, reconcile
from vwfund.campaigns.walk.totals import (
    Standing,
    Totals,
    Unknown,
    fetch_gifts,
    leaderboard,
    summarise,
    team_totals,
    unknown_slugs,
    walk_report,
    walker_totals,
)
from vwfund.errors import ConfigError, InputError
from vwfund.money import Money


def page_locale(app: App, locale: str | None = None) -> str:
    """The pages' locale: the one asked for, else ``[walk] locale``, else ``[organisation] locale``."""
    chosen = str(locale or app.config.get("walk", "locale") or app.config.locale)
    try:
        Locale.parse(chosen)
    except (ValueError, TypeError, UnknownLocaleError) as exc:
        raise ConfigError(f"unknown locale {chosen!r} for the walk pages: use nl_BE, nl_NL, fr_BE or en") from exc
    return chosen


def current_edition(app: App, code: str | None = None) -> Edition:
    """The edition to work on (named, ``[walk] edition``, or the newest)."""
    with app.store.read() as conn:
        return resolve_edition(conn, app.config, code)


def set_edition(app: App, code: str, name: str, year: int, walk_date: date | None, currency: str | None,
                goal: str | None) -> Edition:
    """Create or update an edition; ``goal`` is an amount as typed ("750000", "750.000,00")."""
    cur = currency or app.config.currency
    edition = Edition(code, name, year, walk_date, cur.upper(),
                      Money.parse(goal, cur).minor if goal else None)
    with app.store.begin() as conn:
        save_edition(conn, edition)
    return current_edition(app, code)


def import_file(app: App, kind: str, path: Path, code: str | None = None) -> WalkImport:
    """Import teams or walkers from a file into an edition: all rows, or none."""
    edition = current_edition(app, code)
    return import_people(app.store, path, kind, edition, app.config.timezone)


def move(app: App, walker: str, team: str | None, code: str | None = None) -> dict[str, Any]:
    """Move a walker to another team (their gifts follow them)."""
    edition = current_edition(app, code)
    with app.store.begin() as conn:
        move_walker(conn, edition.code, walker, team)
    return {"edition": edition.code, "walker": walker, "team": team}


def rename(app: App, team: str, name: str, code: str | None = None) -> dict[str, Any]:
    """Rename a team (the slug and page URL stay)."""
    edition = current_edition(app, code)
    with app.store.begin() as conn:
        rename_team(conn, edition.code, team, name)
    return {"edition": edition.code, "team": team, "name": name}


@dataclass
class TotalsAnswer:
    """The totals of what was asked: the edition, one team, or one walker."""

    edition: str
    scope: str
    key: str | None
    name: str
    totals: Totals
    unknown: list[Unknown] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form."""
        return {"edition": self.edition, "scope": self.scope, "key": self.key, "name": self.name,
                **self.totals.to_json(), "unknown": [u.to_json() for u in self.unknown]}


def totals(app: App, team: str | None = None, walker: str | None = None, code: str | None = None) -> TotalsAnswer:
    """The totals of the edition, of one team (its own gifts and its walkers'), or of one walker.

    The edition's answer also lists the team and walker slugs its gifts name but it does not know."""
    if team and walker:
        raise InputError("ask for --team or --walker, not both")
    with app.store.read() as conn:
        edition = resolve_edition(conn, app.config, code)
        if team:
            found = find_team(conn, edition.code, team)
            if found is None:
                raise InputError(f"no team {team!r} in walk edition {edition.code!r}")
            return TotalsAnswer(edition.code, "team", team, found.name, team_totals(conn, edition, found))
        if walker:
            who = find_walker(conn, edition.code, walker)
            if who is None:
                raise InputError(f"no walker {walker!r} in walk edition {edition.code!r}")
            return TotalsAnswer(edition.code, "walker", walker, who.name, walker_totals(conn, edition, who))
        gifts = fetch_gifts(conn, edition.code)
        unknown = unknown_slugs(gifts, load_teams(conn, edition.code), load_walkers(conn, edition.code),
                                edition.currency)
        return TotalsAnswer(edition.code, "edition", None, edition.name,
                            summarise(gifts, edition.currency, edition.goal_minor), unknown)


def standings(app: App, by: str = "team", limit: int | None = None, code: str | None = None) -> list[Standing]:
    """The leaderboard by team, walker or company."""
    edition = current_edition(app, code)
    with app.store.read() as conn:
        rows: list[Standing] = leaderboard(walk_report(conn, edition), by)
    return rows[:limit] if limit else rows


def reconcile_online(app: App, code: str | None = None) -> Reconciliation:
    """The walk's online gifts against Stripe's payouts."""
    edition = current_edition(app, code)
    with app.store.read() as conn:
        return reconcile(conn, edition)


def renderer(app: App, edition: Edition, locale: str | None = None, *, team: str | None = None,
             walker: str | None = None) -> Renderer:
    """A page renderer over a fresh read of the store (the whole edition, or one team's or walker's part)."""
    with app.store.read() as conn:
        report = walk_report(conn, edition, team=team, walker=walker)
        links = load_donate_links(conn, app.config, edition.code)
    return Renderer(report, links, page_locale(app, locale), app.config.timezone)


def build_pages(app: App, out_dir: Path, locale: str | None = None, code: str | None = None) -> BuiltSite:
    """Write the static site of an edition into ``out_dir``."""
    edition = current_edition(app, code)
    return build_site(renderer(app, edition, locale), out_dir)


def render_page(app: App, kind: str, slug: str | None = None, locale: str | None = None,
                code: str | None = None) -> str | None:
    """One live page (``index``, ``totals`` for totals.json, ``team`` or ``walker``), read fresh from the
    store; None when there is no such team or walker."""
    edition = current_edition(app, code)
    html: str | None = None
    if kind == "index":
        html = renderer(app, edition, locale).index()
    elif kind == "totals":
        html = renderer(app, edition, locale).totals_json()
    elif kind == "team" and slug:
        page = renderer(app, edition, locale, team=slug)
        html = page.team(slug) if slug in page.report.teams else None
    if kind in ("index", "totals", "team"):
        return html
    if kind == "walker" and slug:
        with app.store.read() as conn:
            walker = find_walker(conn, edition.code, slug)
        if walker is None:
            return None
        scope = {"team": walker.team_slug} if walker.team_slug else {"walker": slug}
        html = renderer(app, edition, locale, **scope).walker(slug)
        return html
    raise ValueError(f"unknown page kind {kind!r}")
