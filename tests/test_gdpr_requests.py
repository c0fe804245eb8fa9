"""Erasure and access requests, anonymisation that leaves nothing behind, retention, suppression, holds."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text
from test_gdpr_support import AUDIENCE, NOW, Person, civicrm, mailchimp, policy, seed

from vwfund.campaigns.gdpr.applying import apply_plan
from vwfund.campaigns.gdpr.holds import close_hold, open_hold
from vwfund.campaigns.gdpr.planfile import write_plan_files
from vwfund.campaigns.gdpr.planning import make_plan
from vwfund.campaigns.gdpr.requests import audit_trail, export_person, forget_person
from vwfund.errors import InputError
from vwfund.identity import email_hash
from vwfund.models import ConsentRecord, Contact, Donation, EngagementEvent, MailingMember
from vwfund.store.contacts import is_suppressed
from vwfund.store.records import save_records
from vwfund.store.schema import contacts, donations

#: One person whose every trace is unique, so that a scan of the whole store can look for it.
TRACES = ("zwaantje.quist@example.net", "Zwaantje", "Quistenburg", "Zwanenlaan 77", "9999 ZQ", "Zwolle-Noord",
          "+31 6 9999 0000", "Voor Zwaantje haar moeder", "Zwaan Q.", "Ja, ik wil post van Zwaantje")


def add_unique_person(store, gift_at: datetime) -> int:
    email, first, last, street, postcode, city, phone, message, public_name, evidence = TRACES
    h = email_hash(email)
    with store.begin() as conn:
        save_records(conn, [
            Contact(source="civicrm", external_id="civi-zq", email=email, first_name=first, last_name=last,
                    display_name=f"{first} {last}", street=street, postcode=postcode, city=city, phone=phone),
            Contact(source="mailchimp", external_id=h, email=email, first_name=first, last_name=last),
        ])
        save_records(conn, [
            MailingMember(audience=AUDIENCE, email=email, status="subscribed", first_name=first, last_name=last,
                          opted_in_at=datetime(2018, 1, 1, tzinfo=UTC)),
            EngagementEvent(audience=AUDIENCE, email_hash=h, mailing_id="m01", kind="open",
                            at=datetime(2025, 7, 1, 11, tzinfo=UTC)),
            Donation(source="civicrm", external_id="gift-zq", contact_source="civicrm", contact_external_id="civi-zq",
                     amount_minor=4000, currency="EUR", status="succeeded", received_at=gift_at,
                     public_name=public_name, public_message=message),
            ConsentRecord(source="civicrm", external_id="consent-zq", contact_source="civicrm",
                          contact_external_id="civi-zq", purpose="post", granted=True,
                          at=datetime(2018, 1, 1, tzinfo=UTC), evidence=evidence),
        ])
        return conn.execute(select(contacts.c.id).where(contacts.c.email == email)).scalar_one()


def whole_store_text(store) -> str:
    """Every value of every table, as text."""
    parts = []
    with store.read() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def left_behind(store) -> list[str]:
    dump = whole_store_text(store).lower()
    return [t for t in TRACES if t.lower() in dump]


def test_forget_with_a_gift_inside_retention_anonymises_and_leaves_no_trace(app):
    seed(app.store)
    cid = add_unique_person(app.store, datetime(2021, 5, 4, 12, tzinfo=UTC))  # inside 7 years in 2026
    assert left_behind(app.store) == list(TRACES)  # the scan does see them before
    mc, civi = mailchimp(), civicrm()
    report = forget_person(app.store, policy(), [mc, civi], TRACES[0], apply=True, now=NOW)
    assert report.contacts == [{"contact_id": cid, "outcome": "anonymised", "gifts_kept_for_retention": 1}]
    assert mc.calls == [("delete_permanently", cid)] and civi.calls == [("anonymise", cid)]
    assert left_behind(app.store) == []
    with app.store.read() as conn:
        person = conn.execute(select(contacts).where(contacts.c.id == cid)).one()
        gift = conn.execute(select(donations).where(donations.c.external_id == "gift-zq")).one()
        assert person.restricted and person.anonymised_at is not None
        assert (gift.contact_id, gift.amount_minor, gift.currency) == (cid, 4000, "EUR")
        assert gift.received_at == datetime(2021, 5, 4, 12, tzinfo=UTC)
        assert is_suppressed(conn, TRACES[0])


@pytest.mark.parametrize(("country", "outcome"), [("NL", "erased"), ("BE", "anonymised")])
def test_a_gift_inside_the_retention_period_is_never_erased(store, country, outcome):
    # A gift of 2017, asked in 2026: outside NL's 7 years (kept from 2019), inside BE's 10 (kept from 2016).
    ids = seed(store, [Person("old", "old@example.org", datetime(2016, 1, 1, tzinfo=UTC),
                              gift=datetime(2017, 6, 1, tzinfo=UTC))])
    from vwfund.campaigns.gdpr.policy import load_policy
    from vwfund.config import Config

    p = load_policy(Config({"organisation": {"country": country}, "gdpr": {"steward": "dpo"}}, env={}))
    report = forget_person(store, p, [], "old@example.org", apply=True, now=NOW)
    assert report.contacts[0]["outcome"] == outcome
    with store.read() as conn:
        gift = conn.execute(select(donations).where(donations.c.external_id == "gift-old")).one()
        remaining = conn.execute(select(contacts.c.id).where(contacts.c.id == ids["old"])).first()
    assert (gift.amount_minor, gift.received_at) == (2500, datetime(2017, 6, 1, tzinfo=UTC))  # never deleted
    assert gift.public_name is None and gift.public_message is None
    if outcome == "anonymised":
        assert remaining is not None and gift.contact_id == ids["old"]
    else:
        assert remaining is None and gift.contact_id is None and gift.contact_external_id is None


def test_plan_anonymisation_leaves_no_name_email_address_or_free_text(sqlite_app, tmp_path):
    cid = add_unique_person(sqlite_app.store, datetime(2021, 5, 4, tzinfo=UTC))
    p = policy(anonymise_inactive=True, require_repermission=False, consent_purposes=[])
    plan = make_plan(sqlite_app.store, p, NOW)
    assert {(r.contact_id, r.action) for r in plan.rows} == {(cid, "archive"), (cid, "anonymise")}
    csv_path, _ = write_plan_files(plan, tmp_path / "plan")
    apply_plan(sqlite_app.store, p, [mailchimp(), civicrm()], csv_path, apply=True, now=NOW)
    assert left_behind(sqlite_app.store) == []


def test_forget_dry_run_changes_nothing(sqlite_app):
    ids = seed(sqlite_app.store)
    mc = mailchimp()
    report = forget_person(sqlite_app.store, policy(), [mc], "opener@example.org", now=NOW)
    assert report.dry_run and report.contacts[0]["contact_id"] == ids["opener"] and mc.calls == []
    with sqlite_app.store.read() as conn:
        assert not is_suppressed(conn, "opener@example.org")
    assert audit_trail(sqlite_app.store) == []


def test_forget_waits_for_every_system_before_changing_the_store(sqlite_app):
    ids = seed(sqlite_app.store)
    civi = civicrm(refuse={ids["opener"]})
    report = forget_person(sqlite_app.store, policy(), [mailchimp(), civi], "opener@example.org", apply=True, now=NOW)
    assert report.errors and not report.suppressed
    with sqlite_app.store.read() as conn:
        assert conn.execute(select(contacts.c.email).where(contacts.c.id == ids["opener"])).scalar() == "opener@example.org"
    civi.refuse.clear()
    again = forget_person(sqlite_app.store, policy(), [mailchimp(), civi], "opener@example.org", apply=True, now=NOW)
    assert again.suppressed and not again.errors


def test_an_open_erasure_hold_blocks_forget_and_keeps_the_contact_in_plans(sqlite_app):
    ids = seed(sqlite_app.store)
    with sqlite_app.store.begin() as conn:
        hold = open_hold(conn, ids["opener"], "legal claim pending", "dpo")
    with pytest.raises(InputError, match="open erasure hold"):
        forget_person(sqlite_app.store, policy(), [], "opener@example.org", apply=True, now=NOW)
    rows = {r.contact_id: r for r in make_plan(sqlite_app.store, policy(), NOW).rows}
    assert rows[ids["opener"]].action == "keep" and "keep-erasure-hold" in rows[ids["opener"]].rules
    with sqlite_app.store.begin() as conn:
        close_hold(conn, hold, "dpo")
    assert forget_person(sqlite_app.store, policy(), [], "opener@example.org", apply=True, now=NOW).suppressed


def test_a_forgotten_email_is_not_added_again_by_a_later_import(cli, tmp_path):
    ids = seed(cli.app.store)
    dry = cli("gdpr", "forget", "Opener@Example.org")
    assert "dry run" in dry.output and "opener@example.org" not in dry.output.lower()
    done = cli("gdpr", "forget", "opener@example.org", "--apply")
    assert "suppression list" in done.output
    f = tmp_path / "contacts.csv"
    f.write_text("email,first_name,last_name\nopener@example.org,Opener,Jansen\nfresh@example.org,Fresh,Face\n")
    result = cli("--json", "import", "contacts", str(f))
    assert json.loads(result.output)["counts"].get("contacts_suppressed") == 1
    with cli.app.store.read() as conn:
        assert conn.execute(select(contacts.c.id).where(contacts.c.email == "opener@example.org")).first() is None
        assert conn.execute(select(contacts.c.id).where(contacts.c.id == ids["opener"])).first() is None  # erased
        assert conn.execute(select(contacts.c.id).where(contacts.c.email == "fresh@example.org")).first() is not None
    trail = cli("gdpr", "audit", "--since", "2020-01-01").output
    assert "gdpr.forget" in trail and "opener@example.org" not in trail


def test_export_gathers_the_store_and_every_system(sqlite_app, tmp_path):
    ids = seed(sqlite_app.store)
    document = export_person(sqlite_app.store, [mailchimp(), civicrm()], "donor@example.org", "dpo")
    assert [c["id"] for c in document["contacts"]] == [ids["donor"]]
    assert [d["external_id"] for d in document["donations"]] == ["gift-donor"]
    assert [c["purpose"] for c in document["consents"]] == ["newsletter"]
    assert len(document["engagement"]) == 12 and document["newsletter"][0]["status"] == "subscribed"
    assert set(document["systems"]) == {"mailchimp", "civicrm"}
    assert [e["action"] for e in audit_trail(sqlite_app.store)] == ["gdpr.export"]


def test_cli_export_writes_an_owner_only_file(cli, tmp_path):
    seed(cli.app.store)
    out = tmp_path / "export.json"
    cli("gdpr", "export", "donor@example.org", "--out", str(out))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["contacts"][0]["email"] == "donor@example.org"
