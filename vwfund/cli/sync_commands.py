"""``vwfund sync`` and ``vwfund push``: one connector, or the whole nightly run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

from vwfund import nightly
from vwfund.app import App
from vwfund.commandkit import emit, pass_app, progress, table, to_jsonable, write_private
from vwfund.sync import RunResult, run_status
from vwfund.timeutil import parse_instant


def render_results(results: Sequence[RunResult]) -> str:
    """A table of run results, with notes and errors underneath."""
    rows = [
        {
            "step": f"{r.direction} {r.stream}",
            "status": r.status,
            "counts": ", ".join(f"{k}={v}" for k, v in sorted(r.counts.items())) or "-",
        }
        for r in results
    ]
    lines = [table(rows, ["step", "status", "counts"])]
    for r in results:
        lines += [f"note ({r.stream}): {n}" for n in r.notes]
        lines += [f"error ({r.stream}): {e}" for e in r.errors]
    return "\n".join(lines)


def _exit_for(results: Sequence[RunResult]) -> None:
    if any(not r.ok for r in results):
        raise SystemExit(1)


class ConnectorGroup(click.Group):
    """A group whose subcommands are the installed connectors (plus fixed ones such as ``status``)."""

    def __init__(self, *args: object, direction: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.direction = direction

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Fixed subcommands and one per connector."""
        app = ctx.find_object(App)
        names = list(app.connectors) if app is not None else []
        return sorted(set(super().list_commands(ctx)) | set(names))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A fixed subcommand, or a generated one for a connector."""
        fixed = super().get_command(ctx, cmd_name)
        if fixed is not None:
            return fixed
        return _pull_command(cmd_name) if self.direction == "pull" else _push_command(cmd_name)


def _pull_command(name: str) -> click.Command:
    @click.command(name=name, help=f"Pull from {name} into the store (incremental; --full re-reads everything).")
    @click.option("--full", is_flag=True, help="Ignore the saved cursors and read everything again.")
    @click.option("--since", metavar="DATE", help="Re-read objects created since DATE (YYYY-MM-DD).")
    @pass_app
    def command(app: App, full: bool, since: str | None) -> None:
        since_at = parse_instant(since, app.config.timezone) if since else None
        with progress(app, f"sync {name}") as advance:
            results = nightly.pull(app, name, full=full, since=since_at, progress=advance)
        emit(app, results, render_results)
        _exit_for(results)

    return command


def _push_command(name: str) -> click.Command:
    @click.command(name=name, help=f"Push from the store to {name} (only what changed since the last push).")
    @pass_app
    def command(app: App) -> None:
        with progress(app, f"push {name}") as advance:
            results = nightly.push(app, name, progress=advance)
        emit(app, results, render_results)
        _exit_for(results)

    return command


@click.group(cls=ConnectorGroup, direction="pull", invoke_without_command=True)
@click.option(
    "--report", type=click.Path(dir_okay=False, path_type=Path), help="Also write the summary as JSON to FILE."
)
@click.pass_context
def sync(ctx: click.Context, report: Path | None) -> None:
    """Pull from outside systems: `vwfund sync NAME` for one, `vwfund sync` alone for the nightly run.

    The nightly run pulls from every configured connector, then runs each campaign job's nightly step
    (segments), then pushes to every configured connector, prints one summary and exits 1 if any step failed.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(App)
    assert app is not None
    with progress(app, "nightly sync") as advance:
        summary = nightly.run_nightly(app, progress=advance)
    if report is not None:
        write_private(report, json.dumps(to_jsonable(summary), indent=2))
    emit(app, summary, lambda s: render_results(s.steps) + "".join(f"\nskipped {x}" for x in s.skipped))
    if not summary.ok:
        raise SystemExit(1)


@sync.command("status")
@pass_app
def sync_status(app: App) -> None:
    """Show the last run of every stream and push: when, how it ended, what it counted."""
    rows = run_status(app.store)
    emit(
        app,
        rows,
        lambda rs: table(
            [{**r, "counts": ", ".join(f"{k}={v}" for k, v in sorted(r["counts"].items()))} for r in rs],
            ["direction", "stream", "status", "started_at", "finished_at", "counts", "error"],
        ),
    )


@click.group(cls=ConnectorGroup, direction="push")
def push() -> None:
    """Push from the store to an outside system: `vwfund push NAME`."""


def register(cli: click.Group) -> None:
    """Add ``sync`` and ``push`` to the root group."""
    cli.add_command(sync)
    cli.add_command(push)
