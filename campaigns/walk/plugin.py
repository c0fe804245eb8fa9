"""The walk plugin: the ``walk`` campaign job, the ``vwfund walk`` commands, and the live pages at ``/walk``."""

from __future__ import annotations

from collections.abc import Callable

import click

from vwfund.campaign import CampaignJob
from vwfund.campaigns.walk.commands import walk_group
from vwfund.campaigns.walk.job import WalkJob
from vwfund.campaigns.walk.web import PREFIX, make_wsgi_app
from vwfund.plugins import hookimpl
from vwfund.web import RouteFactory


@hookimpl
def register_campaigns(register: Callable[[CampaignJob], None]) -> None:
    """Register the walk job."""
    register(WalkJob())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``vwfund walk``."""
    cli.add_command(walk_group)


@hookimpl
def register_routes(register: Callable[[str, RouteFactory], None]) -> None:
    """Serve the live walk pages and totals.json under /walk."""
    register(PREFIX, make_wsgi_app)
