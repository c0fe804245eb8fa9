"""Commands about vwfund itself: config, db, plugins, doctor, serve, demo."""

from __future__ import annotations

from pathlib import Path

import click

from vwfund.app import App
from vwfund.commandkit import emit, pass_app, table
from vwfund.doctor import run_checks
from vwfund.store import migrate
from vwfund.store.database import create_store_engine, describe_url


@click.group("config")
def config_group() -> None:
    """Show the configuration vwfund would use."""


@config_group.command("show")
@pass_app
def config_show(app: App) -> None:
    """Print every setting with secrets masked, and where the file is."""
    data = {
        "file": str(app.config.path) if app.config.path else None,
        "store": describe_url(app.db_url),
        "settings": app.config.masked(),
    }

    def render(d: dict[str, object]) -> str:
        lines = [f"config file: {d['file'] or '(none: defaults and VWFUND_* variables)'}", f"store: {d['store']}"]
        for section, values in app.config.masked().items():
            lines.append(f"[{section}]")
            lines += [f"  {k} = {v}" for k, v in values.items()]
        return "\n".join(lines)

    emit(app, data, render)


@click.group("db")
def db_group() -> None:
    """The store's schema: show its revision, or upgrade it."""


@db_group.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Migrate the store to this vwfund's schema (the only way a PostgreSQL store is migrated)."""
    engine = create_store_engine(app.db_url)
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine)
        after = migrate.current_revision(engine)
    finally:
        engine.dispose()
    emit(
        app,
        {"store": describe_url(app.db_url), "from": before, "to": after},
        lambda d: f"{d['store']}: schema {d['from'] or 'empty'} -> {d['to']}",
    )


@db_group.command("current")
@pass_app
def db_current(app: App) -> None:
    """Show the store's schema revision and the one this vwfund needs."""
    engine = create_store_engine(app.db_url)
    try:
        data = {
            "store": describe_url(app.db_url),
            "current": migrate.current_revision(engine),
            "head": migrate.head_revision(),
        }
    finally:
        engine.dispose()
    emit(app, data, lambda d: f"{d['store']}: schema {d['current'] or 'empty'} (this vwfund: {d['head']})")


@click.command("plugins")
@pass_app
def plugins_command(app: App) -> None:
    """List loaded plugins, their connectors and campaign jobs, and any that failed to load."""
    data = {
        "plugins": app.plugins.describe(),
        "connectors": [
            {"name": c.name, "title": c.title, "configured": c.is_configured(app.config)}
            for c in app.connectors.values()
        ],
        "campaigns": [{"name": j.name, "title": j.title} for j in app.campaigns.values()],
    }
    emit(app, data, lambda d: "\n\n".join([table(d["plugins"]), table(d["connectors"]), table(d["campaigns"])]))


@click.command("doctor")
@pass_app
def doctor_command(app: App) -> None:
    """Check the store and every configured connector with one cheap call each, and say what to fix."""
    checks = run_checks(app)
    emit(app, checks, lambda cs: "\n".join(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in cs))
    if not all(c.ok for c in checks):
        raise SystemExit(1)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@pass_app
def serve_command(app: App, host: str, port: int, threads: int) -> None:
    """Serve webhooks, live team pages and JSON feeds (what each plugin mounts) with waitress."""
    from vwfund.web import serve

    app.store  # noqa: B018 - open (and migrate) before the first request
    click.echo(f"vwfund serving on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    serve(app, host, port, threads)


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Where the demo writes its store, pages and charts.",
)
@click.option(
    "--scale",
    type=click.FloatRange(0.01, 10.0),
    default=0.1,
    show_default=True,
    help="Size of the donor history: 1.0 is the organisation's real size (87,100 donors a year).",
)
@click.option("--seed", type=int, default=2024, show_default=True, help="Seed of the synthetic organisation.")
@click.option("--fresh", is_flag=True, help="Rebuild the demo store even when one exists.")
@pass_app
def demo_command(app: App, out_dir: Path, scale: float, seed: int, fresh: bool) -> None:
    """Run the main jobs on a synthetic organisation: no accounts, no network.

    Creates (or reuses) a demo store in OUT, fills it with a deterministic organisation shaped like the
    real one (donors over several years, monthly donors, refunds and a dispute, the sponsored walk at its
    real size, a crowdfunding campaign, a newsletter audience), runs every campaign job and prints a report.
    """
    from vwfund.demo.run import render_report, run_demo

    report = run_demo(app, out_dir=out_dir, scale=scale, seed=seed, fresh=fresh)
    emit(app, report, render_report)


def register(cli: click.Group) -> None:
    """Add these commands to the root group."""
    for command in (config_group, db_group, plugins_command, doctor_command, serve_command, demo_command):
        cli.add_command(command)
