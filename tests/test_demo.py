"""`vwfund demo`: a deterministic organisation at the real walk's size, exact to the cent, reusable."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from vwfund.demo.generate import WALK_SPONSORS, WALK_TOTAL_MINOR, build_world, generate
from vwfund.store.amounts import counted_expr
from vwfund.store.database import open_store
from vwfund.store.schema import donations


def walk_figures(db_path):
    store = open_store(f"sqlite:///{db_path}")
    try:
        with store.read() as conn:
            counted = conn.execute(select(func.sum(counted_expr(donations))).where(donations.c.campaign == "walk2025"))
            gifts = conn.execute(select(func.count()).where(donations.c.campaign == "walk2025"))
            fingerprint = conn.execute(select(func.sum(donations.c.amount_minor), func.count())).one()
            return counted.scalar_one(), gifts.scalar_one(), tuple(fingerprint)
    finally:
        store.dispose()


def test_demo_runs_without_accounts_and_the_walk_raises_exactly_its_real_total(cli, tmp_path):
    out = tmp_path / "demo"
    report = json.loads(cli("--json", "demo", "--out", str(out), "--scale", "0.01").stdout)
    assert report["reused"] is False and report["overview"]["gifts"] > WALK_SPONSORS
    raised, gifts, first = walk_figures(out / "vwfund-demo.db")
    assert raised == WALK_TOTAL_MINOR and gifts == WALK_SPONSORS
    again = json.loads(cli("--json", "demo", "--out", str(out), "--scale", "0.01").stdout)
    assert again["reused"] is True
    assert (out / "vwfund-demo.db").stat().st_mode & 0o077 == 0
    twin = tmp_path / "twin.db"
    store = open_store(f"sqlite:///{twin}")
    generate(store, build_world(2024, 0.01, "Europe/Amsterdam"))
    store.dispose()
    assert walk_figures(twin)[2] == first  # same seed, same organisation


def test_world_has_the_real_walk_shape_and_a_hostile_team_name():
    world = build_world(2024, 0.1, "Europe/Brussels")
    assert len(world.walk.teams) == 528 and len(world.walk.walkers) == 3442
    assert len({t.slug for t in world.walk.teams}) == 528
    # a leaderboard never shows two teams by one name: a company's second team is numbered
    assert len({t.name for t in world.walk.teams}) == 528
    assert any(t.name.endswith(" loopt mee 2") for t in world.walk.teams)
    assert any("<script>" in t.name for t in world.walk.teams)
    assert {w.team_slug for w in world.walk.walkers} == {t.slug for t in world.walk.teams}
