"""``vwfund walk ...``: thin commands over vwfund.campaigns.walk.service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from vwfund.app import App
from vwfund.campaigns.walk import service
from vwfund.campaigns.walk.totals import Standing
from vwfund.commandkit import emit, pass_app, table

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def edition_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--edition CODE`` (default: ``[walk] edition``, else the newest edition)."""
    return click.option("--edition", "code", metavar="CODE",
                        help="Walk edition (default: [walk] edition, else the newest).")(func)


@click.group("walk")
def walk_group() -> None:
    """The sponsored walk: editions, teams and walkers, totals, reconciliation and public pages.

    Sponsorships are gifts whose campaign is the edition's code, naming a team and/or a walker slug
    (from Stripe, donate links, or `vwfund import donations`).

    \b
    Settings ([walk] in vwfund.toml, or VWFUND_WALK_<KEY>):
      edition     the edition commands use by default (else the newest)
      locale      the pages' locale: nl_BE, nl_NL, fr_BE or en (else [organisation] locale)
      donate_url  donate link when `vwfund stripe link` made none, e.g.
                  https://example.org/sponsor?e={edition}&t={team}&w={walker}
      pages_dir   where `vwfund sync` rebuilds the static pages each night
      live_cache_seconds  how long `vwfund serve` keeps the index and totals.json (30)
    """


@walk_group.command("edition")
@click.argument("code")
@click.option("--name", required=True, help="Public name, e.g. 'Walk for refugees 2024'.")
@click.option("--year", type=int, required=True)
@click.option("--date", "walk_date", type=click.DateTime(["%Y-%m-%d"]), help="The day of the walk (YYYY-MM-DD).")
@click.option("--currency", help="ISO currency (default: [organisation] currency).")
@click.option("--goal", help="The edition's goal, e.g. 750000 or 750.000,00.")
@pass_app
def edition_command(app: App, code: str, name: str, year: int, walk_date: Any, currency: str | None,
                    goal: str | None) -> None:
    """Create or update the walk edition CODE (the campaign code its gifts carry)."""
    day: date | None = walk_date.date() if walk_date else None
    result = service.set_edition(app, code, name, year, day, currency, goal)
    emit(app, result, lambda e: f"walk edition {e.code}: {e.name} ({e.year}, {e.currency})")


@walk_group.group("import")
def import_group() -> None:
    """Import teams or walkers from CSV (every bad row named by line and column; nothing saved if any)."""


def _import(kind: str) -> Callable[..., None]:
    @edition_option
    @pass_app
    def command(app: App, file: Path, code: str | None) -> None:
        result = service.import_file(app, kind, file, code)
        emit(app, result, lambda r: f"{r.path}: {r.rows} {kind} imported into {r.edition}")

    return command


import_group.command("teams", help="""Import teams from FILE.

Columns: slug, name, company, captain, goal, email. Required: slug, name. A known slug is updated
(renamed); its page URL stays.""")(click.argument("file", type=FILE)(_import("teams")))
import_group.command("walkers", help="""Import walkers from FILE.

Columns: slug, first_name, last_name, team, goal, email. Required: slug, first_name. The team must exist;
a known walker with another team moves, and their gifts follow.""")(click.argument("file", type=FILE)(_import("walkers")))


@walk_group.command("move")
@click.argument("walker")
@click.argument("team", required=False)
@edition_option
@pass_app
def move_command(app: App, walker: str, team: str | None, code: str | None) -> None:
    """Move WALKER to TEAM (no TEAM: walking alone); their gifts follow them."""
    emit(app, service.move(app, walker, team, code), lambda d: f"{d['walker']} now walks in {d['team'] or 'no team'}")


@walk_group.command("rename")
@click.argument("team")
@click.argument("name")
@edition_option
@pass_app
def rename_command(app: App, team: str, name: str, code: str | None) -> None:
    """Rename TEAM to NAME (its slug and page stay)."""
    emit(app, service.rename(app, team, name, code), lambda d: f"team {d['team']} is now called {d['name']}")


