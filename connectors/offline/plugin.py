"""The offline-gifts plugin: registers the connector and the ``vwfund import`` commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from vwfund.app import App
from vwfund.commandkit import emit, pass_app, progress
from vwfund.config import Config
from vwfund.connector import Connector
from vwfund.connectors.offline.reader import read_file
from vwfund.importing import save_import
from vwfund.plugins import hookimpl


class OfflineConnector(Connector):
    """Files of gifts and contacts kept outside any system: nothing to pull or push on a schedule."""

    name = "offline"
    title = "Offline gifts and contacts (CSV or JSON lines, via `vwfund import`)"
    order = 90

    def is_configured(self, config: Config) -> bool:
        """Imports run by hand; the nightly run has nothing to do here."""
        return False


@click.group("import")
def import_group() -> None:
    """Import offline gifts or contacts from a CSV or JSON-lines file.

    CSV may be comma or semicolon delimited, with or without a UTF-8 BOM (spreadsheet exports). Every bad
    row is reported with its line and column, and then nothing of the file is saved. Importing the same
    file twice changes nothing.
    """


def _import(kind: str) -> Callable[..., None]:
    @pass_app
    def command(app: App, file: Path) -> None:
        parsed = read_file(file, kind, app.config.timezone)
        with progress(app, f"importing {kind}", len(parsed.records)) as advance:
            result = save_import(app.store, str(file), parsed.rows, parsed.records, advance)
        emit(
            app,
            result,
            lambda r: (
                f"{r.path}: {r.rows} rows imported (" + ", ".join(f"{k} {v}" for k, v in sorted(r.counts.items())) + ")"
            ),
        )

    return command


import_group.command(
    "donations",
    help="""Import gifts from FILE (cash at the walk, bank transfers, exports).

Columns: external_id, email, first_name, last_name, amount, currency, received_at, status, refunded_amount,
fee, campaign, team, walker, channel, anonymous, message, display_name, recurring_plan. Required: amount,
currency, received_at. Amounts as 12.50 or 12,50; dates as YYYY-MM-DD or DD-MM-YYYY.""",
)(click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))(_import("donations")))
import_group.command(
    "contacts",
    help="""Import contacts from FILE.

Columns: external_id, email, first_name, last_name, language, street, postcode, city, country, phone,
consent_email, consent_at, consent_source. Required: email. A consent needs its date and source.""",
)(click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))(_import("contacts")))


@hookimpl
def register_connectors(register: Callable[[Connector], None]) -> None:
    """Register the offline connector."""
    register(OfflineConnector())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``vwfund import``."""
    cli.add_command(import_group)
