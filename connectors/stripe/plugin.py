"""The Stripe plugin: the connector, ``vwfund stripe link``, and the webhook endpoint under ``/stripe``."""

from __future__ import annotations

from collections.abc import Callable

import click

from vwfund.connector import Connector
from vwfund.connectors.stripe.commands import stripe_group
from vwfund.connectors.stripe.connector import StripeConnector
from vwfund.connectors.stripe.webhook import make_webhook_app
from vwfund.plugins import hookimpl
from vwfund.web import RouteFactory


@hookimpl
def register_connectors(register: Callable[[Connector], None]) -> None:
    """Register the Stripe connector."""
    register(StripeConnector())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``vwfund stripe``."""
    cli.add_command(stripe_group)


@hookimpl
def register_routes(register: Callable[[str, RouteFactory], None]) -> None:
    """Mount ``POST /stripe/webhook``."""
    register("/stripe", make_webhook_app)
