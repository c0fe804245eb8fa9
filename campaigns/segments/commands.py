"""``vwfund segments``: thin click commands over the segments library."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import click

from vwfund.app import App
from vwfund.campaigns.segments.push import PushPlan, push_segment
from vwfund.campaigns.segments.runs import (
    EXPORT_COLUMNS,
    RunReport,
    default_as_of,
    export_rows,
    list_segments,
    run_segments,
    show_segment,
)
from vwfund.campaigns.segments.settings import load_settings
from vwfund.commandkit import emit, open_private, pass_app, table


@click.group("segments")
def segments_group() -> None:
    """Donor segments: RFM, new/retained/recaptured/lapsed, LYBUNT/SYBUNT, monthly, major, custom.

    Settings under [segments] in vwfund.toml: window_days (RFM window, 365), history_years (5),
    monthly_recent_days (45), major_minimum ("1000" in the organisation currency, or a table per
    currency). Custom segments: [segments.custom] with name = "expression" lines.
    """


def _as_of(app: App, value: date | None) -> date:
    return value or default_as_of(app.config.timezone)


def _render_run(report: dict[str, Any]) -> str:
    rows = [{"segment": n, "members": c} for n, c in report["segments"].items()]
    how = (f" (read in {report['read_in_parts']} parts by {report['processes']} processes)"
           if report["read_in_parts"] > 1 else "")
    out = [f"as of {report['as_of']}: {report['donors']} donors; computed in {report['compute_seconds']}s{how}, "
           f"stored in {report['store_seconds']}s", table(rows), "", "retention (of last year's donors):"]
    out.append(table([{"year": f"{r['year']}{' (to date)' if r['partial'] else ''}",
                       "donors before": r["all"]["donors_year_before"], "retained": r["all"]["retained"],
                       "rate %": r["all"]["rate_percent"], "new %": r["new"]["rate_percent"],
                       "repeat %": r["repeat"]["rate_percent"]} for r in report["retention"]]))
    return "\n".join(out)


@segments_group.command("run")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Reference date (gifts to the end of that day count); default today.")
@click.option("--only", multiple=True, help="Run only this segment (repeatable).")
@pass_app
def run_command(app: App, as_of: Any, only: tuple[str, ...]) -> None:
    """Compute every segment at the reference date and keep the run."""
    settings = load_settings(app.config)
    report: RunReport = run_segments(app.store, settings, _as_of(app, as_of.date() if as_of else None), only)
    emit(app, report.to_json(), _render_run)


@segments_group.command("list")
@pass_app
def list_command(app: App) -> None:
    """Every segment, its definition, and its latest run."""
    emit(app, list_segments(app.store, load_settings(app.config)),
         lambda rows: table(rows, ["name", "members", "as_of", "definition"]))


def _render_show(data: dict[str, Any]) -> str:
    totals = ", ".join(str(m) for m in data["window_totals"].values()) or "nothing"
    out = [f"{data['name']}: {data['members']} members as of {data['as_of']}",
           f"given in the window: {totals}", "", "history:",
           table([{"as of": h["as_of"], "members": h["members"]} for h in data["history"]]), "", "sample:",
           table(data["sample"])]
    return "\n".join(out)


@segments_group.command("show")
@click.argument("name")
@click.option("--sample", default=10, show_default=True, help="How many members to show.")
@pass_app
def show_command(app: App, name: str, sample: int) -> None:
    """A segment's latest run: size, money given in the window, history and a sample."""
    emit(app, show_segment(app.store, load_settings(app.config), name, sample), _render_show)


@segments_group.command("export")
@click.argument("name")
@click.option("--csv", "csv_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (readable by you only).")
@pass_app
def export_command(app: App, name: str, csv_path: Path) -> None:
    """Write the members of a segment's latest run to a CSV file."""
    count = 0
    with open_private(csv_path) as fh:
        writer = csv.writer(fh)
        writer.writerow(EXPORT_COLUMNS)
        for row in export_rows(app.store, name):
            writer.writerow(row)
            count += 1
    emit(app, {"segment": name, "file": csv_path, "rows": count}, lambda d: f"{d['rows']} members written to "
         f"{d['file']}")


def _render_push(plan: PushPlan) -> str:
    head = f"{plan.segment} -> {plan.target} (run as of {plan.as_of}): add {len(plan.add)}, remove {len(plan.remove)}"
    if not plan.applied:
        sample = ", ".join(str(i) for i in plan.add[:10])
        gone = ", ".join(str(i) for i in plan.remove[:10])
        return "\n".join([head, f"  to add (contact ids): {sample or '-'}", f"  to remove: {gone or '-'}",
                          "dry run: nothing sent; run again with --apply to push"])
    assert plan.result is not None
    lines = [head, f"status {plan.result.status}: accepted {plan.result.counts.get('pushed', 0)}"]
    lines += [f"  error: {e}" for e in plan.result.errors[:20]]
    return "\n".join(lines)


@segments_group.command("push")
@click.argument("name")
@click.option("--to", "target", required=True, help="Connector holding the segment (mailchimp, civicrm).")
@click.option("--apply", is_flag=True, help="Send the changes (without it, only show them).")
@pass_app
def push_command(app: App, name: str, target: str, apply: bool) -> None:
    """Show (and with --apply send) who joins and leaves the segment at a target since the last push."""
    plan = push_segment(app, name, target, apply=apply)
    emit(app, plan, _render_push)
    if plan.result is not None and not plan.result.ok:
        raise click.exceptions.Exit(1)
