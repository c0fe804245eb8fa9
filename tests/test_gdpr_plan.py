"""The clean-up plan: the policy's rules derived by hand on a small base; the plan changes nothing."""

from __future__ import annotations

import csv
import json
import stat
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from test_gdpr_support import AUDIENCE, NOW, add_records, policy, seed

from vwfund.campaigns.gdpr.job import GdprJob
from vwfund.campaigns.gdpr.planfile import plan_paths, read_plan_file, write_plan_files
from vwfund.campaigns.gdpr.planning import make_plan
from vwfund.campaigns.gdpr.policy import load_policy
from vwfund.config import Config
from vwfund.errors import ConfigError
from vwfund.models import EngagementEvent
from vwfund.store.schema import audit_log, contacts, mailing_members


def by_contact(plan):
    return {(r.contact_id, r.action): r for r in plan.rows}


def test_plan_follows_the_rules_and_changes_nothing(app):
    ids = seed(app.store)
    with app.store.read() as conn:
        members_before = sorted(conn.execute(select(mailing_members.c.email_hash, mailing_members.c.status)).all())
    plan = make_plan(app.store, policy(), NOW)
    rows = by_contact(plan)
    # By hand (window 2025-06-01, grace from 2025-12-01, gifts from 2024-06-01): opener and sleeper are
    # inactive; monthly and bequest are inactive but exempt; noconsent clicked but has no consent record.
    assert set(rows) == {
        (ids["opener"], "archive"), (ids["sleeper"], "archive"), (ids["monthly"], "keep"),
        (ids["bequest"], "keep"), (ids["noconsent"], "remove_consent"),
    }
    assert rows[(ids["monthly"], "keep")].rules == ("inactive-subscriber", "keep-monthly-donor")
    assert rows[(ids["bequest"], "keep")].rules == ("inactive-subscriber", "keep-bequest")
    assert rows[(ids["noconsent"], "remove_consent")].rules == ("no-consent-evidence",)
    assert "opens are not counted" in rows[(ids["opener"], "archive")].reason
    assert plan.counts() == {
        "actions": {"archive": 2, "keep": 2, "remove_consent": 1},
        "rules": {"inactive-subscriber": 4, "keep-bequest": 1, "keep-monthly-donor": 1, "no-consent-evidence": 1},
    }
    with app.store.read() as conn:
        assert sorted(conn.execute(select(mailing_members.c.email_hash, mailing_members.c.status)).all()) == members_before
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0


def test_anonymise_inactive_adds_an_anonymise_row_per_inactive_contact(sqlite_app):
    ids = seed(sqlite_app.store)
    plan = make_plan(sqlite_app.store, policy(anonymise_inactive=True, inactive_action="delete_permanently"), NOW)
    actions = {(r.contact_id, r.action) for r in plan.rows if r.action != "keep"}
    assert actions == {
        (ids["opener"], "delete_permanently"), (ids["opener"], "anonymise"),
        (ids["sleeper"], "delete_permanently"), (ids["sleeper"], "anonymise"),
        (ids["noconsent"], "remove_consent"),
    }


def test_an_open_never_keeps_a_contact_but_a_click_does(sqlite_app):
    ids = seed(sqlite_app.store)
    h = next(r for r in make_plan(sqlite_app.store, policy(), NOW).rows if r.contact_id == ids["opener"])
    add_records(sqlite_app.store, [EngagementEvent(audience=AUDIENCE, email_hash=_hash("opener@example.org"),
                                                   mailing_id="m11", kind="open", at=NOW)])
    again = by_contact(make_plan(sqlite_app.store, policy(), NOW))
    assert (ids["opener"], "archive") in again and again[(ids["opener"], "archive")].digest == h.digest
    add_records(sqlite_app.store, [EngagementEvent(audience=AUDIENCE, email_hash=_hash("opener@example.org"),
                                                   mailing_id="m11", kind="click", at=NOW)])
    assert (ids["opener"], "archive") not in by_contact(make_plan(sqlite_app.store, policy(), NOW))


def _hash(email):
    from vwfund.identity import email_hash

    return email_hash(email)


