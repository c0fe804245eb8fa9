"""Importing teams and walkers: checked like the donations import; contacts for soft credits; renames keep slugs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vwfund.campaigns.walk.tables import walk_teams, walk_walkers
from vwfund.store.schema import audit_log, contact_links, contacts

TEAMS = "slug;name;company;captain;goal;email\n" \
        "team-a;<script>alert(1)</script>;ACME;Ann;1.000,00;captain@example.org\n" \
        "team-b;Blue Feet;;Bob;500;\n"
WALKERS = "slug,first_name,last_name,team,goal,email\n" \
          "w-1,Jan,Jansen,team-a,200,jan@example.org\n" \
          "w-2,Els,,team-b,,\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def count(app: Any, table: Any) -> int:
    with app.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def edition(cli: Any) -> None:
    cli("walk", "edition", "walk24", "--name", "Walk 2024", "--year", "2024", "--date", "2024-10-12")


def test_teams_and_walkers_are_imported_with_their_contacts(cli: Any, tmp_path: Path) -> None:
    edition(cli)
    out = json.loads(cli("--json", "walk", "import", "teams", str(write(tmp_path / "t.csv", TEAMS))).stdout)
    assert out["rows"] == 2 and out["saved"] == 2
    cli("walk", "import", "walkers", str(write(tmp_path / "w.csv", WALKERS)))
    with cli.app.store.read() as conn:
        teams = {r.slug: r for r in conn.execute(select(walk_teams))}
        walkers = {r.slug: r for r in conn.execute(select(walk_walkers))}
        links = {r.external_id: r.contact_id for r in conn.execute(select(contact_links).where(contact_links.c.system == "walk"))}
        people = {r.id: r for r in conn.execute(select(contacts))}
    assert teams["team-a"].name == "<script>alert(1)</script>"  # stored as text; pages escape it
    assert teams["team-a"].goal_minor == 100000 and teams["team-b"].company is None
    assert walkers["w-1"].team_slug == "team-a" and walkers["w-2"].last_name is None
    assert set(links) == {"team:team-a", "team:team-b", "walker:w-1", "walker:w-2"}
    assert people[links["walker:w-1"]].email == "jan@example.org"
    assert people[links["walker:w-1"]].first_name == "Jan"
    assert people[links["team:team-a"]].display_name == "<script>alert(1)</script>"


def test_bad_rows_are_named_and_nothing_is_saved(cli: Any, tmp_path: Path) -> None:
    edition(cli)
    cli("walk", "import", "teams", str(write(tmp_path / "t.csv", TEAMS)))
    bad = write(tmp_path / "bad.csv", "slug,first_name,last_name,team,goal,email\n"
                "w-ok,Ok,,team-a,,\n"
                "W 2,Bad,,team-a,,\n"
                "w-3,,,team-a,,\n"
                "w-4,Four,,team-zz,,\n"
                "w-5,Five,,team-a,1.234,\n"
                "w-6,Six,,team-a,,not-an-email\n"
                "w-ok,Twice,,team-a,,\n")
    result = cli("walk", "import", "walkers", str(bad), expect=1)
    out = result.output
    assert "line 3, column slug" in out
    assert "line 4, column first_name: missing first_name" in out
    assert "line 5, column team: no team 'team-zz'" in out
    assert "line 6, column goal: ambiguous amount" in out
    assert "line 7, column email" in out
    assert "line 8, column slug: 'w-ok' appears more than once" in out
    assert "Traceback" not in out
    assert count(cli.app, walk_walkers) == 0


def test_unknown_column_is_refused_with_a_suggestion(cli: Any, tmp_path: Path) -> None:
    edition(cli)
    result = cli("walk", "import", "teams", str(write(tmp_path / "t.csv", "slug,nam\nteam-a,A\n")), expect=1)
    assert "unknown column 'nam' (did you mean 'name'?)" in result.output


def test_reimport_renames_team_and_moves_walker_without_duplicates(cli: Any, tmp_path: Path) -> None:
    edition(cli)
    cli("walk", "import", "teams", str(write(tmp_path / "t.csv", TEAMS)))
    cli("walk", "import", "walkers", str(write(tmp_path / "w.csv", WALKERS)))
    cli("walk", "import", "teams", str(write(tmp_path / "t2.csv", "slug,name\nteam-a,Alpha\n")))
    cli("walk", "import", "walkers", str(write(tmp_path / "w2.csv", "slug,first_name,team\nw-1,Jan,team-b\n")))
    assert count(cli.app, walk_teams) == 2 and count(cli.app, walk_walkers) == 2
    with cli.app.store.read() as conn:
        assert conn.execute(select(walk_teams.c.name).where(walk_teams.c.slug == "team-a")).scalar() == "Alpha"
        assert conn.execute(select(walk_walkers.c.team_slug).where(walk_walkers.c.slug == "w-1")).scalar() == "team-b"
    cli("walk", "rename", "team-b", "Blue Feet Forever")
    cli("walk", "move", "w-2")  # walking alone now
    with cli.app.store.read() as conn:
        assert conn.execute(select(walk_walkers.c.team_slug).where(walk_walkers.c.slug == "w-2")).scalar() is None
        assert conn.execute(select(walk_teams.c.name).where(walk_teams.c.slug == "team-b")).scalar() \
            == "Blue Feet Forever"
    assert "no team 'nope'" in cli("walk", "move", "w-1", "nope", expect=1).output
    with cli.app.store.read() as conn:
        audit = [(r.action, r.details) for r in conn.execute(select(audit_log).order_by(audit_log.c.id))]
    assert audit == [
        ("walk.rename_team", {"edition": "walk24", "team": "team-b", "from": "Blue Feet", "to": "Blue Feet Forever"}),
        ("walk.move_walker", {"edition": "walk24", "walker": "w-2", "from": "team-b", "to": None}),
    ]
