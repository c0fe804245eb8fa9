"""`vwfund crowdfunding ...` and the JSON feed: one status, the same everywhere."""

from __future__ import annotations

import json
import struct
from datetime import UTC, date, datetime

from conftest import Cli, make_app
from werkzeug.test import Client

from vwfund.app import App
from vwfund.campaigns.crowdfunding import plugin as crowdfunding_plugin
from vwfund.campaigns.crowdfunding.feed import make_feed_app
from vwfund.models import Donation
from vwfund.money import Money
from vwfund.plugins import load_plugins
from vwfund.sync import apply_records
from vwfund.web import build_wsgi_app

CODE = "famreunion"
EVIL_NAME = 'Samen <script>alert("x")</script> & thuis'


def eur(minor: int) -> str:
    return Money(minor, "EUR").format("nl_NL")


def create(cli, *extra: str, code: str = CODE, expect: int = 0):
    return cli("crowdfunding", "create", code, "--name", EVIL_NAME, "--goal", "1000", "--currency", "EUR",
               "--start", "2020-01-01", "--end", "2099-12-31", *extra, expect=expect)


def give(app, ext: str, amount: int, **kw) -> None:
    apply_records(app.store, [Donation(source=kw.pop("source", "stripe"), external_id=ext, amount_minor=amount,
                                       currency="EUR", status=kw.pop("status", "succeeded"),
                                       received_at=datetime(2024, 5, 1, 12, tzinfo=UTC), campaign=CODE, **kw)])


def test_create_then_status_shows_the_exact_total(cli):
    out = create(cli, "--match-cap", "250", "--channel", "stripe", "--channel", "offline").output
    assert "campaign famreunion saved: goal 1000.00 EUR" in out
    give(cli.app, "ch_1", 12_550, fee_minor=205)
    give(cli.app, "cash_1", 7_525, source="offline", channel="offline")
    out = cli("crowdfunding", "status", CODE).output
    # donors 125.50 + 75.25 = 200.75; doubled (cap 250) -> 200.75 matched; total 401.50 of 1000 = 40.1%
    assert f"{eur(40_150)} of {eur(100_000)} (40.1% of goal)" in out
    assert f"net          {eur(19_870)} after fees {eur(205)}" in out
    assert "running" in out and "gifts        2 from 2 donors" in out
    assert "channel offline" in out and "channel stripe" in out
    assert "      1 gift  " in out and "1 gifts" not in out and "2024-05-01       2 gifts" in out


def test_status_json_is_what_the_feed_serves(cli):
    create(cli, "--match-milestone", "100:50")
    give(cli.app, "ch_1", 10_000)
    from_cli = json.loads(cli("crowdfunding", "status", CODE, "--json").output)
    assert json.loads(cli("--json", "crowdfunding", "status", CODE).output)["total"] == from_cli["total"]
    response = Client(make_feed_app(cli.app)).get(f"/{CODE}.json")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    from_feed = response.get_json()
    for data in (from_cli, from_feed):
        data.pop("as_of"), data.pop("days_left"), data.pop("projection"), data.pop("by_day")
    assert from_cli == from_feed
    assert from_feed["total"] == {"amount": "150.00", "minor": 15_000, "currency": "EUR"}
    assert from_feed["matched"]["milestones"][0]["reached"] is True


def test_feed_is_mounted_under_crowdfunding_by_vwfund_serve(cli):
    create(cli)
    give(cli.app, "ch_1", 999)
    only_this_plugin = load_plugins(only_distribution="-", extra=[crowdfunding_plugin])
    client = Client(build_wsgi_app(App(cli.app.config, db_url=cli.app.store.url, plugins=only_this_plugin)))
    assert client.get(f"/crowdfunding/{CODE}.json").get_json()["raised"]["minor"] == 999
    svg = client.get(f"/crowdfunding/{CODE}.svg")
    assert svg.mimetype == "image/svg+xml" and eur(999) in svg.get_data(as_text=True)
    assert client.get("/crowdfunding/nope.json").status_code == 404
    assert client.post(f"/crowdfunding/{CODE}.json").status_code == 405
    assert client.get("/crowdfunding/../etc/passwd").status_code == 404


def test_thermometer_svg_is_accessible_and_escapes_the_name(cli, tmp_path):
    create(cli)
    give(cli.app, "ch_1", 25_000)
    svg_file = tmp_path / "thermo.svg"
    cli("crowdfunding", "thermometer", CODE, "--svg", str(svg_file))
    svg = svg_file.read_text()
    assert svg.startswith("<svg") and 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp; thuis" in svg
    assert eur(25_000) in svg and "25.0%" in svg
    import xml.etree.ElementTree as ET

    ET.fromstring(svg)  # well-formed


