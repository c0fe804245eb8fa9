"""Segments as groups, opt-outs as flags, and GDPR actions against the local fake CiviCRM."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import make_app
from sqlalchemy import insert, select

from vwfund import nightly
from vwfund.models import Contact
from vwfund.store.records import save_records
from vwfund.store.schema import contacts, segment_members, segment_runs
from vwfund.targets import ANONYMISE, REMOVE_CONSENT, TargetContact, target_contacts
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
    app = make_app(store, builtin_plugins, {"civicrm": {"url": fake.url, "api_key": KEY, "site_key": SITE}})
    yield app
    app.close()


def civi_person(fake: FakeCiviCRM, first: str, email: str) -> int:
    row = fake.seed("Contact", {"first_name": first, "last_name": "Smit"})
    fake.seed("Email", {"contact_id": row["id"], "email": email, "is_primary": True})
    return int(row["id"])


def store_contacts(app, *records: Contact) -> dict[str, int]:
    with app.store.begin() as conn:
        save_records(conn, list(records))
        return {r.email: r.id for r in conn.execute(select(contacts))}


def segment_run(app, name: str, members: list[int]) -> None:
    with app.store.begin() as conn:
        run_id = conn.execute(insert(segment_runs).values(name=name, as_of=T0, ran_at=T0, definition={},
                                                          member_count=len(members))).inserted_primary_key[0]
        if members:
            conn.execute(insert(segment_members), [{"run_id": run_id, "contact_id": m} for m in members])


def members(fake: FakeCiviCRM, status: str = "Added") -> set[int]:
    return {g["contact_id"] for g in fake.rows("GroupContact") if g["status"] == status}


def test_segment_runs_become_group_memberships_added_and_removed(civi_app, fake):
    civi = {e: civi_person(fake, e[0], e) for e in ("a@example.org", "b@example.org", "c@example.org")}
    ids = store_contacts(civi_app, *[Contact(source="mailchimp", external_id=e, email=e) for e in civi],
                         Contact(source="mailchimp", external_id="x", email="only-here@example.org"))
    segment_run(civi_app, "lapsed donors", [ids["a@example.org"], ids["b@example.org"], ids["only-here@example.org"]])
    first = {r.stream: r for r in nightly.push(civi_app, "civicrm")}["civicrm.segments"]
    assert first.ok, first.errors
    [group] = fake.rows("Group")
    assert group["name"] == "vwfund_lapsed_donors"
    assert members(fake) == {civi["a@example.org"], civi["b@example.org"]}
    assert first.counts["not_in_civicrm"] == 1  # never created for a segment
    segment_run(civi_app, "lapsed donors", [ids["b@example.org"], ids["c@example.org"]])
    nightly.push(civi_app, "civicrm")
    nightly.push(civi_app, "civicrm")
    assert members(fake) == {civi["b@example.org"], civi["c@example.org"]}
    assert members(fake, "Removed") == {civi["a@example.org"]}
    assert len(fake.rows("GroupContact")) == 3 and len(fake.rows("Group")) == 1


def test_segment_target_reports_store_ids(civi_app, fake):
    civi_person(fake, "A", "a@example.org")
    ids = store_contacts(civi_app, Contact(source="mailchimp", external_id="a", email="a@example.org"))
    target = civi_app.connector("civicrm").segment_target(civi_app)
    with civi_app.store.read() as conn:
        people = target_contacts(conn, list(ids.values()))
    outcome = target.apply_segment("monthly", people, [])
    scoped = [p for p in outcome.pushed if p.scope == "segment:monthly"]
    assert [p.item for p in scoped] == [str(ids["a@example.org"])]


def test_opt_outs_set_flags_once(civi_app, fake):
    civi_id = civi_person(fake, "A", "a@example.org")
    civi_person(fake, "B", "b@example.org")
    store_contacts(civi_app, Contact(source="mailchimp", external_id="a", email="a@example.org", is_opt_out=True,
                                     do_not_email=True),
                   Contact(source="mailchimp", external_id="b", email="b@example.org"))
    result = {r.stream: r for r in nightly.push(civi_app, "civicrm")}["civicrm.optouts"]
    assert result.counts["opt_outs_set"] == 1
    flags = {c["id"]: (c["is_opt_out"], c["do_not_email"]) for c in fake.rows("Contact")}
    assert flags[civi_id] == (True, True)
    assert sum(1 for v in flags.values() if v != (False, False)) == 1
    again = {r.stream: r for r in nightly.push(civi_app, "civicrm")}["civicrm.optouts"]
    assert again.counts["opt_outs_set"] == 0


def _rich_contact(fake: FakeCiviCRM) -> int:
    civi_id = civi_person(fake, "Fatima", "fatima@example.org")
    fake.seed("Phone", {"contact_id": civi_id, "phone": "+31 6 1234 5678"})
    fake.seed("Address", {"contact_id": civi_id, "street_address": "Kerkstraat 1", "city": "Utrecht"})
    fake.seed("Note", {"entity_table": "civicrm_contact", "entity_id": civi_id, "subject": "call",
                       "note": "Fatima asked about her gift"})
    activity = fake.seed("Activity", {"subject": "Thank-you call", "details": "Spoke with Fatima Smit"})
    fake.seed("ActivityContact", {"activity_id": activity["id"], "contact_id": civi_id, "record_type_id": 3})
    order = fake.seed("Order", {"contributionValues": {"contact_id": civi_id, "financial_type_id": 1,
                                                       "currency": "EUR"}, "lineItems": [{"line_total": "50.00"}]})
    fake.seed("Payment", {"contribution_id": order["id"], "total_amount": "50.00", "trxn_id": "b-1"})
    return civi_id


def test_anonymise_blanks_identity_keeps_contributions_and_is_idempotent(civi_app, fake):
    civi_id = _rich_contact(fake)
    target = civi_app.connector("civicrm").privacy_target(civi_app)
    who = TargetContact(1, "fatima@example.org", external_ids={"civicrm": str(civi_id)})
    before = target.export(who)
    assert before["found"] and before["emails"][0]["email"] == "fatima@example.org"
    assert len(before["contributions"]) == 1 and len(before["activities"]) == 1
    answer = target.perform(ANONYMISE, who)
    assert answer.ok, answer.answer
    contact = fake.state.rows["Contact"][civi_id]
    assert contact["first_name"] == "" and contact["last_name"] == "" and "Fatima" not in contact["display_name"]
    assert all(contact[f] for f in ("do_not_email", "do_not_mail", "do_not_phone", "do_not_sms", "is_opt_out"))
    assert fake.rows("Email") == [] and fake.rows("Phone") == [] and fake.rows("Address") == []
    assert "Fatima" not in fake.rows("Note")[0]["note"] and "Fatima" not in fake.rows("Activity")[0]["details"]
    assert len(fake.rows("Contribution")) == 1  # kept for fiscal retention
    again = target.perform(ANONYMISE, who)
    assert again.ok and fake.state.rows["Contact"][civi_id]["first_name"] == ""
    gone = target.perform(ANONYMISE, TargetContact(2, "nobody@example.org"))
    assert gone.ok and gone.not_found


def test_remove_consent_and_tag(civi_app, fake):
    civi_id = civi_person(fake, "A", "a@example.org")
    target = civi_app.connector("civicrm").privacy_target(civi_app)
    who = TargetContact(1, "a@example.org")
    assert target.perform(REMOVE_CONSENT, who).ok
    assert fake.state.rows["Contact"][civi_id]["is_opt_out"] is True
    target.tag([who], "repermission")
    target.tag([who], "repermission")
    assert [t["entity_id"] for t in fake.rows("EntityTag")] == [civi_id]
