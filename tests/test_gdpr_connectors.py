"""The GDPR job through the real Mailchimp privacy target, against the local Mailchimp fake (HTTP level)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_gdpr_support import NOW, PEOPLE, policy, seed
from vwfund.campaigns.gdpr.applying import apply_plan
from vwfund.campaigns.gdpr.planfile import write_plan_files
from vwfund.campaigns.gdpr.planning import make_plan
from vwfund.campaigns.gdpr.repermission import start_repermission
from vwfund.campaigns.gdpr.requests import export_person, forget_person
from vwfund.campaigns.gdpr.steps import privacy_targets

from vwfund import nightly
from vwfund.models import ConsentRecord, Contact
from vwfund.store.records import save_records
from vwfund.testing.fake_mailchimp import FakeMailchimp

LIST = "list0001"


@pytest.fixture
def fake():
    with FakeMailchimp() as f:
        yield f


@pytest.fixture
def mc_app(sqlite_app, fake):
    settings = {"api_key": fake.api_key, "list_id": LIST, "api_base": fake.url, "retries": 2, "backoff": 0.01,
                "timeout": 5, "poll_interval": 0.01}
    for key, value in settings.items():
        sqlite_app.config.override("mailchimp", key, value)
    return sqlite_app


def test_plan_repermission_apply_and_forget_through_mailchimp(mc_app, fake, tmp_path):
    for person in PEOPLE:
        fake.add_member(LIST, person.email)
    ids = seed(mc_app.store, audience=LIST)
    targets = privacy_targets(mc_app)
    assert [t.name for t in targets] == ["mailchimp"]
    p = policy()
    plan = make_plan(mc_app.store, p, NOW)
    _, plan_file = write_plan_files(plan, tmp_path / "plan")

    report = start_repermission(mc_app.store, p, targets, plan_file, apply=True, now=NOW)
    assert report.tagged == 2 and not report.errors
    for email in ("opener@example.org", "sleeper@example.org"):
        assert [t["name"] for t in fake.member(LIST, email)["tags"]] == ["repermission"]
    assert fake.member(LIST, "clicker@example.org")["tags"] == []

    done = apply_plan(mc_app.store, p, targets, plan_file, apply=True, now=NOW + timedelta(days=31))
    assert dict(done.done) == {"archive": 2, "remove_consent": 1} and not done.failed
    assert fake.member(LIST, "opener@example.org")["status"] == "archived"
    assert fake.member(LIST, "=cmd@example.org")["status"] == "unsubscribed"
    assert fake.member(LIST, "clicker@example.org")["status"] == "subscribed"

    exported = export_person(mc_app.store, targets, "clicker@example.org", "dpo")
    assert exported["systems"]["mailchimp"][0]["found"]

    forgot = forget_person(mc_app.store, p, targets, "clicker@example.org", apply=True, now=NOW)
    assert forgot.suppressed and forgot.contacts == [{"contact_id": ids["clicker"], "outcome": "erased",
                                                      "gifts_kept_for_retention": 0}]
    assert fake.member(LIST, "clicker@example.org") is None
    # the address comes back from CiviCRM with a consent: the store refuses it, and a push does not re-add it
    with mc_app.store.begin() as conn:
        counts = save_records(conn, [
            Contact(source="civicrm", external_id="civi-back", email="clicker@example.org"),
            ConsentRecord(source="civicrm", external_id="consent-back", contact_source="civicrm",
                          contact_external_id="civi-back", purpose="newsletter", granted=True, at=NOW),
        ])
    assert counts["contacts_suppressed"] == 1
    nightly.push(mc_app, "mailchimp")
    assert fake.member(LIST, "clicker@example.org") is None
