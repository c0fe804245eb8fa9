"""Exports: readable by their owner only; spreadsheet formulas neutralised."""

from __future__ import annotations

import csv
import json

from vwfund.exports import safe_cell, write_csv, write_json
from vwfund.money import Money


def test_csv_is_owner_only_and_formulas_do_not_run(tmp_path):
    path = tmp_path / "out" / "segment.csv"
    rows = [{"name": "=HYPERLINK(\"http://evil\")", "note": "+31 6 1234", "amount": Money(1250, "EUR")},
            {"name": "@SUM(A1)", "note": "-2", "amount": None}, {"name": "Anna", "note": "ok", "amount": None}]
    assert write_csv(path, rows, ["name", "note", "amount"]) == 3
    assert path.stat().st_mode & 0o077 == 0
    read = list(csv.reader(path.open(encoding="utf-8")))
    assert [r[0] for r in read[1:]] == ["'=HYPERLINK(\"http://evil\")", "'@SUM(A1)", "Anna"]
    assert read[1][1] == "'+31 6 1234" and read[2][1] == "'-2"


def test_json_export_keeps_amounts_exact(tmp_path):
    path = write_json(tmp_path / "x.json", {"raised": Money(75395900, "EUR")})
    assert json.loads(path.read_text())["raised"] == {"amount": "753959.00", "minor": 75395900, "currency": "EUR"}
    assert path.stat().st_mode & 0o077 == 0
    assert safe_cell(None) == ""
