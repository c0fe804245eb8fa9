"""The crowdfunding part of ``vwfund demo``: define the demo campaign, show its status, draw it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vwfund.campaign import DemoSection
from vwfund.campaigns.crowdfunding.chart import render_chart
from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign, save_campaign
from vwfund.campaigns.crowdfunding.matching import MatchRule
from vwfund.campaigns.crowdfunding.report import describe_status
from vwfund.campaigns.crowdfunding.status import read_status
from vwfund.campaigns.crowdfunding.thermometer import render_thermometer

if TYPE_CHECKING:
    from vwfund.app import App
    from vwfund.demo.world import DemoWorld


def run_demo(app: App, world: DemoWorld, out_dir: Path) -> DemoSection:
    """Create ``world.crowdfunding`` (its gifts are in the store already), report it, write its pictures."""
    spec = world.crowdfunding
    campaign = CrowdfundingCampaign(
        code=spec.code, name=spec.name, currency=spec.currency, goal_minor=spec.goal_minor,
        starts_at=spec.starts_at, ends_at=spec.ends_at,
        match=MatchRule(cap_minor=spec.match_cap_minor or None), channels=(),
    )
    save_campaign(app.store, campaign, replace=True, actor="demo")
    status = read_status(app, spec.code, as_of=world.as_of)
    out_dir.mkdir(parents=True, exist_ok=True)
    svg = out_dir / f"crowdfunding-{spec.code}.svg"
    png = out_dir / f"crowdfunding-{spec.code}.png"
    svg.write_text(render_thermometer(status, app.config.locale), encoding="utf-8")
    png.write_bytes(render_chart(status, app.config.locale))
    return DemoSection(
        title=f"Crowdfunding: {spec.name}",
        lines=[*describe_status(status, app.config.locale, days=7),
               f"live feed: `vwfund serve`, then GET /crowdfunding/{spec.code}.json"],
        data=status.to_json(), files=[svg, png],
    )
