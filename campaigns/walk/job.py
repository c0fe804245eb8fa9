"""The walk campaign job: a nightly rebuild of the pages, and its part of ``vwfund demo``."""

from __future__ import annotations

from pathlib import Path

from vwfund.app import App
from vwfund.campaign import CampaignJob, DemoSection
from vwfund.campaigns.walk import service
from vwfund.campaigns.walk.editions import Edition, Team, Walker, save_edition, save_teams, save_walkers
from vwfund.demo.world import DemoWalk, DemoWorld
from vwfund.sync import RunResult
from vwfund.timeutil import utcnow


def seed_walk(app: App, walk: DemoWalk) -> Edition:
    """Save the demo edition, its teams and walkers (with their contacts) in one transaction."""
    edition = Edition(walk.code, walk.name, walk.year, walk.walk_date, walk.currency, walk.goal_minor)
    with app.store.begin() as conn:
        save_edition(conn, edition)
        save_teams(conn, walk.code, [Team(t.slug, t.name, t.company, t.captain, t.goal_minor) for t in walk.teams])
        save_walkers(conn, walk.code, [Walker(w.slug, w.first_name, w.last_name, w.team_slug, w.goal_minor)
                                       for w in walk.walkers])
    return edition


class WalkJob(CampaignJob):
    """The sponsored walk: totals per team and walker, and the public pages."""

    name = "walk"
    title = "Sponsored walk: teams, walkers, totals and public pages"
    order = 60

    def nightly(self, app: App) -> RunResult | None:
        """Rebuild the static pages into ``[walk] pages_dir`` when it is set (nothing to do otherwise)."""
        out = app.config.get("walk", "pages_dir")
        if not out:
            return None
        started = utcnow()
        site = service.build_pages(app, Path(str(out)).expanduser())
        result = RunResult("walk.pages", "job", started_at=started, finished_at=utcnow())
        result.counts["pages"] = site.pages
        result.notes.append(f"{site.pages} walk pages of {site.edition} written to {site.out_dir}")
        return result

    def demo(self, app: App, world: DemoWorld, out_dir: Path) -> DemoSection:
        """Seed the walk from ``world.walk``, build its pages into ``out_dir / "walk"``, show the top ten."""
        edition = seed_walk(app, world.walk)
        site = service.build_pages(app, Path(out_dir) / "walk", code=edition.code)
        top = service.standings(app, "team", 10, edition.code)
        whole = service.totals(app, code=edition.code).totals
        locale = app.config.locale
        lines = [f"{edition.name}: {whole.raised.format(locale)} raised by {whole.sponsors} sponsors "
                 f"({len(world.walk.teams)} teams, {len(world.walk.walkers)} walkers)", "Top ten teams:"]
        lines += [f"{r.rank:>3}. {r.name}: {r.totals.raised.format(locale)}" for r in top]
        lines.append(f"Pages: {site.out_dir / 'index.html'} ({site.pages} pages, totals.json beside them)")
        return DemoSection(
            title="Sponsored walk", lines=lines,
            data={"edition": edition.code, "totals": whole.to_json(), "top_teams": [r.to_json() for r in top],
                  "pages": str(site.out_dir)},
            files=[site.out_dir / "index.html", site.out_dir / "totals.json"],
        )
