"""The walk's part of `vwfund demo`: seeds teams and walkers from the demo world, builds the pages, shows the
top ten teams and where the pages are."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from test_walk_totals import gift

from vwfund.app import App
from vwfund.campaigns.walk.job import WalkJob
from vwfund.demo.world import DemoCrowdfunding, DemoTeam, DemoWalk, DemoWalker, DemoWorld
from vwfund.store.records import save_records


def small_world() -> DemoWorld:
    """Twelve teams, one walker each; team N raised N euro (team-12 leads, team-1 and team-2 miss the top ten)."""
    teams = [DemoTeam(f"team-{n}", f"Team {n}", "ACME" if n % 2 else None, f"Captain {n}", 10000) for n in range(1, 13)]
    walkers = [DemoWalker(f"walker-{n}", "Walker", f"Nr{n}", f"team-{n}", 5000) for n in range(1, 13)]
    walk = DemoWalk("walk24", "Walk 2024", 2024, date(2024, 10, 12), "EUR", 100000, teams, walkers)
    crowd = DemoCrowdfunding("cf", "Crowd", "EUR", 1000, datetime(2024, 1, 1, tzinfo=UTC),
                             datetime(2024, 12, 31, tzinfo=UTC), 100)
    return DemoWorld(seed=1, scale=0.01, as_of=datetime(2024, 11, 1, tzinfo=UTC), timezone="Europe/Brussels",
                     currency="EUR", walk=walk, crowdfunding=crowd, audience="a")


def test_demo_seeds_builds_pages_and_reports_the_top_ten(sqlite_app: App, tmp_path: Path) -> None:
    world = small_world()
    with sqlite_app.store.begin() as conn:  # what the core generator writes: gifts with the walk's slugs
        save_records(conn, [gift(f"g-{n}", f"{n}.00", walker=f"walker-{n}") for n in range(1, 13)])
    job: Any = sqlite_app.campaign("walk")
    assert isinstance(job, WalkJob)
    section = job.demo(sqlite_app, world, tmp_path)
    assert section.title == "Sponsored walk"
    top = section.data["top_teams"]
    assert [row["key"] for row in top] == [f"team-{n}" for n in range(12, 2, -1)]
    assert top[0]["raised"]["amount"] == "12.00"
    assert section.data["totals"]["raised"]["amount"] == "78.00"  # 1 + 2 + ... + 12
    text = "\n".join(section.lines)
    assert "Team 12: € 12,00" in text.replace("\xa0", " ") and "Team 2:" not in text  # the locale (nl_NL) writes it
    assert str(tmp_path / "walk" / "index.html") in text
    for name in ("index.html", "totals.json", "teams/team-12.html", "walkers/walker-1.html"):
        assert (tmp_path / "walk" / name).is_file()
    assert all(f.is_file() for f in section.files)
    # running the demo again changes nothing (teams and walkers are upserted by slug)
    again = job.demo(sqlite_app, world, tmp_path)
    assert again.data["top_teams"] == top


def test_nightly_rebuilds_the_pages_only_when_a_directory_is_set(sqlite_store: Any, builtin_plugins: Any,
                                                                 tmp_path: Path) -> None:
    from conftest import make_app

    from vwfund.campaigns.walk.job import seed_walk

    idle = make_app(sqlite_store, builtin_plugins)
    assert WalkJob().nightly(idle) is None
    app = make_app(sqlite_store, builtin_plugins, {"walk": {"pages_dir": str(tmp_path / "public")}})
    seed_walk(app, small_world().walk)
    result = WalkJob().nightly(app)
    assert result is not None and result.ok and result.counts["pages"] == 1 + 12 + 12
    assert (tmp_path / "public" / "teams" / "team-7.html").is_file()
    idle.close()
    app.close()
