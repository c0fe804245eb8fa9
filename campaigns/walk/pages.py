"""The walk's public pages: an index (leaderboard, thermometer), a page per team and per walker, totals.json.

Rendered with Jinja2 with autoescaping on, so names and messages from the public are shown as text. The same
renderer serves the static site (``vwfund walk pages build``) and the live pages under ``vwfund serve``.
Pages link relatively (``teams/SLUG.html``, ``../walk.css``) and load nothing from elsewhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from vwfund.campaigns.walk import i18n
from vwfund.campaigns.walk.display import sponsor_label, sponsor_message
from vwfund.campaigns.walk.links import DonateLinks
from vwfund.campaigns.walk.totals import Gift, Totals, WalkReport, leaderboard

from vwfund.money import Money
from vwfund.timeutil import local_date, utcnow

STYLESHEET = "walk.css"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("vwfund.campaigns.walk", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env


_ENV = _environment()


def stylesheet() -> str:
    """The pages' stylesheet."""
    return files("vwfund.campaigns.walk").joinpath("templates", STYLESHEET).read_text(encoding="utf-8")


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

    def _common(self, root: str) -> dict[str, Any]:
        assert self.generated_at is not None
        edition = self.report.edition
        return {
            "t": self.words, "lang": self.locale.replace("_", "-"), "root": root, "edition": edition,
            "walk_date": i18n.long_date(edition.walk_date, self.locale) if edition.walk_date else None,
            "generated": i18n.date_time(self.generated_at, self.locale, self.timezone),
            "generated_iso": self.generated_at.isoformat(timespec="seconds"),
            "money": lambda m: i18n.money(m, self.locale),
            "percent": lambda p: i18n.percent(p, self.locale),
        }

    def _sponsors(self, gifts: list[Gift]) -> list[SponsorLine]:
        anonymous = self.words["anonymous"]
        lines = []
        for gift in gifts:
            if gift.matched or gift.is_test or gift.counted_minor <= 0 or gift.currency != self.report.edition.currency:
                continue
            walker = self.report.walkers.get(gift.walker or "")
            lines.append(SponsorLine(
                name=sponsor_label(gift, anonymous), amount=Money(gift.counted_minor, gift.currency),
                day=i18n.short_date(local_date(gift.received_at, self.timezone), self.locale),
                message=sponsor_message(gift), walker=walker.name if walker else None))
        return lines

    def index(self) -> str:
        """The overview: the walk's thermometer, the team leaderboard and the top walkers."""
        report = self.report
        return _ENV.get_template("index.html.j2").render(
            **self._common(""), totals=report.totals, teams=leaderboard(report, "team"),
            walkers=leaderboard(report, "walker")[:20], team_count=len(report.teams),
            walker_count=len(report.walkers), donate=self.links.for_edition())

    def team(self, slug: str) -> str:
        """One team's page: walkers, goal and progress, sponsors and messages, donate link."""
        report = self.report
        team = report.teams[slug]
        walkers = [(w, report.walker_totals[w.slug]) for w in report.team_walkers(slug)]
        return _ENV.get_template("team.html.j2").render(
            **self._common("../"), team=team, totals=report.team_totals[slug], walkers=walkers,
            sponsors=self._sponsors(report.team_gifts[slug]), donate=self.links.for_team(slug))

    def walker(self, slug: str) -> str:
        """One walker's page."""
        report = self.report
        walker = report.walkers[slug]
        return _ENV.get_template("walker.html.j2").render(
            **self._common("../"), walker=walker, team=report.all_teams.get(walker.team_slug or ""),
            totals=report.walker_totals[slug], sponsors=self._sponsors(report.walker_gifts[slug]),
            donate=self.links.for_walker(walker))

    def totals_json(self) -> str:
        """The JSON feed: the edition's totals and every team's and walker's, exact to the cent."""
        return json.dumps(totals_feed(self.report, self.generated_at), ensure_ascii=False, indent=1)


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
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_site(renderer: Renderer, out_dir: Path) -> BuiltSite:
    """Write the static site into ``out_dir`` (index.html, teams/, walkers/, totals.json, walk.css)."""
    out = Path(out_dir)
    (out / "teams").mkdir(parents=True, exist_ok=True)
    (out / "walkers").mkdir(parents=True, exist_ok=True)
    report = renderer.report
    _write(out / STYLESHEET, stylesheet())
    _write(out / "index.html", renderer.index())
    _write(out / "totals.json", renderer.totals_json())
    for slug in report.teams:
        _write(out / "teams" / f"{slug}.html", renderer.team(slug))
    for slug in report.walkers:
        _write(out / "walkers" / f"{slug}.html", renderer.walker(slug))
    return BuiltSite(out, report.edition.code, renderer.locale, 1 + len(report.teams) + len(report.walkers))