def _render_totals(answer: service.TotalsAnswer) -> str:
    t = answer.totals
    rows = [("raised (counted)", t.raised), ("  sponsored", t.sponsored), ("  matched", t.matched),
            ("  online", t.online), ("  offline", t.offline), ("gross", t.gross), ("refunded", t.refunded),
            ("fees", t.fees), ("net", t.net), ("pending (not counted)", t.pending)]
    lines = [f"{answer.scope} {answer.key or answer.edition}: {answer.name}"]
    lines += [f"  {label:<24}{money.amount:>14} {money.currency}" for label, money in rows]
    lines.append(f"  {'gifts':<24}{t.gifts:>14}")
    lines.append(f"  {'sponsors':<24}{t.sponsors:>14}   (anonymous gifts: {t.anonymous_gifts}, "
                 f"pending gifts: {t.pending_gifts})")
    if t.goal is not None:
        lines.append(f"  {'goal':<24}{t.goal.amount:>14} {t.goal.currency}   ({t.progress_percent}%)")
    for currency, minor in sorted(t.other_currencies.items()):
        lines.append(f"  not added (other currency): {minor} minor units of {currency}")
    for u in answer.unknown:
        lines.append(f"  unknown {u.kind} {u.slug!r}: {u.gifts} gifts, {u.counted.amount} {u.counted.currency} "
                     "(counted for the walk, for no team: a typo, or not imported yet?)")
    return "\n".join(lines)


@walk_group.command("totals")
@click.option("--team", help="One team's slug.")
@click.option("--walker", help="One walker's slug.")
@edition_option
@pass_app
def totals_command(app: App, team: str | None, walker: str | None, code: str | None) -> None:
    """Money raised (counted once, refunds out, pending apart, fees apart) by the walk, a team or a walker."""
    emit(app, service.totals(app, team, walker, code), _render_totals)


def _render_standings(rows: list[Standing]) -> str:
    return table([{"rank": r.rank, "key": r.key, "name": r.name, "company": r.company or "",
                   "raised": f"{r.totals.raised.amount}", "sponsors": r.totals.sponsors,
                   "progress %": r.totals.progress_percent if r.totals.progress_percent is not None else ""}
                  for r in rows])


@walk_group.command("leaderboard")
@click.option("--by", type=click.Choice(["team", "walker", "company"]), default="team", show_default=True)
@click.option("--limit", type=int, help="Only the first N.")
@edition_option
@pass_app
def leaderboard_command(app: App, by: str, limit: int | None, code: str | None) -> None:
    """Teams, walkers or companies ranked by money raised."""
    emit(app, service.standings(app, by, limit, code), _render_standings)


def _render_reconciliation(r: Any) -> str:
    lines = [f"walk {r.edition}: {r.charges} online gifts", f"  counted by the store   {r.counted.amount} {r.currency}",
             f"  charged per payouts    {r.charged.amount} {r.currency}",
             f"  fees store / Stripe    {r.fees_store.amount} / {r.fees_stripe.amount}",
             f"  paid out (net)         {r.paid_out.amount} (+ {r.in_transit.amount} not yet paid)"]
    if r.balanced:
        lines.append("every charge agrees")
    else:
        lines.append(f"{len(r.differences)} differences:")
        lines.append(table([d.to_json() for d in r.differences],
                           ["charge", "kind", "store", "stripe", "difference", "note"]))
    return "\n".join(lines)


@walk_group.command("reconcile")
@edition_option
@pass_app
def reconcile_command(app: App, code: str | None) -> None:
    """The walk's online gifts against what Stripe charged and paid out, every difference by charge."""
    emit(app, service.reconcile_online(app, code), _render_reconciliation)


@walk_group.group("pages")
def pages_group() -> None:
    """The walk's public pages."""


@pages_group.command("build")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--locale", help="nl_BE, nl_NL, fr_BE or en (default: [walk] locale, else [organisation] locale).")
@edition_option
@pass_app
def build_command(app: App, out_dir: Path, locale: str | None, code: str | None) -> None:
    """Write the static site to OUT_DIR: index (leaderboard, thermometer), a page per team and walker, totals.json."""
    emit(app, service.build_pages(app, out_dir, locale, code),
         lambda b: f"{b.pages} pages of {b.edition} ({b.locale}) written to {b.out_dir}")