def test_chart_writes_a_png(cli, tmp_path):
    create(cli, "--match-cap", "100")
    give(cli.app, "ch_1", 25_000)
    png = tmp_path / "chart.png"
    cli("crowdfunding", "chart", CODE, "--png", str(png))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (800, 450)


def test_bad_input_is_one_clear_line_and_saves_nothing(cli):
    result = cli("crowdfunding", "create", CODE, "--name", "X", "--goal", "1.000", "--start", "2025-06-01",
                 "--end", "2025-06-30", expect=1)
    assert "--goal: ambiguous amount" in result.output and "Traceback" not in result.output
    result = cli("crowdfunding", "status", CODE, expect=1)
    assert f"no campaign '{CODE}'" in result.output
    create(cli)
    assert "--replace" in create(cli, expect=1).output
    assert CODE in cli("crowdfunding", "list").output


def config_cli(sqlite_store, builtin_plugins, table: dict) -> Cli:
    return Cli(make_app(sqlite_store, builtin_plugins, {"crowdfunding": {CODE: table}}))


def test_a_campaign_can_be_defined_in_the_config_file(sqlite_store, builtin_plugins):
    cli = config_cli(sqlite_store, builtin_plugins, {
        "name": "Samen thuis", "goal": 90000, "start": date(2025, 3, 1), "end": "2025-05-31",
        "match_cap": "10000", "match_milestones": ["50000:5000"], "channels": ["stripe", "offline"]})
    cli("crowdfunding", "load", CODE)
    data = json.loads(cli("--json", "crowdfunding", "status", CODE).output)
    assert data["goal"]["minor"] == 9_000_000 and data["matched"]["cap"]["minor"] == 1_000_000
    assert data["matched"]["milestones"][0]["sum"]["minor"] == 500_000
    assert [c["channel"] for c in data["by_channel"]] == ["offline", "stripe"]
    assert data["starts_at"] == "2025-02-28T23:00:00+00:00" and data["ends_at"] == "2025-05-31T22:00:00+00:00"


def test_a_bad_config_table_names_the_table_and_key(sqlite_store, builtin_plugins):
    cli = config_cli(sqlite_store, builtin_plugins, {"name": "X", "goal": "1.000", "start": "2025-03-01",
                                                      "end": "2025-05-31"})
    assert f"[crowdfunding.{CODE}]: goal: ambiguous amount" in cli("crowdfunding", "load", CODE, expect=1).output
    cli = config_cli(sqlite_store, builtin_plugins, {"name": "X", "goal": 1000.5, "start": "2025-03-01",
                                                      "end": "2025-05-31", "colour": "red"})
    assert "unknown key(s) colour" in cli("crowdfunding", "load", CODE, expect=1).output
    assert "is not in the config file" in cli("crowdfunding", "load", "other", expect=1).output
    assert f"no campaign '{CODE}'" in cli("crowdfunding", "status", CODE, expect=1).output


def test_offline_import_and_stripe_gifts_make_one_total_by_channel(cli, tmp_path):
    create(cli, "--match-cap", "100", "--channel", "stripe", "--channel", "cash")
    give(cli.app, "ch_1", 5_000, fee_minor=100)
    give(cli.app, "ch_2", 2_500, status="partially_refunded", refunded_minor=500, fee_minor=63)
    rows = [
        "external_id;email;amount;currency;received_at;status;refunded_amount;campaign;channel",
        f"kas-1;an@example.org;12,50;EUR;2024-05-02;succeeded;;{CODE};cash",
        f"kas-2;;1.234,56;EUR;2024-05-02;succeeded;;{CODE};cash",
        f"bank-1;bo@example.org;40,00;EUR;2024-05-03;succeeded;;{CODE};bank_transfer",
        f"kas-3;;99,00;EUR;2024-05-03;failed;;{CODE};cash",
        "kas-4;;10,00;EUR;2024-05-03;succeeded;;general;cash",
    ]
    csv = tmp_path / "offline.csv"
    csv.write_text("\n".join(rows), encoding="utf-8")
    cli("import", "donations", str(csv))
    cli("import", "donations", str(csv))  # importing twice changes nothing
    data = json.loads(cli("--json", "crowdfunding", "status", CODE).output)
    by = {c["channel"]: c for c in data["by_channel"]}
    assert by["stripe"]["raised"]["minor"] == 5_000 + 2_000 and by["stripe"]["fees"]["minor"] == 163
    assert by["cash"]["raised"]["minor"] == 1_250 + 123_456 and by["cash"]["gifts"] == 2
    assert by["bank_transfer"]["raised"]["minor"] == 4_000
    assert data["raised"]["minor"] == 7_000 + 124_706 + 4_000 == 135_706
    assert data["matched"]["minor"] == 10_000 and data["total"]["minor"] == 145_706
    assert data["gifts"] == 5 and data["not_counted"] == {"failed": 1}
