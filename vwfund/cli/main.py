"""``vwfund``: the root command, global options, error handling and plugin commands."""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import click

from vwfund import __version__
from vwfund.app import App
from vwfund.cli import core_commands, data_commands, sync_commands
from vwfund.config import load_config
from vwfund.errors import VwfundError
from vwfund.plugins import Plugins, load_plugins
from vwfund.secrets import install_log_redaction, redact

EPILOG = "Run `vwfund COMMAND --help` for a command's options. Try `vwfund demo` first: it needs no accounts."


class VwfundGroup(click.Group):
    """A group that turns our errors into one clear line (exit 1) and hides tracebacks unless -v."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; report failures without a traceback and without secrets."""
        try:
            return super().invoke(ctx)
        except VwfundError as exc:
            problems = getattr(exc, "problems", [])
            raise click.ClickException(redact("\n".join([str(exc), *problems]))) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            app = ctx.find_object(App)
            if app is not None and app.verbose:
                click.echo(redact(traceback.format_exc()), err=True)
            raise click.ClickException(
                redact(f"internal error ({type(exc).__name__}): {exc}. Run with -v for details.")
            ) from None


@click.group(cls=VwfundGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", "db_url", metavar="URL", help="Store URL (default: VWFUND_DB, [store] url, or the embedded SQLite file)."
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    help="Config file (default: VWFUND_CONFIG, then the user's config directory).",
)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
@click.option("-v", "--verbose", count=True, help="More detail in logs (-vv for debug).")
@click.version_option(__version__, prog_name="vwfund")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, config_path: str | None, json_output: bool, verbose: int) -> None:
    """vwfund: supporter data for the fundraising team.

    Pulls gifts and contacts from Stripe, Mailchimp, CiviCRM and CSV files into one store, and runs the
    fundraising jobs on it: donor segments, the sponsored walk's team pages, crowdfunding totals and the
    GDPR clean-up.
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    install_log_redaction()
    if ctx.obj is None:
        try:
            config = load_config(config_path)
        except VwfundError as exc:
            raise click.ClickException(redact(str(exc))) from None
        ctx.obj = App(
            config,
            db_url,
            _loaded.get("plugins"),
            json_output=json_output,
            verbose=verbose,
            interactive=sys.stdout.isatty(),
        )
    else:  # an App given by the caller (tests, embedding): this invocation's options apply
        ctx.obj.json_output = json_output
        ctx.obj.verbose = verbose
    ctx.call_on_close(ctx.obj.close)


for module in (core_commands, data_commands, sync_commands):
    module.register(cli)


_loaded: dict[str, Plugins] = {}


def build_cli() -> click.Group:
    """The root group with every plugin's commands added (plugins load once per process)."""
    if "plugins" not in _loaded:
        plugins = load_plugins()
        plugins.hook.register_commands(cli=cli)
        _loaded["plugins"] = plugins
    return cli


def main() -> None:
    """Console-script entry point."""
    build_cli().main(prog_name="vwfund")
