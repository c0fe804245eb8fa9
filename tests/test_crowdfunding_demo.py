"""The crowdfunding part of `vwfund demo`, on the core's generated organisation."""

from __future__ import annotations

from conftest import make_app
from sqlalchemy import func, select

from vwfund.campaigns.crowdfunding.plugin import CrowdfundingJob
from vwfund.demo.generate import build_world, generate
from vwfund.store.amounts import counted_expr
from vwfund.store.database import open_store
from vwfund.store.schema import donations


def test_demo_reports_the_generated_campaign_and_draws_it(tmp_path, builtin_plugins):
    world = build_world(2024, 0.01, "Europe/Amsterdam")
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    generate(store, world)
    app = make_app(store, builtin_plugins)
    try:
        section = CrowdfundingJob().demo(app, world, tmp_path / "out")
        cf = world.crowdfunding
        with store.read() as conn:  # the same rule, asked of SQL directly
            d = donations.c
            raised = conn.execute(select(func.sum(counted_expr(donations))).where(
                d.campaign == cf.code, d.currency == cf.currency, d.matched.is_(False))).scalar_one()
            in_window = conn.execute(select(func.sum(counted_expr(donations))).where(
                d.campaign == cf.code, d.currency == cf.currency, d.matched.is_(False),
                d.received_at >= cf.starts_at, d.received_at < cf.ends_at)).scalar_one()
    finally:
        app.close()
        store.dispose()
    data = section.data
    assert data["raised"]["minor"] == raised > 0
    assert data["matched"]["minor"] == min(cf.match_cap_minor, in_window)
    assert data["total"]["minor"] == raised + data["matched"]["minor"]
    assert data["as_of"].startswith(world.as_of.date().isoformat()) and data["state"] == "running"
    assert any(line.startswith("total") for line in section.lines)
    svg, png = section.files
    assert svg.read_text().startswith("<svg") and png.read_bytes()[:4] == b"\x89PNG"
