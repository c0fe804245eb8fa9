"""The walk's public pages: an index (leaderboard, thermometer), a page per team and per walker, totals.json.

Rendered with Jinja2 with autoescaping on, so names and messages from the public are shown as text. The same
renderer serves the static site (``vwfund walk pages build``) and the live pages under ``vwfund serve``.
Pages link relatively (``teams/SLUG.html``, ``../walk.css``) and load nothing from elsewhere.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from vwfund.campaigns.walk import i18n
from vwfund.campaigns.walk.display import sponsor_label, sponsor_message
from vwfund.campaigns.walk.links import DonateLinks
from vwfund.campaigns.walk.totals import Gift, Totals, WalkReport, leaderboard
from vwfund.money import Money
from vwfund.timeutil import local_date, utcnow

STYLESHEET = "walk.css"
WRITERS = 4


@lru_cache(maxsize=16)
def environment(locale: str) -> Environment:
    """The Jinja2 environment of one locale (autoescaping on): its words, ``amount`` and ``percent`` are
    globals, so the shared macros need no per-page context and their compiled module is reused."""
    env = Environment(loader=PackageLoader("vwfund.campaigns.walk", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.globals.update(t=i18n.words(locale), percent=lambda p: i18n.percent(p, locale),
                       amount=lambda value, line="": _amount_html(value.minor, value.currency, locale, line),
                       count=lambda n, line="": _count_html(n, locale, line))
    return env


def stylesheet() -> str:
    """The pages' stylesheet."""
    return files("vwfund.campaigns.walk").joinpath("templates", STYLESHEET).read_text(encoding="utf-8")


@lru_cache(maxsize=65536)
def _amount_html(minor: int, currency: str, locale: str, line: str) -> Markup:
    """An amount as HTML: the exact decimal for machines (``value``), the locale's writing for people."""
    value = Money(minor, currency)
    attr = Markup(' data-line="%s"') % line if line else Markup("")
    return Markup('<data class="amount"%s value="%s">%s</data>') % (attr, str(value.amount), i18n.money(value, locale))


@lru_cache(maxsize=65536)
def _count_html(number: int, locale: str, line: str) -> Markup:
    """A count as HTML: the number for machines (``value``), the locale's writing (17.739) for people."""
    attr = Markup(' data-line="%s"') % line if line else Markup("")
    return Markup('<data class="count"%s value="%d">%s</data>') % (attr, number, i18n.number(number, locale))


@dataclass(frozen=True)
class SponsorLine:
    """A gift as the public sees it."""

    name: str
    amount: Money
    day: str
    message: str | None
    walker: str | None


