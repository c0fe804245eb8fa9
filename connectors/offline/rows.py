"""Reading tabular files: CSV (comma or semicolon, with or without a UTF-8 BOM) or JSON lines.

Every row comes back with its line number; a value is a string (or None when empty).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vwfund.errors import InputError

MAX_FIELD = 100_000


@dataclass(frozen=True)
class Row:
    """One input row: its line in the file and its values by column name."""

    line: int
    values: dict[str, str | None]


def _is_json_lines(path: Path, text: str) -> bool:
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        return True
    return path.suffix.lower() != ".csv" and text.lstrip().startswith("{")


def read_rows(path: Path) -> tuple[list[str], Iterator[Row]]:
    """Open a CSV or JSON-lines file; returns its column names and its rows."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8") from exc
    if "\x00" in text:
        raise InputError(f"{path}: contains NUL bytes; is it a spreadsheet file rather than CSV?")
    if not text.strip():
        raise InputError(f"{path}: the file is empty")
    if _is_json_lines(path, text):
        return _json_lines(path, text)
    return _csv_rows(path, text)


def _csv_rows(path: Path, text: str) -> tuple[list[str], Iterator[Row]]:
    header_line = text.splitlines()[0]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(f"{path}, line 1: malformed header ({exc})") from exc
    columns = [h.strip().lower() for h in header]
    duplicates = {c for c in columns if columns.count(c) > 1 and c}
    if duplicates:
        raise InputError(f"{path}, line 1: column named twice: {', '.join(sorted(duplicates))}")

    def rows() -> Iterator[Row]:
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(f"{path}, line {reader.line_num}: malformed CSV ({exc})") from exc
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                yield Row(line, {"__error__": f"has {len(record)} fields, the header has {len(columns)}"})
                continue
            yield Row(line, {c: (v.strip() or None) for c, v in zip(columns, record, strict=True)})

    return columns, rows()


def _text(value: object) -> str | None:
    """A JSON value as the text a CSV cell would hold (booleans as true/false, empty as None)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _json_lines(path: Path, text: str) -> tuple[list[str], Iterator[Row]]:
    parsed: list[Row] = []
    columns: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            parsed.append(Row(number, {"__error__": f"not valid JSON ({exc.msg}, column {exc.colno})"}))
            continue
        if not isinstance(obj, dict):
            parsed.append(Row(number, {"__error__": "each line must be a JSON object"}))
            continue
        values: dict[str, str | None] = {}
        columns.extend(k for k in (str(key).strip().lower() for key in obj) if k not in columns)
        for key, value in obj.items():
            k = str(key).strip().lower()
            if isinstance(value, float):
                parsed.append(Row(number, {"__error__": f'{k}: write amounts as strings ("12.50"), not numbers'}))
                break
            values[k] = _text(value)
        else:
            parsed.append(Row(number, values))
    return columns, iter(parsed)
