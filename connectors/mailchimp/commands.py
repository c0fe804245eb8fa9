"""``vwfund mailchimp``: commands over the Mailchimp library functions (pull and push are ``vwfund sync/push``)."""

from __future__ import annotations

import click

from vwfund.app import App
from vwfund.commandkit import emit, pass_app, table
from vwfund.connectors.mailchimp.plan import PushPlan, plan_push
from vwfund.connectors.mailchimp.settings import SECTION


@click.group("mailchimp")
def mailchimp_group() -> None:
    """The Mailchimp audience: see what a push would change before running it."""


def render_plan(plan: PushPlan) -> str:
    """The plan as two small tables."""
    members = table([{"members": k, "count": v} for k, v in plan.members.items()], ["members", "count"])
    tags = table([{"segment (tag)": name, "add": c["add"], "remove": c["remove"]} for name, c in plan.segments.items()],
                 ["segment (tag)", "add", "remove"])
    return f"audience {plan.audience}\n{members}\n\n{tags}"


@mailchimp_group.command("plan")
@pass_app
def plan_command(app: App) -> None:
    """Show what `vwfund push mailchimp` would send (new members, updates, tag changes); sends nothing.

    Members who unsubscribed, were cleaned or archived are counted as never resubscribed; addresses that
    Mailchimp refused as permanently deleted are counted as forgotten and never sent again.
    """
    list_id = app.config.require(SECTION, "list_id", "the Mailchimp audience")
    emit(app, plan_push(app.store, list_id), render_plan)
