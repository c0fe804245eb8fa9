"""Importing offline gifts and contacts: every bad row named, nothing partial, re-imports change nothing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from vwfund.store.schema import consents, contacts, donations

HEADER = "external_id;email;first_name;last_name;amount;currency;received_at;status;refunded_amount;fee;campaign;team;walker;channel;anonymous;message"


def write(path: Path, text: str, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def count(app, table) -> int:
    with app.store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_semicolon_bom_export_with_dutch_amounts_is_imported_exactly(cli, tmp_path):
    f = write(
        tmp_path / "kas.csv",
        "\n".join(
            [
                HEADER,
                ";Jan@Voorbeeld.NL;Jan;Jansen;12,50;EUR;31-12-2024;succeeded;;;walk24;team-a;;cash;nee;Succes!",
                ";;;;1.234,56;EUR;2024-12-31T23:30;succeeded;;;walk24;team-a;;cash;ja;",
                "x-9;jan@voorbeeld.nl;;;20.00;EUR;2025-01-02;partially_refunded;5,00;0,35;walk24;;w-1;bank;no;",
            ]
        ),
        bom=True,
    )
    out = cli("--json", "import", "donations", str(f))
    assert json.loads(out.stdout)["rows"] == 3
    with cli.app.store.read() as conn:
        rows = {r.external_id: r for r in conn.execute(select(donations))}
    assert count(cli.app, contacts) == 1  # same email, one contact
    assert sorted(r.amount_minor for r in rows.values()) == [1250, 2000, 123456]
    assert rows["x-9"].refunded_minor == 500 and rows["x-9"].fee_minor == 35
    anonymous = [r for r in rows.values() if r.anonymous]
    assert len(anonymous) == 1 and anonymous[0].contact_id is None


def test_same_file_twice_changes_nothing_even_without_external_ids(cli, tmp_path):
    line = ";a@b.nl;;;10,00;EUR;2024-05-01;succeeded;;;c;;;cash;no;"
    f = write(tmp_path / "g.csv", "\n".join([HEADER, line, line]))  # two identical cash gifts are two gifts
    cli("import", "donations", str(f))
    cli("import", "donations", str(f))
    assert count(cli.app, donations) == 2


def test_bad_rows_are_named_by_line_and_column_and_nothing_is_saved(cli, tmp_path):
    f = write(
        tmp_path / "bad.csv",
        "\n".join(
            [
                "email,amount,currency,received_at",
                "a@b.nl,10.00,EUR,2024-01-01",
                "a@b.nl,1.234,EUR,2024-01-01",
                "a@b.nl,10.00,XXX,2024-01-01",
                "not-an-email,10.00,EUR,2024-01-01",
                "a@b.nl,10.00,EUR,31/02/2024",
            ]
        ),
    )
    result = cli("import", "donations", str(f), expect=1)
    assert "line 3, column amount: ambiguous amount" in result.output
    assert "line 4, column currency: unknown currency 'XXX'" in result.output
    assert "line 5, column email" in result.output
    assert "line 6, column received_at" in result.output
    assert "Traceback" not in result.output
    assert count(cli.app, donations) == 0 and count(cli.app, contacts) == 0


def test_unknown_column_is_refused_with_a_suggestion(cli, tmp_path):
    f = write(tmp_path / "typo.csv", "email,amout,currency,received_at\na@b.nl,1,EUR,2024-01-01\n")
    result = cli("import", "donations", str(f), expect=1)
    assert "unknown column 'amout' (did you mean 'amount'?)" in result.output


def test_json_lines_refuse_float_amounts(cli, tmp_path):
    f = write(tmp_path / "g.jsonl", json.dumps({"amount": 12.5, "currency": "EUR", "received_at": "2024-01-01"}) + "\n")
    result = cli("import", "donations", str(f), expect=1)
    assert "line 1" in result.output and "not numbers" in result.output
    ok = write(
        tmp_path / "ok.jsonl", json.dumps({"amount": "12.50", "currency": "JPY", "received_at": "2024-01-01"}) + "\n"
    )
    assert "more decimals than JPY allows" in cli("import", "donations", str(ok), expect=1).output


def test_contacts_import_keeps_consent_evidence(cli, tmp_path):
    f = write(
        tmp_path / "c.csv",
        "email,first_name,consent_email,consent_at,consent_source\n"
        "a@b.nl,An,yes,2024-03-01,stand at the walk: paper form 17\n",
    )
    cli("import", "contacts", str(f))
    with cli.app.store.read() as conn:
        row = conn.execute(select(consents)).one()
    assert row.granted and row.evidence == "stand at the walk: paper form 17" and row.contact_id is not None
    missing = write(tmp_path / "m.csv", "email,consent_email,consent_at\nb@b.nl,yes,2024-03-01\n")
    assert "consent needs its evidence" in cli("import", "contacts", str(missing), expect=1).output