def test_plan_files_are_owner_only_neutralised_and_read_back(sqlite_app, tmp_path):
    ids = seed(sqlite_app.store)
    plan = make_plan(sqlite_app.store, policy(), NOW)
    csv_path, json_path = write_plan_files(plan, tmp_path / "plan.csv")
    assert (csv_path.name, json_path.name) == ("plan.csv", "plan.json")
    for path in (csv_path, json_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with csv_path.open(encoding="utf-8") as fh:
        cells = {r["contact_id"]: r for r in csv.DictReader(fh)}
    assert cells[str(ids["noconsent"])]["email"] == "'=cmd@example.org"  # no formula runs in a spreadsheet
    assert json.loads(json_path.read_text())["rows"][0]["plan_id"] == plan.id
    for path in (csv_path, json_path):
        plan_id, rows = read_plan_file(path)
        assert plan_id == plan.id
        assert [(r.row, r.contact_id, r.action) for r in rows] == [(r.row, r.contact_id, r.action) for r in plan.rows]


def test_plan_paths_accept_a_base_name(tmp_path):
    assert plan_paths(tmp_path / "x") == (tmp_path / "x.csv", tmp_path / "x.json")
    assert plan_paths(tmp_path / "x.json") == (tmp_path / "x.csv", tmp_path / "x.json")


@pytest.mark.parametrize(("settings", "message"), [
    ({"inactive_months": "twelve"}, "[gdpr] inactive_months must be a whole number"),
    ({"grace_month": 3}, "[gdpr] grace_month is not a known setting"),
    ({"inactive_action": "shred"}, "[gdpr] inactive_action must be one of archive, delete_permanently"),
    ({"anonymise_inactive": "perhaps"}, "[gdpr] anonymise_inactive must be true or false"),
    ({"consent_purposes": 5}, "[gdpr] consent_purposes must be a list"),
    ({"retention_years": 0}, "[gdpr] retention_years must be at least 1"),
])
def test_bad_policy_names_the_key(settings, message):
    with pytest.raises(ConfigError) as caught:
        load_policy(Config({"gdpr": settings}, env={}))
    assert message in str(caught.value)


def test_retention_defaults_by_country_and_environment_lists():
    assert load_policy(Config({}, env={})).retention_years == 7
    assert load_policy(Config({"organisation": {"country": "BE"}}, env={})).retention_years == 10
    with pytest.raises(ConfigError, match="retention_years must be set"):
        load_policy(Config({"organisation": {"country": "DE"}}, env={}))
    env = Config({}, env={"VWFUND_GDPR_KEEP_TAGS": "vip, board", "VWFUND_GDPR_GRACE_MONTHS": "3"})
    p = load_policy(env)
    assert p.keep_tags == ("vip", "board") and p.grace_months == 3


def test_retention_cutoff_keeps_whole_calendar_years():
    p = policy()  # NL, 7 years, Europe/Amsterdam: in 2026 every gift of 2019 or later is kept
    cutoff = p.retention_cutoff(NOW)
    assert cutoff.isoformat() == "2018-12-31T23:00:00+00:00"


def test_cli_plan_prints_counts_and_writes_owner_only_files(cli, tmp_path):
    seed(cli.app.store)
    cli.app.config.override("gdpr", "inactive_months", 6)
    out = tmp_path / "review" / "plan"
    result = cli("gdpr", "plan", "--out", str(out))
    assert "owner-only" in result.output and "per rule:" in result.output
    assert "opener@example.org" not in result.output
    assert stat.S_IMODE((tmp_path / "review" / "plan.csv").stat().st_mode) == 0o600
    data = json.loads(cli("--json", "gdpr", "plan", "--out", str(out)).output)
    assert data["rules"]["inactive-subscriber"] >= 2


def test_demo_section_summarises_without_applying(sqlite_app, tmp_path):
    seed(sqlite_app.store)
    sqlite_app.config.override("gdpr", "inactive_months", 6)
    world = SimpleNamespace(as_of=NOW, audience=AUDIENCE)
    section = GdprJob().demo(sqlite_app, world, tmp_path)
    assert section.data["actions"] == {"archive in Mailchimp": 2, "keep": 2, "remove consent": 1}
    assert any("nothing applied" in line for line in section.lines)
    with sqlite_app.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(contacts).where(
            contacts.c.anonymised_at.is_not(None))).scalar_one() == 0


def test_cli_dry_runs_refusals_and_holds(cli, tmp_path):
    ids = seed(cli.app.store)
    cli.app.config.override("gdpr", "inactive_months", 6)
    cli("gdpr", "plan", "--out", str(tmp_path / "plan"))
    plan_file = str(tmp_path / "plan.csv")
    dry = cli("gdpr", "repermission", plan_file)
    assert "would tag" in dry.output and "dry run" in dry.output
    refused = cli("gdpr", "apply", plan_file, "--apply", expect=1)
    assert "no re-permission mailing" in refused.output and "Traceback" not in refused.output
    held = cli("--json", "gdpr", "hold", str(ids["opener"]), "--reason", "legal claim")
    hold_id = json.loads(held.output)["hold"]
    cli("gdpr", "release", str(hold_id))
    cli("gdpr", "release", str(hold_id), expect=1)
    trail = json.loads(cli("--json", "gdpr", "audit").output)
    assert [e["action"] for e in trail] == ["gdpr.hold", "gdpr.release"]
    assert cli("gdpr", "plan", "--out", str(tmp_path / "p2"), expect=None).exit_code == 0


def test_members_linked_to_no_contact_are_counted_not_planned(sqlite_app):
    from vwfund.models import MailingMember

    seed(sqlite_app.store)
    add_records(sqlite_app.store, [MailingMember(audience=AUDIENCE, email="loose@example.org", status="subscribed"),
                                   MailingMember(audience=AUDIENCE, email="gone@example.org", status="unsubscribed")])
    plan = make_plan(sqlite_app.store, policy(), NOW)
    assert plan.summary()["unlinked_members"] == 1 and len(plan.rows) == 5
