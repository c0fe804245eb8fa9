"""The plan files the steward reviews: CSV and JSON, owner-only; edited by removing rows or marking keep.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return) are
written with a leading apostrophe, which reading removes again.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vwfund.campaigns.gdpr.planning import Plan
from vwfund.campaigns.gdpr.rules import ACTION_WORDS, ACTIONS
from vwfund.commandkit import open_private, to_jsonable, write_private
from vwfund.errors import InputError

CSV_COLUMNS = ("plan_id", "row", "contact_id", "email", "action", "action_words", "rules", "reason",
               "last_gift", "last_click", "last_consent", "digest")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Make a CSV cell safe to open in a spreadsheet (no formula runs)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def unneutralise(cell: str) -> str:
    """Undo :func:`neutralise`."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def plan_paths(out: Path) -> tuple[Path, Path]:
    """The CSV and JSON paths for ``--out`` (its suffix, if .csv or .json, is replaced)."""
    base = out.with_suffix("") if out.suffix.lower() in {".csv", ".json"} else out
    return base.with_name(base.name + ".csv"), base.with_name(base.name + ".json")


def _file_rows(plan: Plan) -> Iterator[dict[str, Any]]:
    for r in plan.rows:
        yield {
            "plan_id": plan.id, "row": r.row, "contact_id": r.contact_id, "email": r.email or "",
            "action": r.action, "action_words": ACTION_WORDS[r.action], "rules": " ".join(r.rules),
            "reason": r.reason, "last_gift": r.facts.get("last_gift") or "",
            "last_click": r.facts.get("last_click") or "", "last_consent": r.facts.get("last_consent") or "",
            "digest": r.digest,
        }


def write_plan_files(plan: Plan, out: Path) -> tuple[Path, Path]:
    """Write the plan as CSV and JSON, readable by the owner only; returns both paths."""
    csv_path, json_path = plan_paths(out)
    rows = list(_file_rows(plan))  # plain text and numbers only
    with open_private(csv_path) as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([neutralise(str(row[c])) for c in CSV_COLUMNS] for row in rows)
    document = to_jsonable({
        "plan_id": plan.id, "created_at": plan.created_at, "as_of": plan.as_of, "actor": plan.actor,
        "policy": plan.policy, "counts": plan.counts(),
        "how_to_review": "remove rows, or set a row's action to \"keep\"; then `vwfund gdpr apply` this file",
    })
    document["rows"] = rows
    write_private(json_path, json.dumps(document, indent=1, ensure_ascii=False))
    return csv_path, json_path


@dataclass(frozen=True)
class FileRow:
    """A row as the steward left it: row number, contact, action (the planned one or keep), digest."""

    row: int
    contact_id: int
    action: str
    digest: str
    where: str


def _parse_row(raw: dict[str, Any], where: str, plan_id: str | None) -> tuple[str, FileRow]:
    def field_(name: str) -> str:
        value = raw.get(name)
        if value is None or str(value).strip() == "":
            raise InputError(f"{where}: {name} is missing")
        return str(value).strip()

    row_plan = field_("plan_id") if plan_id is None else str(raw.get("plan_id") or plan_id).strip()
    try:
        row, contact_id = int(field_("row")), int(field_("contact_id"))
    except ValueError as exc:
        raise InputError(f"{where}: row and contact_id must be whole numbers") from exc
    action = field_("action").lower()
    if action not in ACTIONS:
        raise InputError(f"{where}: action {action!r} is not one of {', '.join(ACTIONS)}")
    return row_plan, FileRow(row, contact_id, action, field_("digest"), where)


def read_plan_file(path: Path) -> tuple[str, list[FileRow]]:
    """Read a reviewed plan (CSV or JSON): its id and rows; a malformed file names the line or row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read plan {path}: {exc.strerror}") from exc
    parsed: list[tuple[str, FileRow]] = []
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
            plan_id, raw_rows = str(document["plan_id"]), document["rows"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a plan file written by `vwfund gdpr plan`") from exc
        for i, raw in enumerate(raw_rows, 1):
            if not isinstance(raw, dict):
                raise InputError(f"{path}, rows[{i}]: not an object")
            parsed.append(_parse_row(raw, f"{path}, rows[{i}]", plan_id))
    else:
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in ("plan_id", "row", "contact_id", "action", "digest") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: not a plan file written by `vwfund gdpr plan` (missing {', '.join(missing)})")
        for raw in reader:
            clean = {k: unneutralise(v or "") for k, v in raw.items() if k is not None}
            parsed.append(_parse_row(clean, f"{path}, line {reader.line_num}", None))
    plan_ids = {p for p, _ in parsed}
    if len(plan_ids) > 1:
        raise InputError(f"{path}: rows of several plans ({', '.join(sorted(plan_ids))}); apply one plan at a time")
    if not parsed:
        if path.suffix.lower() == ".json":
            return plan_id, []
        raise InputError(f"{path}: the plan has no rows left")
    seen: set[int] = set()
    for _, r in parsed:
        if r.row in seen:
            raise InputError(f"{r.where}: row {r.row} appears twice")
        seen.add(r.row)
    return parsed[0][0], [r for _, r in parsed]
