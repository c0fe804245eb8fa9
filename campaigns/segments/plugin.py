"""The segments plugin: registers the campaign job and the ``vwfund segments`` commands."""

from __future__ import annotations

from collections.abc import Callable

import click

from vwfund.campaign import CampaignJob
from vwfund.campaigns.segments.commands import segments_group
from vwfund.campaigns.segments.job import SegmentsJob
from vwfund.plugins import hookimpl


@hookimpl
def register_campaigns(register: Callable[[CampaignJob], None]) -> None:
    """Register the segments job."""
    register(SegmentsJob())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``vwfund segments``."""
    cli.add_command(segments_group)
