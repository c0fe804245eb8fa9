"""Commands that look at the store's data: donations and contacts."""

from __future__ import annotations

from typing import Any

import click

from vwfund.app import App
from vwfund.commandkit import emit, pass_app, table
from vwfund.money import format_minor
from vwfund.queries import contact_summary, iter_donations
from vwfund.store.contacts import open_conflicts, resolve_conflict
from vwfund.timeutil import parse_instant, zone


@click.group("donations")
def donations_group() -> None:
    """Look at gifts in the store."""


@donations_group.command("list")
@click.option("--campaign", help="Only gifts to this campaign code.")
@click.option("--since", metavar="DATE", help="Only gifts received on or after DATE (YYYY-MM-DD, local time).")
@click.option(
    "--status",
    type=click.Choice(["pending", "succeeded", "failed", "refunded", "partially_refunded", "disputed"]),
    help="Only gifts with this status.",
)
@click.option("--limit", type=click.IntRange(1), help="At most this many (default 50; with --json, every row).")
@pass_app
def donations_list(app: App, campaign: str | None, since: str | None, status: str | None, limit: int | None) -> None:
    """List gifts, newest first."""
    since_at = parse_instant(since, app.config.timezone) if since else None
    if limit is None and not app.json_output:
        limit = 50
    with app.store.read() as conn:
        rows = list(iter_donations(conn, campaign=campaign, since=since_at, status=status, limit=limit))

    def render(rs: list[dict[str, Any]]) -> str:
        shown = [
            {
                "received": f"{r['received_at'].astimezone(zone(app.config.timezone)):%Y-%m-%d %H:%M}",
                "source": r["source"],
                "id": r["external_id"],
                "amount": format_minor(int(r["amount_minor"]), str(r["currency"]), app.config.locale),
                "refunded": r["refunded_minor"] or "",
                "status": r["status"],
                "campaign": r["campaign"] or "",
            }
            for r in rs
        ]
        return table(shown)

    emit(app, rows, render)


@click.group("contacts")
def contacts_group() -> None:
    """Look at contacts, and decide which records belong to whom."""


@contacts_group.command("show")
@click.argument("email")
@pass_app
def contacts_show(app: App, email: str) -> None:
    """Show what the store holds on the contact with EMAIL: links, gifts, plans, consents, newsletter."""
    with app.store.read() as conn:
        found = contact_summary(conn, email)
    if not found:
        raise click.ClickException("no contact with that email in the store")
    emit(app, found)


@contacts_group.command("conflicts")
@pass_app
def contacts_conflicts(app: App) -> None:
    """List outside records whose email is on several contacts: a person must decide (`contacts link`)."""
    with app.store.read() as conn:
        rows = open_conflicts(conn)
    emit(
        app,
        rows,
        lambda rs: table(
            [
                {
                    "id": r["id"],
                    "system": r["system"],
                    "external_id": r["external_id"],
                    "candidates": ",".join(map(str, r["candidate_ids"])),
                }
                for r in rs
            ]
        ),
    )


@contacts_group.command("link")
@click.argument("conflict_id", type=int)
@click.argument("contact_id", type=int)
@pass_app
def contacts_link(app: App, conflict_id: int, contact_id: int) -> None:
    """Decide conflict CONFLICT_ID: its record belongs to contact CONTACT_ID (one of its candidates)."""
    with app.store.begin() as conn:
        result = resolve_conflict(conn, conflict_id, contact_id)
    emit(app, result, lambda r: f"{r['system']} record {r['external_id']} is now contact {r['contact_id']}")


def register(cli: click.Group) -> None:
    """Add these commands to the root group."""
    cli.add_command(donations_group)
    cli.add_command(contacts_group)
