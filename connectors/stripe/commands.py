"""``vwfund stripe ...``: thin commands over the library (links.py)."""

from __future__ import annotations

import click

from vwfund.app import App
from vwfund.commandkit import emit, pass_app
from vwfund.connectors.stripe.connector import make_api
from vwfund.connectors.stripe.links import DonateLink, create_donate_link
from vwfund.money import Money
from vwfund.store.links import save_donate_link


@click.group("stripe")
def stripe_group() -> None:
    """Stripe: donate links (syncing is `vwfund sync stripe`)."""


@stripe_group.command("link")
@click.option("--campaign", required=True, help="Campaign code carried as metadata (e.g. walk26).")
@click.option("--team", default="", help="Team name carried as metadata.")
@click.option("--walker", default="", help="Walker carried as metadata.")
@click.option("--amount", default=None, help="A fixed amount (12.50 or 12,50); without it the donor chooses.")
@click.option("--currency", default=None, help="Currency (default: [organisation] currency).")
@pass_app
def link_command(app: App, campaign: str, team: str, walker: str, amount: str | None, currency: str | None) -> None:
    """Create a Payment Link for a campaign (and team, walker) and keep it for the pages."""
    cur = currency or app.config.currency
    money = Money.parse(amount, cur) if amount else None
    made = create_donate_link(make_api(app), campaign, cur, team, walker, money)
    with app.store.begin() as conn:
        save_donate_link(conn, made.campaign, made.url, "stripe", made.external_id, made.team, made.walker)
    emit(app, made, _render)


def _render(link: DonateLink) -> str:
    who = " / ".join(p for p in (link.campaign, link.team, link.walker) if p)
    amount = link.amount.format() if link.amount else "donor chooses"
    return f"{who}: {link.url} ({amount})"
