"""The crowdfunding plugin: the campaign job, the ``vwfund crowdfunding`` commands and the live feed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from vwfund.campaign import CampaignJob, DemoSection
from vwfund.campaigns.crowdfunding.commands import crowdfunding_group
from vwfund.campaigns.crowdfunding.feed import PREFIX, make_feed_app
from vwfund.plugins import hookimpl

if TYPE_CHECKING:
    from vwfund.app import App
    from vwfund.demo.world import DemoWorld
    from vwfund.web import RouteFactory


class CrowdfundingJob(CampaignJob):
    """Crowdfunding totals: computed live from the store, so there is no nightly step."""

    name = "crowdfunding"
    title = "Crowdfunding: a campaign toward its goal, with a thermometer and a progress chart"
    order = 60

    def demo(self, app: App, world: DemoWorld, out_dir: Path) -> DemoSection:
        """Define the demo campaign, show its status and write its thermometer and chart."""
        from vwfund.campaigns.crowdfunding.demo import run_demo

        return run_demo(app, world, out_dir)


@hookimpl
def register_campaigns(register: Callable[[CampaignJob], None]) -> None:
    """Register the crowdfunding job."""
    register(CrowdfundingJob())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``vwfund crowdfunding``."""
    cli.add_command(crowdfunding_group)


@hookimpl
def register_routes(register: Callable[[str, RouteFactory], None]) -> None:
    """Serve the live feed under /crowdfunding (see vwfund.campaigns.crowdfunding.feed)."""
    register(PREFIX, make_feed_app)
