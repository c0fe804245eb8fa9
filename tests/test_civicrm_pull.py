"""Pulling from the local fake CiviCRM: contacts with flags, contributions, monthly donors, incrementally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import make_app
from sqlalchemy import select

from vwfund import nightly
from vwfund.errors import ConfigError
from vwfund.models import Contact, Donation
from vwfund.store.records import save_records
from vwfund.store.schema import contacts, donations, recurring_plans
from vwfund.testing.fake_civicrm import FakeCiviCRM

KEY, SITE = "k-1234567890", "s-1234567890"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with FakeCiviCRM(api_key=KEY, site_key=SITE) as f:
        f.state.clock = T0
        yield f


@pytest.fixture
def civi_app(store, builtin_plugins, fake):
    app = make_app(store, builtin_plugins, {"civicrm": {"url": fake.url, "api_key": KEY, "site_key": SITE,
                                                        "page_size": 3}})
    yield app
    app.close()


def person(fake: FakeCiviCRM, first: str, email: str | None = None, **flags) -> dict:
    row = fake.seed("Contact", {"first_name": first, "last_name": "Jansen", **flags})
    if email:
        fake.seed("Email", {"contact_id": row["id"], "email": email, "is_primary": True})
    return row


def pull(app) -> dict:
    return {r.stream: r for r in nightly.pull(app, "civicrm")}


def test_contacts_arrive_with_primary_email_and_privacy_flags(civi_app, fake):
    a = person(fake, "An", "an@example.org", do_not_email=True, is_opt_out=True)
    person(fake, "Bo", "bo@example.org", do_not_mail=True, is_deceased=True)
    person(fake, "Cy", None, is_deleted=True)
    results = pull(civi_app)
    assert all(r.ok for r in results.values()), [r.errors for r in results.values()]
    with civi_app.store.read() as conn:
        rows = {r.first_name: r for r in conn.execute(select(contacts))}
    assert set(rows) == {"An", "Bo", "Cy"}
    assert rows["An"].email == "an@example.org" and rows["An"].do_not_email and rows["An"].is_opt_out
    assert rows["Bo"].do_not_mail and rows["Bo"].is_deceased and not rows["Bo"].do_not_email
    assert rows["Cy"].is_deleted and rows["Cy"].email is None
    assert a["id"]  # linked by CiviCRM id below
    with civi_app.store.read() as conn:
        from vwfund.store.contacts import find_contact_id
        assert find_contact_id(conn, "civicrm", str(a["id"])) == rows["An"].id


def test_incremental_pull_reads_only_what_changed(civi_app, fake):
    for i in range(7):
        person(fake, f"P{i}", f"p{i}@example.org")
    first = pull(civi_app)["civicrm.contacts"]
    assert first.counts["contacts_created"] == 7
    second = pull(civi_app)["civicrm.contacts"]
    assert sum(second.counts.values()) == 0
    fake.state.clock = T0 + timedelta(minutes=5)
    target = fake.rows("Contact")[2]
    fake.api.update("Contact", {"where": [["id", "=", target["id"]]], "values": {"is_opt_out": True}})
    third = pull(civi_app)["civicrm.contacts"]
    assert third.counts["contacts_updated"] == 1 and sum(third.counts.values()) == 1
    with civi_app.store.read() as conn:
        assert conn.execute(select(contacts.c.is_opt_out).where(contacts.c.first_name == "P2")).scalar()


def test_contributions_and_monthly_donors(civi_app, fake):
    c = person(fake, "An", "an@example.org")
    recur = fake.seed("ContributionRecur", {"contact_id": c["id"], "amount": "15.00", "currency": "EUR",
                                            "frequency_unit": "month", "frequency_interval": 1,
                                            "contribution_status_id": 5, "start_date": "2025-01-05 00:00:00"})
    done = fake.seed("Order", {"contributionValues": {"contact_id": c["id"], "financial_type_id": 1,
                                                      "currency": "EUR", "receive_date": "2026-02-01 10:00:00",
                                                      "contribution_recur_id": recur["id"]},
                               "lineItems": [{"line_total": "15.00", "qty": 1, "unit_price": "15.00"}]})
    fake.seed("Payment", {"contribution_id": done["id"], "total_amount": "15.00", "fee_amount": "0.35",
                          "trxn_id": "bank-1"})
    refunded = fake.seed("Order", {"contributionValues": {"contact_id": c["id"], "financial_type_id": 1,
                                                          "currency": "EUR", "receive_date": "2026-02-03 10:00:00"},
                                   "lineItems": [{"line_total": "40.00"}]})
    fake.seed("Payment", {"contribution_id": refunded["id"], "total_amount": "40.00", "trxn_id": "bank-2"})
    fake.seed("Payment", {"contribution_id": refunded["id"], "total_amount": "-40.00", "trxn_id": "bank-2r"})
    partly = fake.seed("Order", {"contributionValues": {"contact_id": c["id"], "financial_type_id": 1,
                                                        "currency": "EUR", "receive_date": "2026-02-04 10:00:00"},
                                 "lineItems": [{"line_total": "30.00"}]})
    fake.seed("Payment", {"contribution_id": partly["id"], "total_amount": "30.00", "trxn_id": "bank-3"})
    fake.seed("Payment", {"contribution_id": partly["id"], "total_amount": "-12.50", "trxn_id": "bank-3r"})
    entered = fake.seed("Contribution", {"contact_id": c["id"], "financial_type_id": 1, "total_amount": "20.00",
                                         "currency": "EUR", "contribution_status_id": 1,
                                         "receive_date": "2026-02-05 10:00:00"})
    results = pull(civi_app)
    assert all(r.ok for r in results.values()), [r.errors for r in results.values()]
    with civi_app.store.read() as conn:
        gifts = {r.external_id: r for r in conn.execute(select(donations))}
        plan = conn.execute(select(recurring_plans)).one()
    assert gifts[str(partly["id"])].status == "partially_refunded" and gifts[str(partly["id"])].refunded_minor == 1250
    assert gifts[str(entered["id"])].status == "succeeded" and gifts[str(entered["id"])].refunded_minor == 0
    assert gifts[str(done["id"])].amount_minor == 1500 and gifts[str(done["id"])].fee_minor == 35
    assert gifts[str(done["id"])].status == "succeeded"
    assert gifts[str(done["id"])].recurring_plan == str(recur["id"])
    assert gifts[str(refunded["id"])].status == "refunded" and gifts[str(refunded["id"])].refunded_minor == 4000
    assert gifts[str(done["id"])].contact_id is not None
    assert plan.amount_minor == 1500 and plan.interval == "month" and plan.status == "active"


def test_contributions_pushed_by_vwfund_are_not_imported_again(civi_app, fake):
    with civi_app.store.begin() as conn:
        save_records(conn, [Contact(source="stripe", external_id="cus_1", email="an@example.org"),
                            Donation(source="stripe", external_id="ch_1", contact_source="stripe",
                                     contact_external_id="cus_1", amount_minor=2500, currency="EUR",
                                     status="succeeded", received_at=T0)])
    nightly.push(civi_app, "civicrm")
    assert len(fake.rows("Contribution")) == 1
    results = pull(civi_app)
    with civi_app.store.read() as conn:
        sources = [r.source for r in conn.execute(select(donations))]
        n_contacts = len(conn.execute(select(contacts)).all())
    assert sources == ["stripe"]
    assert n_contacts == 1  # the CiviCRM contact the push created was linked by email, not duplicated
    assert any("not imported again" in n for n in results["civicrm.contributions"].notes)


def test_missing_configuration_names_every_way_to_give_it(store, builtin_plugins):
    app = make_app(store, builtin_plugins, {"civicrm": {"url": "http://127.0.0.1:9"}})
    connector = app.connector("civicrm")
    assert not connector.is_configured(app.config)
    with pytest.raises(ConfigError, match="VWFUND_CIVICRM_API_KEY"):
        connector.pull_streams(app)


def test_doctor_check(civi_app, fake):
    assert "answers" in civi_app.connector("civicrm").check(civi_app)
    assert fake.log[-1] == ("Contact", "get")


def test_group_memberships_mirror_civicrm_and_forget_what_was_removed(civi_app, fake):
    from sqlalchemy import select

    from vwfund.store.schema import contacts, group_memberships

    an = person(fake, "An", "an@example.org")
    bo = person(fake, "Bo", "bo@example.org")
    volunteers = fake.seed("Group", {"title": "Volunteers", "name": "volunteers"})
    major = fake.seed("Group", {"title": "Major donors", "name": "major"})
    fake.seed("GroupContact", {"group_id": volunteers["id"], "contact_id": an["id"], "status": "Added"})
    dropped = fake.seed("GroupContact", {"group_id": major["id"], "contact_id": bo["id"], "status": "Added"})
    fake.seed("GroupContact", {"group_id": major["id"], "contact_id": an["id"], "status": "Removed"})
    pull(civi_app)

    def memberships():
        with civi_app.store.read() as conn:
            rows = conn.execute(select(group_memberships.c.group_name, contacts.c.email, group_memberships.c.status)
                                .join(contacts, contacts.c.id == group_memberships.c.contact_id))
            return sorted(tuple(r) for r in rows)

    assert memberships() == [("Major donors", "an@example.org", "removed"), ("Major donors", "bo@example.org", "added"),
                             ("Volunteers", "an@example.org", "added")]
    with fake.lock:
        del fake.state.rows["GroupContact"][dropped["id"]]  # deleted in CiviCRM
    pull(civi_app)
    pull(civi_app)  # a re-run changes nothing
    assert memberships() == [("Major donors", "an@example.org", "removed"), ("Volunteers", "an@example.org", "added")]
