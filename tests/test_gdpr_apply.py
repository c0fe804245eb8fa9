"""Applying a plan: exactly the reviewed rows, dry run first, twice = once, resumable after a crash,
re-permission before inactivity removals, and contacts who changed since the plan left alone."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select
from test_gdpr_support import AUDIENCE, NOW, Crash, add_records, civicrm, mailchimp, policy, seed

from vwfund.campaigns.gdpr.applying import apply_plan
from vwfund.campaigns.gdpr.planfile import write_plan_files
from vwfund.campaigns.gdpr.planning import make_plan
from vwfund.campaigns.gdpr.repermission import start_repermission
from vwfund.errors import InputError
from vwfund.identity import email_hash
from vwfund.models import ConsentRecord, Donation, EngagementEvent
from vwfund.store.contacts import is_suppressed
from vwfund.store.schema import audit_log, contacts, mailing_members

NO_WAIT = {"require_repermission": False}


def planned(app, tmp_path, **settings):
    p = policy(**settings)
    plan = make_plan(app.store, p, NOW)
    csv_path, json_path = write_plan_files(plan, tmp_path / "plan")
    return p, csv_path, json_path


def audit_rows(app):
    with app.store.read() as conn:
        return [r._asdict() for r in conn.execute(select(audit_log).order_by(audit_log.c.id))]


def member_status(app, email):
    with app.store.read() as conn:
        return conn.execute(select(mailing_members.c.status).where(
            mailing_members.c.email_hash == email_hash(email))).scalar()


def test_dry_run_changes_nothing_and_says_what_it_would_do(app, tmp_path):
    seed(app.store)
    p, csv_path, _ = planned(app, tmp_path, **NO_WAIT)
    mc, civi = mailchimp(), civicrm()
    report = apply_plan(app.store, p, [mc, civi], csv_path, now=NOW)
    assert report.dry_run and dict(report.would) == {"archive": 2, "remove_consent": 1}
    assert mc.calls == [] and civi.calls == [] and audit_rows(app) == []
    assert member_status(app, "opener@example.org") == "subscribed"


def test_apply_twice_equals_apply_once(app, tmp_path):
    ids = seed(app.store)
    p, csv_path, _ = planned(app, tmp_path, **NO_WAIT)
    mc, civi = mailchimp(), civicrm()
    first = apply_plan(app.store, p, [mc, civi], csv_path, apply=True, now=NOW)
    assert dict(first.done) == {"archive": 2, "remove_consent": 1} and not first.failed
    assert sorted(mc.calls) == sorted([("archive", ids["opener"]), ("archive", ids["sleeper"]),
                                       ("remove_consent", ids["noconsent"])])
    assert civi.calls == [("remove_consent", ids["noconsent"])]
    assert member_status(app, "opener@example.org") == "archived"
    assert member_status(app, "=cmd@example.org") == "unsubscribed"
    trail = audit_rows(app)
    # one entry per system and action: 2 archives x (mailchimp, store) + consent x (mailchimp, civicrm, store)
    assert Counter((r["action"], r["system"]) for r in trail) == Counter({
        ("gdpr.archive", "mailchimp"): 2, ("gdpr.archive", "store"): 2, ("gdpr.remove_consent", "mailchimp"): 1,
        ("gdpr.remove_consent", "civicrm"): 1, ("gdpr.remove_consent", "store"): 1,
        ("gdpr.keep", None): 2,  # the monthly donor and the bequest, kept by the policy
    })
    changes = [r for r in trail if r["action"] != "gdpr.keep"]
    assert all(r["actor"] == "dpo-test" and r["rule"] and r["before_digest"] and r["after_digest"] for r in changes)
    assert all("@" not in str(r["details"]) and "@" not in (r["answer"] or "") for r in trail)
    second = apply_plan(app.store, p, [mc, civi], csv_path, apply=True, now=NOW + timedelta(hours=1))
    assert second.already_done == 3 and not second.done and not second.dropped
    assert len(mc.calls) == 3 and len(civi.calls) == 1 and audit_rows(app) == trail


@pytest.mark.parametrize(("crashing", "k"), [("mailchimp", 1), ("mailchimp", 2), ("mailchimp", 3),
                                             ("civicrm", 1), ("civicrm", 2), ("civicrm", 3)])
def test_crash_mid_apply_then_rerun_finishes_exactly_the_plan(sqlite_app, tmp_path, crashing, k):
    ids = seed(sqlite_app.store)
    settings = {**NO_WAIT, "anonymise_inactive": True}
    p, csv_path, _ = planned(sqlite_app, tmp_path, **settings)
    mc, civi = mailchimp(), civicrm()
    victim = mc if crashing == "mailchimp" else civi
    victim.crash_on = k  # its k-th call raises, as a kill would stop the run
    with pytest.raises(Crash):
        apply_plan(sqlite_app.store, p, [mc, civi], csv_path, apply=True, now=NOW)
    victim.crash_on = None
    report = apply_plan(sqlite_app.store, p, [mc, civi], csv_path, apply=True, now=NOW + timedelta(minutes=5))
    assert not report.failed and not report.dropped
    # Exactly the plan, each step once: mailchimp archives two (it cannot anonymise); civicrm anonymises
    # two; both remove one consent. The crashed call carried nothing out, so nothing repeats.
    expected_mc = {("archive", ids["opener"]), ("archive", ids["sleeper"]), ("anonymise", ids["opener"]),
                   ("anonymise", ids["sleeper"]), ("remove_consent", ids["noconsent"])}
    assert set(mc.calls) == {c for c in expected_mc if c[0] in mc.supported_actions}
    assert Counter(mc.calls).most_common(1)[0][1] == 1
    assert set(civi.calls) == {("anonymise", ids["opener"]), ("anonymise", ids["sleeper"]),
                               ("remove_consent", ids["noconsent"])}
    steps = Counter((r["action"], r["system"], r["contact_id"]) for r in audit_rows(sqlite_app)
                    if r["action"] != "gdpr.keep")
    assert max(steps.values()) == 1
    assert sum(steps.values()) == 2 * 2 + 2 * 2 + 3  # archive (mc, store), anonymise (civi, store), consent x3
    with sqlite_app.store.read() as conn:
        gone = conn.execute(select(contacts.c.id).where(contacts.c.anonymised_at.is_not(None))).scalars().all()
    assert sorted(gone) == sorted([ids["opener"], ids["sleeper"]])


def test_a_contact_who_gave_or_clicked_or_consented_after_planning_is_left_alone(app, tmp_path):
    ids = seed(app.store)
    p, csv_path, _ = planned(app, tmp_path, **NO_WAIT)
    add_records(app.store, [
        Donation(source="civicrm", external_id="late-gift", contact_source="civicrm", contact_external_id="civi-opener",
                 amount_minor=500, currency="EUR", status="succeeded", received_at=NOW + timedelta(days=1)),
        EngagementEvent(audience=AUDIENCE, email_hash=email_hash("sleeper@example.org"), mailing_id="m12",
                        kind="click", at=NOW + timedelta(days=2)),
        ConsentRecord(source="civicrm", external_id="late-consent", contact_source="civicrm",
                      contact_external_id="civi-noconsent", purpose="newsletter", granted=True,
                      at=NOW + timedelta(days=2), evidence="form v4"),
    ])
    mc, civi = mailchimp(), civicrm()
    report = apply_plan(app.store, p, [mc, civi], csv_path, apply=True, now=NOW + timedelta(days=3))
    why = {d["contact_id"]: d["why"] for d in report.dropped}
    assert why == {ids["opener"]: "since the plan was made the contact gave",
                   ids["sleeper"]: "since the plan was made the contact clicked",
                   ids["noconsent"]: "since the plan was made the contact consented"}
    assert mc.calls == [] and civi.calls == [] and not report.done
    assert member_status(app, "opener@example.org") == "subscribed"
    assert {r["action"] for r in audit_rows(app)} == {"gdpr.dropped", "gdpr.keep"}


def test_an_open_after_planning_does_not_make_the_plan_stale(sqlite_app, tmp_path):
    ids = seed(sqlite_app.store)
    p, csv_path, _ = planned(sqlite_app, tmp_path, **NO_WAIT)
    add_records(sqlite_app.store, [EngagementEvent(audience=AUDIENCE, email_hash=email_hash("opener@example.org"),
                                                   mailing_id="m12", kind="open", at=NOW + timedelta(days=1))])
    mc = mailchimp()
    report = apply_plan(sqlite_app.store, p, [mc, civicrm()], csv_path, apply=True, now=NOW + timedelta(days=2))
    assert ("archive", ids["opener"]) in mc.calls and not report.dropped


def _rewrite_csv(path, change):
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
        fields = list(rows[0])
    rows = change(rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)


def test_steward_edits_removed_rows_and_keep_are_respected(sqlite_app, tmp_path):
    ids = seed(sqlite_app.store)
    p, csv_path, _ = planned(sqlite_app, tmp_path, **NO_WAIT)

    def edit(rows):
        rows = [r for r in rows if r["contact_id"] != str(ids["sleeper"])]  # removed: not applied
        for r in rows:
            if r["contact_id"] == str(ids["opener"]):
                r["action"] = "keep"
        return rows

    _rewrite_csv(csv_path, edit)
    mc = mailchimp()
    report = apply_plan(sqlite_app.store, p, [mc, civicrm()], csv_path, apply=True, now=NOW)
    assert mc.calls == [("remove_consent", ids["noconsent"])] and report.kept == 3  # opener + the two exceptions
    assert member_status(sqlite_app, "opener@example.org") == "subscribed"
    assert member_status(sqlite_app, "sleeper@example.org") == "subscribed"


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: {**r, "action": "delete_permanently"}, "may only be left as 'archive' or set to 'keep'"),
    (lambda r: {**r, "contact_id": "999999"}, "is not part of this plan"),
    (lambda r: {**r, "digest": "0" * 32}, "digest was changed"),
])
def test_a_plan_edited_beyond_remove_or_keep_is_refused_with_its_line(sqlite_app, tmp_path, change, message):
    ids = seed(sqlite_app.store)
    p, csv_path, _ = planned(sqlite_app, tmp_path, **NO_WAIT)
    _rewrite_csv(csv_path, lambda rows: [change(r) if r["contact_id"] == str(ids["opener"]) else r for r in rows])
    mc = mailchimp()
    with pytest.raises(InputError) as caught:
        apply_plan(sqlite_app.store, p, [mc, civicrm()], csv_path, apply=True, now=NOW)
    assert message in str(caught.value) and "line 2" in str(caught.value)
    assert mc.calls == []


def test_a_failing_system_is_reported_and_retried_without_touching_the_store(sqlite_app, tmp_path):
    ids = seed(sqlite_app.store)
    p, csv_path, _ = planned(sqlite_app, tmp_path, **NO_WAIT)
    mc = mailchimp(refuse={ids["opener"]})
    report = apply_plan(sqlite_app.store, p, [mc, civicrm()], csv_path, apply=True, now=NOW)
    assert [f["contact_id"] for f in report.failed] == [ids["opener"]]
    assert member_status(sqlite_app, "opener@example.org") == "subscribed"
    mc.refuse.clear()
    again = apply_plan(sqlite_app.store, p, [mc, civicrm()], csv_path, apply=True, now=NOW)
    assert dict(again.done) == {"archive": 1} and again.already_done == 2
    assert member_status(sqlite_app, "opener@example.org") == "archived"


def test_permanent_deletion_suppresses_the_email(sqlite_app, tmp_path):
    seed(sqlite_app.store)
    p, csv_path, _ = planned(sqlite_app, tmp_path, inactive_action="delete_permanently", **NO_WAIT)
    apply_plan(sqlite_app.store, p, [mailchimp(), civicrm()], csv_path, apply=True, now=NOW)
    with sqlite_app.store.read() as conn:
        assert is_suppressed(conn, "opener@example.org") and is_suppressed(conn, "sleeper@example.org")
        assert not is_suppressed(conn, "clicker@example.org")
    assert member_status(sqlite_app, "opener@example.org") is None


def test_repermission_comes_first_and_its_waiting_period_is_enforced(app, tmp_path):
    ids = seed(app.store)
    p, _, json_path = planned(app, tmp_path, repermission_days=30)
    mc, civi = mailchimp(), civicrm()
    with pytest.raises(InputError, match="no re-permission mailing"):
        apply_plan(app.store, p, [mc, civi], json_path, apply=True, now=NOW)
    dry = start_repermission(app.store, p, [mc, civi], json_path, now=NOW)
    assert dry.to_tag == 2 and mc.tagged == []
    done = start_repermission(app.store, p, [mc, civi], json_path, apply=True, now=NOW)
    assert done.tagged == 2 and sorted(mc.tagged) == sorted([("repermission", ids["opener"]),
                                                             ("repermission", ids["sleeper"])])
    again = start_repermission(app.store, p, [mc, civi], json_path, apply=True, now=NOW + timedelta(days=1))
    assert again.tagged == 0 and again.already_waiting == 2 and len(mc.tagged) == 2
    with pytest.raises(InputError, match="re-permission period ends 2026-07-01"):
        apply_plan(app.store, p, [mc, civi], json_path, apply=True, now=NOW + timedelta(days=29))
    # the sleeper answers the re-permission mailing with a click: they drop out
    add_records(app.store, [EngagementEvent(audience=AUDIENCE, email_hash=email_hash("sleeper@example.org"),
                                            mailing_id="reperm", kind="click", at=NOW + timedelta(days=3))])
    report = apply_plan(app.store, p, [mc, civi], json_path, apply=True, now=NOW + timedelta(days=31))
    assert [d["contact_id"] for d in report.dropped] == [ids["sleeper"]]
    assert ("archive", ids["opener"]) in mc.calls and ("archive", ids["sleeper"]) not in mc.calls


def test_only_one_writing_run_at_a_time_but_dry_runs_may_look(sqlite_app, tmp_path):
    from vwfund.errors import LockedError

    seed(sqlite_app.store)
    p, csv_path, _ = planned(sqlite_app, tmp_path, **NO_WAIT)
    mc = mailchimp()
    with sqlite_app.store.lock("gdpr"):
        assert apply_plan(sqlite_app.store, p, [mc], csv_path, now=NOW).dry_run
        with pytest.raises(LockedError):
            apply_plan(sqlite_app.store, p, [mc], csv_path, apply=True, now=NOW)
    assert mc.calls == []
