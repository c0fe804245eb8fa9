"""The command line: every command explains itself, is in the README, and fails with one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import command_paths

from vwfund.cli.main import build_cli

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_command_has_help_and_a_readme_mention():
    readme = README.read_text(encoding="utf-8")
    missing_help, missing_doc = [], []
    for path, command in command_paths(build_cli()):
        if not (command.help or command.short_help):
            missing_help.append(path)
        if path not in readme:
            missing_doc.append(path)
    assert not missing_help, f"commands without help: {missing_help}"
    assert not missing_doc, f"commands the README does not mention: {missing_doc}"


def test_plugins_lists_the_builtins_and_no_failures(cli):
    data = json.loads(cli("--json", "plugins").stdout)
    loaded = {p["name"]: p["status"] for p in data["plugins"]}
    assert loaded.get("offline") == "loaded"
    assert not [name for name, status in loaded.items() if status != "loaded"], loaded


def test_usage_errors_exit_2_and_user_errors_exit_1_without_traceback(cli, tmp_path):
    assert cli("donations", "list", "--status", "nonsense", expect=2).exit_code == 2
    out = cli("import", "donations", str(tmp_path / "absent.csv"), expect=2).output
    assert "does not exist" in out
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = cli("import", "donations", str(empty), expect=1)
    assert result.output.startswith("Error: ") and "empty" in result.output and "Traceback" not in result.output


def test_donations_list_json_gives_every_row_and_text_gives_a_table(cli, tmp_path):
    lines = ["email,amount,currency,received_at,campaign"] + [
        f"d{i}@example.org,{i}.00,EUR,2024-01-{i:02d},spring" for i in range(1, 21)
    ]
    f = tmp_path / "g.csv"
    f.write_text("\n".join(lines))
    cli("import", "donations", str(f))
    rows = json.loads(cli("--json", "donations", "list", "--campaign", "spring").stdout)
    assert len(rows) == 20 and rows[0]["amount_minor"] == 2000  # newest first
    text = cli("donations", "list", "--limit", "3").stdout
    assert "20,00" in text and text.count("offline") == 3


def test_contacts_conflicts_and_link_through_the_cli(cli, tmp_path):
    from vwfund.models import Contact
    from vwfund.store.records import save_records

    with cli.app.store.begin() as conn:
        save_records(conn, [Contact(source="civicrm", external_id="1", email="x@example.org"),
                            Contact(source="civicrm", external_id="2", email="x@example.org")])
    conflicts = json.loads(cli("--json", "contacts", "conflicts").stdout)
    assert len(conflicts) == 1
    conflict = conflicts[0]
    result = cli("contacts", "link", str(conflict["id"]), "999", expect=1)
    assert "not a candidate" in result.output
    cli("contacts", "link", str(conflict["id"]), str(conflict["candidate_ids"][0]))
    assert json.loads(cli("--json", "contacts", "conflicts").stdout) == []


def test_sync_of_an_unknown_connector_names_the_installed_ones(cli):
    result = cli("sync", "nosuch", expect=1)
    assert "no connector named 'nosuch'" in result.output and "offline" in result.output


def test_nightly_sync_with_nothing_configured_reports_and_writes_json(cli, tmp_path):
    report = tmp_path / "report.json"
    cli("sync", "--report", str(report))
    data = json.loads(report.read_text())
    assert data["ok"] is True and any("offline" in s for s in data["skipped"])
    assert report.stat().st_mode & 0o077 == 0


def test_doctor_reports_the_store(cli):
    out = cli("doctor", expect=None).stdout
    assert "ok   store:" in out


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"], ["import", "donations", "--help"]])
def test_help_runs(cli, args):
    assert "Usage:" in cli(*args).stdout

