"""The gdpr plugin: registers the campaign job and the ``vwfund gdpr`` commands."""

from __future__ import annotations

from collections.abc import Callable

import click

from vwfund.campaign import CampaignJob
from vwfund.campaigns.gdpr.commands import gdpr_group
from vwfund.campaigns.gdpr.job import GdprJob
from vwfund.plugins import hookimpl


@hookimpl
def register_campaigns(register: Callable[[CampaignJob], None]) -> None:
    """Register the GDPR clean-up job."""
    register(GdprJob())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``vwfund gdpr``."""
    cli.add_command(gdpr_group)
