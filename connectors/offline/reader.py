"""Public functions: read an offline file into checked records (nothing is saved here)."""

from __future__ import annotations

from pathlib import Path

from vwfund.connectors.offline.parse import (
    CONTACT_COLUMNS,
    DONATION_COLUMNS,
    Parsed,
    check_columns,
    contact_rows,
    donation_rows,
    parse_rows,
)
from vwfund.connectors.offline.rows import read_rows
from vwfund.errors import InputError

KINDS = {
    "donations": (DONATION_COLUMNS, ("amount", "currency", "received_at"), donation_rows),
    "contacts": (CONTACT_COLUMNS, ("email",), contact_rows),
}


def read_file(path: Path, kind: str, tz: str) -> Parsed:
    """Read and check a donations or contacts file; raise InputError naming every bad place."""
    allowed, required, convert = KINDS[kind]
    columns, rows = read_rows(path)
    check_columns(str(path), columns, allowed, required)
    parsed = parse_rows(str(path), rows, convert, tz)
    if parsed.problems:
        count = len(parsed.problems)
        raise InputError(
            f"{path}: nothing was imported; fix these rows and run the import again ({count} shown):", parsed.problems
        )
    if parsed.rows == 0:
        raise InputError(f"{path}: no rows under the header")
    return parsed