@dataclass
class Renderer:
    """Renders one edition's pages in one locale from a :class:`WalkReport`."""

    report: WalkReport
    links: DonateLinks
    locale: str
    timezone: str
    generated_at: datetime | None = None

    def __post_init__(self) -> None:
        self.generated_at = self.generated_at or utcnow()
        self.words = i18n.words(self.locale)
        edition = self.report.edition
        self.env = environment(self.locale)
        self._sponsor_lines: dict[str, SponsorLine | None] = {}
        self._shared = {  # the same on every page: formatted once
            "lang": self.locale.replace("_", "-"), "edition": edition,
            "walk_date": i18n.long_date(edition.walk_date, self.locale) if edition.walk_date else None,
            "generated": i18n.date_time(self.generated_at, self.locale, self.timezone),
            "generated_iso": self.generated_at.isoformat(timespec="seconds"),
        }

    def _common(self, root: str) -> dict[str, Any]:
        return {**self._shared, "root": root}

    def _sponsor_line(self, gift: Gift) -> SponsorLine | None:
        if gift.matched or gift.is_test or gift.counted_minor <= 0 or gift.currency != self.report.edition.currency:
            return None
        walker = self.report.walkers.get(gift.walker or "")
        return SponsorLine(
            name=sponsor_label(gift, self.words["anonymous"]), amount=Money(gift.counted_minor, gift.currency),
            day=i18n.short_date(local_date(gift.received_at, self.timezone), self.locale),
            message=sponsor_message(gift), walker=walker.name if walker else None)

    def _sponsors(self, gifts: list[Gift]) -> list[SponsorLine]:
        """The gifts shown in a sponsor list (a gift is on its team's and its walker's page: made once)."""
        lines = []
        for gift in gifts:
            key = f"{gift.source}\x1f{gift.external_id}"
            if key not in self._sponsor_lines:
                self._sponsor_lines[key] = self._sponsor_line(gift)
            line = self._sponsor_lines[key]
            if line is not None:
                lines.append(line)
        return lines

    def index(self) -> str:
        """The overview: the walk's thermometer, the team leaderboard and the top walkers."""
        report = self.report
        return self.env.get_template("index.html.j2").render(
            **self._common(""), totals=report.totals, teams=leaderboard(report, "team"),
            walkers=leaderboard(report, "walker")[:20], team_count=len(report.teams),
            walker_count=len(report.walkers), donate=self.links.for_edition())

    def team(self, slug: str) -> str:
        """One team's page: walkers, goal and progress, sponsors and messages, donate link."""
        report = self.report
        team = report.teams[slug]
        walkers = [(w, report.walker_totals[w.slug]) for w in report.team_walkers(slug)]
        return self.env.get_template("team.html.j2").render(
            **self._common("../"), team=team, totals=report.team_totals[slug], walkers=walkers,
            sponsors=self._sponsors(report.team_gifts[slug]), donate=self.links.for_team(slug))

    def walker(self, slug: str) -> str:
        """One walker's page."""
        report = self.report
        walker = report.walkers[slug]
        return self.env.get_template("walker.html.j2").render(
            **self._common("../"), walker=walker, team=report.all_teams.get(walker.team_slug or ""),
            totals=report.walker_totals[slug], sponsors=self._sponsors(report.walker_gifts[slug]),
            donate=self.links.for_walker(walker))

    def totals_json(self) -> str:
        """The JSON feed: the edition's totals and every team's and walker's, exact to the cent."""
        return json.dumps(totals_feed(self.report, self.generated_at), ensure_ascii=False, separators=(",", ":"))


def totals_feed(report: WalkReport, generated_at: datetime | None = None) -> dict[str, Any]:
    """The data of ``totals.json`` (no names of sponsors, no contact details)."""
    edition = report.edition

    def entry(name: str, totals: Totals, **extra: Any) -> dict[str, Any]:
        return {"name": name, **extra, **totals.to_json()}

    return {
        "edition": {"code": edition.code, "name": edition.name, "year": edition.year,
                    "walk_date": edition.walk_date.isoformat() if edition.walk_date else None},
        "generated_at": (generated_at or utcnow()).isoformat(timespec="seconds"),
        "totals": report.totals.to_json(),
        "teams": {s: entry(t.name, report.team_totals[s], company=t.company) for s, t in report.teams.items()},
        "walkers": {s: entry(w.name, report.walker_totals[s], team=w.team_slug) for s, w in report.walkers.items()},
    }


@dataclass
class BuiltSite:
    """Where a static site was written and how many pages it has."""

    out_dir: Path
    edition: str
    locale: str
    pages: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary."""
        return {"out_dir": str(self.out_dir), "edition": self.edition, "locale": self.locale, "pages": self.pages}


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def build_site(renderer: Renderer, out_dir: Path) -> BuiltSite:
    """Write the static site into ``out_dir`` (index.html, teams/, walkers/, totals.json, walk.css).

    Pages are rendered in this thread and written by a few writer threads, so that waiting for the disk
    overlaps with rendering; any write error is raised here.
    """
    out = Path(out_dir)
    (out / "teams").mkdir(parents=True, exist_ok=True)
    (out / "walkers").mkdir(parents=True, exist_ok=True)
    report = renderer.report
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="walk-pages") as pool:
        writes = [pool.submit(_write, out / STYLESHEET, stylesheet()),
                  pool.submit(_write, out / "index.html", renderer.index()),
                  pool.submit(_write, out / "totals.json", renderer.totals_json())]
        writes += [pool.submit(_write, out / "teams" / f"{slug}.html", renderer.team(slug)) for slug in report.teams]
        writes += [pool.submit(_write, out / "walkers" / f"{slug}.html", renderer.walker(slug))
                   for slug in report.walkers]
    for done in writes:
        done.result()
    return BuiltSite(out, report.edition.code, renderer.locale, 1 + len(report.teams) + len(report.walkers))
