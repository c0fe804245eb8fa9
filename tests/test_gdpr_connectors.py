"""The GDPR job through the real Mailchimp privacy target, against the local Mailchimp fake (HTTP level)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import make_app, point_at_mailchimp
from sqlalchemy import select
from test_gdpr_support import NOW, PEOPLE, policy, seed

from vwfund import nightly
from vwfund.campaigns.gdpr.applying import apply_plan
from vwfund.campaigns.gdpr.planfile import write_plan_files
from vwfund.campaigns.gdpr.planning import make_plan
from vwfund.campaigns.gdpr.repermission import start_repermission
from vwfund.campaigns.gdpr.requests import export_person, forget_person
from vwfund.campaigns.gdpr.steps import privacy_targets
from vwfund.models import ConsentRecord, Contact, Donation
from vwfund.store.records import save_records
from vwfund.store.schema import contacts, donations
from vwfund.testing.fake_civicrm import FakeCiviCRM
from vwfund.testing.fake_mailchimp import FakeMailchimp

LIST = "list0001"


@pytest.fixture
def fake():
    with FakeMailchimp() as f:
        yield f


@pytest.fixture
def mc_app(sqlite_app, fake):
    return point_at_mailchimp(sqlite_app, fake, LIST)


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


CIVI_KEY, CIVI_SITE = "k-1234567890", "s-1234567890"


@pytest.fixture
def civi_app(sqlite_store, builtin_plugins):
    with FakeCiviCRM(api_key=CIVI_KEY, site_key=CIVI_SITE) as civi:
        app = make_app(sqlite_store, builtin_plugins,
                       {"civicrm": {"url": civi.url, "api_key": CIVI_KEY, "site_key": CIVI_SITE}})
        yield app, civi
        app.close()


def test_forget_anonymises_in_civicrm_and_the_store_keeping_the_gift(civi_app):
    app, civi = civi_app
    row = civi.seed("Contact", {"first_name": "Fatima", "last_name": "Smit"})
    civi.seed("Email", {"contact_id": row["id"], "email": "fatima@example.org", "is_primary": True})
    with app.store.begin() as conn:
        save_records(conn, [Contact(source="civicrm", external_id=str(row["id"]), email="fatima@example.org",
                                    first_name="Fatima", last_name="Smit")])
        save_records(conn, [Donation(source="civicrm", external_id="gift-1", contact_source="civicrm",
                                     contact_external_id=str(row["id"]), amount_minor=5000, currency="EUR",
                                     status="succeeded", received_at=NOW - timedelta(days=400),
                                     public_message="Voor Fatima")])
    targets = privacy_targets(app)
    assert [t.name for t in targets] == ["civicrm"]
    exported = export_person(app.store, targets, "fatima@example.org", "dpo")
    assert exported["systems"]["civicrm"][0]["found"]
    report = forget_person(app.store, policy(), targets, "fatima@example.org", apply=True, now=NOW)
    assert [s["ok"] for s in report.systems] == [True] and report.contacts[0]["outcome"] == "anonymised"
    assert civi.state.rows["Contact"][int(row["id"])]["first_name"] == "" and civi.rows("Email") == []
    with app.store.read() as conn:
        person = conn.execute(select(contacts)).one()
        gift = conn.execute(select(donations)).one()
    assert person.first_name is None and person.email is None and person.restricted
    assert (gift.amount_minor, gift.contact_id, gift.public_message) == (5000, person.id, None)
