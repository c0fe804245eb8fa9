"""Exports of personal data: owner-only files, and CSV cells a spreadsheet will not run as formulas."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from vwfund.commandkit import open_private, to_jsonable, write_private

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """Text for a CSV cell; one a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(to_jsonable(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> int:
    """Write rows as CSV (owner-only, formula cells neutralised); returns the number of rows."""
    count = 0
    with open_private(path) as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([safe_cell(row.get(c)) for c in columns])
            count += 1
    return count


def write_json(path: Path, data: Any) -> Path:
    """Write JSON (owner-only), amounts as exact strings."""
    return write_private(path, json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))
