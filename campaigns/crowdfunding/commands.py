"""``vwfund crowdfunding ...``: thin commands over the crowdfunding library functions."""

from __future__ import annotations

from pathlib import Path

import click

from vwfund.app import App
from vwfund.campaigns.crowdfunding.chart import render_chart
from vwfund.campaigns.crowdfunding.definition import (
    define_campaign,
    define_from_config,
    list_campaigns,
    save_campaign,
)
from vwfund.campaigns.crowdfunding.report import describe_status
from vwfund.campaigns.crowdfunding.status import read_status
from vwfund.campaigns.crowdfunding.thermometer import render_thermometer
from vwfund.commandkit import emit, pass_app, table
from vwfund.models import Campaign
from vwfund.money import Money


@click.group("crowdfunding")
def crowdfunding_group() -> None:
    """Crowdfunding campaigns: money raised toward a goal, exact and live.

    A gift belongs to a campaign when its campaign code is the campaign's CODE. It counts as everywhere in
    vwfund: succeeded gifts net of refunds, in the campaign's currency; fees are shown apart. The live
    JSON feed is served by `vwfund serve` at /crowdfunding/CODE.json (thermometer: /crowdfunding/CODE.svg).
    """


@crowdfunding_group.command("create")
@click.argument("code")
@click.option("--name", required=True, help="Public name of the campaign.")
@click.option("--goal", required=True, help="Goal in the currency's major units, e.g. 100000 or 2500,50.")
@click.option("--currency", default=None, help="ISO 4217 code (default: [organisation] currency).")
@click.option("--start", required=True, help="First day (YYYY-MM-DD, local time) or an ISO 8601 date-time.")
@click.option("--end", required=True, help="Last day, included (YYYY-MM-DD, local time) or an ISO 8601 date-time.")
@click.option("--match-cap", default=None, help="A funder doubles gifts up to this amount.")
@click.option("--match-ratio", default=None, help="With --match-cap: what the funder gives per unit donors give "
              "(default 1: doubling; 0.5 adds half).")
@click.option("--match-milestone", "milestones", multiple=True, metavar="AMOUNT:SUM",
              help="A funder gives SUM once donors reach AMOUNT (repeatable).")
@click.option("--channel", "channels", multiple=True, help="A channel the campaign expects (repeatable), "
              "e.g. stripe, offline: listed even before its first gift.")
@click.option("--replace", is_flag=True, help="Change an existing campaign with this CODE.")
@pass_app
def create_command(app: App, code: str, name: str, goal: str, currency: str | None, start: str, end: str,
                   match_cap: str | None, match_ratio: str | None, milestones: tuple[str, ...], channels: tuple[str, ...],
                   replace: bool) -> None:
    """Define crowdfunding campaign CODE (gifts carry CODE as their campaign)."""
    campaign = define_campaign(code, name=name, goal=goal, currency=currency or app.config.currency, start=start,
                               end=end, tz=app.config.timezone, match_cap=match_cap, match_ratio=match_ratio,
                               milestones=milestones,
                               channels=channels)
    saved = save_campaign(app.store, campaign, replace=replace)
    emit(app, saved.to_record(), _describe_saved)


def _describe_saved(c: Campaign) -> str:
    return (f"campaign {c.code} saved: goal {Money(c.goal_minor or 0, c.currency)}, "
            f"{c.starts_at:%Y-%m-%d %H:%M} to {c.ends_at:%Y-%m-%d %H:%M} UTC")


@crowdfunding_group.command("load")
@click.argument("code")
@click.option("--replace", is_flag=True, help="Change an existing campaign with this CODE.")
@pass_app
def load_command(app: App, code: str, replace: bool) -> None:
    """Define campaign CODE from the config file's [crowdfunding.CODE] table.

    Keys: name, goal, start, end (required); currency, match_cap, match_ratio, match_milestones
    (a list of "AMOUNT:SUM"), channels (a list). Checked exactly as `create` checks its options.
    """
    saved = save_campaign(app.store, define_from_config(app.config, code), replace=replace)
    emit(app, saved.to_record(), _describe_saved)


@crowdfunding_group.command("list")
@pass_app
def list_command(app: App) -> None:
    """List the crowdfunding campaigns."""
    with app.store.read() as conn:
        found = [c.to_record() for c in list_campaigns(conn)]
    emit(app, found, lambda rows: table([
        {"code": c.code, "name": c.name, "goal": str(Money(c.goal_minor or 0, c.currency)),
         "starts": f"{c.starts_at:%Y-%m-%d}", "ends": f"{c.ends_at:%Y-%m-%d}"} for c in rows]))


@crowdfunding_group.command("status")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print exactly what the live feed serves.")
@pass_app
def status_command(app: App, code: str, as_json: bool) -> None:
    """Show campaign CODE: total, gross/fees/net, refunds, match, donors, channels, days, projection.

    With --json (here or before the command) it prints exactly what the live feed
    /crowdfunding/CODE.json serves.
    """
    app.json_output = app.json_output or as_json
    status = read_status(app, code)
    emit(app, status, lambda s: "\n".join(describe_status(s, app.config.locale)))


@crowdfunding_group.command("thermometer")
@click.argument("code")
@click.option("--svg", "svg_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the SVG.")
@pass_app
def thermometer_command(app: App, code: str, svg_path: Path) -> None:
    """Write campaign CODE's thermometer as an accessible SVG a website can embed."""
    status = read_status(app, code)
    svg_path.write_text(render_thermometer(status, app.config.locale), encoding="utf-8")
    emit(app, {"file": svg_path, "total": status.money(status.total_minor)}, lambda d: f"wrote {d['file']}")


@crowdfunding_group.command("chart")
@click.argument("code")
@click.option("--png", "png_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the PNG.")
@pass_app
def chart_command(app: App, code: str, png_path: Path) -> None:
    """Write campaign CODE's progress chart (cumulative money raised against the goal) as a PNG."""
    status = read_status(app, code)
    png_path.write_bytes(render_chart(status, app.config.locale))
    emit(app, {"file": png_path, "total": status.money(status.total_minor)}, lambda d: f"wrote {d['file']}")
