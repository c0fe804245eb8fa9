"""Pushing gifts to the local fake CiviCRM: exactly once, refunds once, soft credits, contacts, kill and re-run."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from conftest import make_app
from sqlalchemy import update

from vwfund import nightly
from vwfund.connectors.civicrm.client import CiviClient
from vwfund.models import Contact, Donation
from vwfund.store.records import save_records
from vwfund.store.schema import donations
from vwfund.sync import run_push
from vwfund.testing.fake_civicrm import FakeCiviCRM

KEY, SITE = "k-1234567890", "s-1234567890"
WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with FakeCiviCRM(api_key=KEY, site_key=SITE) as f:
        f.state.clock = WHEN
        yield f


@pytest.fixture
def civi_app(store, builtin_plugins, fake):
    app = make_app(store, builtin_plugins, {"civicrm": {"url": fake.url, "api_key": KEY, "site_key": SITE,
                                                        "batch_size": 7}})
    yield app
    app.close()


def gift(ext: str, amount: int = 2500, customer: str | None = "cus_1", **kw) -> Donation:
    values = {"source": "stripe", "external_id": ext, "amount_minor": amount, "currency": "EUR",
              "status": "succeeded", "received_at": datetime(2026, 2, 14, 10, 30, tzinfo=UTC), **kw}
    if customer:
        values.update(contact_source="stripe", contact_external_id=customer)
    return Donation(**values)


def donor(customer: str = "cus_1", email: str = "an@example.org") -> Contact:
    return Contact(source="stripe", external_id=customer, email=email, first_name="An", last_name="Peeters")


def save(app, *records) -> None:
    with app.store.begin() as conn:
        save_records(conn, list(records))


def push(app) -> dict:
    results = {r.stream: r for r in nightly.push(app, "civicrm")}
    return results


def by_invoice(fake: FakeCiviCRM) -> dict[str, dict]:
    return {c["invoice_id"]: c for c in fake.rows("Contribution")}


def payments_of(fake: FakeCiviCRM, contribution_id: int) -> list[dict]:
    return [p for p in fake.rows("Payment") if p["_contribution_id"] == contribution_id]


def test_gift_becomes_one_completed_contribution_with_fee(civi_app, fake):
    save(civi_app, donor(), gift("ch_1", 2500, fee_minor=89, campaign="spring"))
    fake.seed("Campaign", {"name": "spring", "title": "Spring appeal"})
    results = push(civi_app)
    assert results["civicrm.contributions"].ok, results["civicrm.contributions"].errors
    [contribution] = fake.rows("Contribution")
    assert contribution["invoice_id"] == "vwfund:stripe:ch_1"
    assert Decimal(str(contribution["total_amount"])) == Decimal("25.00")
    assert Decimal(str(contribution["fee_amount"])) == Decimal("0.89")
    assert contribution["contribution_status_id"] == 1  # Completed, reached through the payment
    assert contribution["trxn_id"] == "ch_1"
    assert contribution["campaign_id"] == fake.rows("Campaign")[0]["id"]
    [payment] = payments_of(fake, contribution["id"])
    assert payment["trxn_id"] == "ch_1" and Decimal(str(payment["total_amount"])) == Decimal("25.00")
    [contact] = fake.rows("Contact")
    assert contact["first_name"] == "An" and contact["external_identifier"].startswith("vwfund-")
    assert [e["email"] for e in fake.rows("Email")] == ["an@example.org"]


def test_push_twice_duplicates_nothing(civi_app, fake):
    save(civi_app, donor(), *[gift(f"ch_{i}", 1000 + i) for i in range(10)])
    push(civi_app)
    counts = (len(fake.rows("Contribution")), len(fake.rows("Payment")), len(fake.rows("Contact")))
    requests_before = fake.requests
    second = push(civi_app)
    assert (len(fake.rows("Contribution")), len(fake.rows("Payment")), len(fake.rows("Contact"))) == counts
    assert counts == (10, 10, 1)
    assert second["civicrm.contributions"].counts["pushed"] == 0
    assert fake.requests == requests_before  # nothing changed: nothing asked


def test_refund_pushed_once_as_negative_payment(civi_app, fake):
    save(civi_app, donor(), gift("ch_1", 2500))
    push(civi_app)
    with civi_app.store.begin() as conn:
        conn.execute(update(donations).values(refunded_minor=1000, status="partially_refunded"))
    push(civi_app)
    push(civi_app)
    [contribution] = fake.rows("Contribution")
    amounts = sorted(Decimal(str(p["total_amount"])) for p in payments_of(fake, contribution["id"]))
    assert amounts == [Decimal("-10.00"), Decimal("25.00")]
    assert contribution["contribution_status_id"] == 1  # a partial refund leaves it Completed
    with civi_app.store.begin() as conn:
        conn.execute(update(donations).values(refunded_minor=2500, status="refunded"))
    push(civi_app)
    push(civi_app)
    contribution = fake.rows("Contribution")[0]
    amounts = sorted(Decimal(str(p["total_amount"])) for p in payments_of(fake, contribution["id"]))
    assert amounts == [Decimal("-15.00"), Decimal("-10.00"), Decimal("25.00")]
    assert contribution["contribution_status_id"] == 7  # Refunded


def test_lost_dispute_takes_back_what_was_left(civi_app, fake):
    save(civi_app, donor(), gift("ch_1", 4000, refunded_minor=500, status="disputed"))
    push(civi_app)
    contribution = fake.rows("Contribution")[0]
    by_trxn = {p["trxn_id"]: Decimal(str(p["total_amount"])) for p in payments_of(fake, contribution["id"])}
    assert by_trxn == {"ch_1": Decimal("40.00"), "ch_1:refund": Decimal("-5.00"), "ch_1:dispute": Decimal("-35.00")}


def test_pending_failed_and_test_gifts_are_not_pushed(civi_app, fake):
    save(civi_app, donor(), gift("ch_p", status="pending"), gift("ch_f", status="failed"), gift("ch_t", is_test=True))
    push(civi_app)
    assert fake.rows("Contribution") == []


def test_kill_mid_push_then_rerun_nothing_duplicated_nothing_missing(civi_app, fake, monkeypatch):
    gifts = [gift(f"ch_{i}", 500 + i, customer=f"cus_{i % 5}", fee_minor=i) for i in range(40)]
    save(civi_app, *[donor(f"cus_{i}", f"d{i}@example.org") for i in range(5)], *gifts)
    real_multi = CiviClient.multi
    calls = {"n": 0}
    kill_at = random.Random(7).randint(3, 14)

    def dying_multi(self, batch):
        calls["n"] += 1
        if calls["n"] == kill_at:
            raise KeyboardInterrupt("killed")
        return real_multi(self, batch)

    monkeypatch.setattr(CiviClient, "multi", dying_multi)
    [contributions_push] = [p for p in civi_app.connector("civicrm").pushes(civi_app)
                            if p.name == "civicrm.contributions"]
    with pytest.raises(KeyboardInterrupt):
        run_push(civi_app.store, contributions_push)
    partial = len(fake.rows("Contribution"))
    assert 0 < partial < 40
    monkeypatch.setattr(CiviClient, "multi", real_multi)
    result = push(civi_app)["civicrm.contributions"]
    assert result.ok, result.errors
    found = by_invoice(fake)
    assert sorted(found) == sorted(f"vwfund:stripe:ch_{i}" for i in range(40))
    for g in gifts:
        pays = payments_of(fake, found[f"vwfund:stripe:{g.external_id}"]["id"])
        assert [Decimal(str(p["total_amount"])) for p in pays] == [Decimal(g.amount_minor) / 100]
    assert len(fake.rows("Contact")) == 5


def test_lost_answer_after_payment_is_not_paid_twice(civi_app, fake):
    save(civi_app, donor(), gift("ch_1", 2500))
    fake.inject("Payment", "create", 500, after=True)  # carried out, answer lost
    first = push(civi_app)["civicrm.contributions"]
    assert not first.ok and "error id" in first.errors[0]
    push(civi_app)
    contribution = fake.rows("Contribution")[0]
    assert len(payments_of(fake, contribution["id"])) == 1


def test_known_civicrm_contact_is_used_and_email_found_before_created(civi_app, fake):
    existing = fake.seed("Contact", {"first_name": "An", "last_name": "P"})
    fake.seed("Email", {"contact_id": existing["id"], "email": "An@Example.org", "is_primary": True})
    save(civi_app, donor(), gift("ch_1"))
    push(civi_app)
    assert len(fake.rows("Contact")) == 1
    assert fake.rows("Contribution")[0]["contact_id"] == existing["id"]


def test_one_email_on_two_civicrm_contacts_is_reported_and_skipped(civi_app, fake):
    for _ in range(2):
        c = fake.seed("Contact", {"first_name": "Twin"})
        fake.seed("Email", {"contact_id": c["id"], "email": "an@example.org", "is_primary": True})
    save(civi_app, donor(), gift("ch_1"))
    result = push(civi_app)["civicrm.contributions"]
    assert result.status == "partial"
    assert any("2 CiviCRM contacts" in e for e in result.errors)
    assert not any("an@example.org" in e for e in result.errors)
    assert fake.rows("Contribution") == []


def _walk(app, walker_email: str | None = "w@example.org") -> None:
    records = [Contact(source="walk", external_id="team:blue", display_name="Team Blue")]
    if walker_email:
        records.append(Contact(source="walk", external_id="walker:ann", first_name="Ann", last_name="Walker",
                               email=walker_email))
    save(app, *records)


def test_walk_soft_credit_goes_to_walker_not_also_team(civi_app, fake):
    _walk(civi_app)
    save(civi_app, donor(), gift("ch_w", 3000, walker="ann", team="blue"), gift("ch_t", 2000, team="blue"))
    push(civi_app)
    push(civi_app)
    contacts = {c["id"]: c for c in fake.rows("Contact")}
    softs = {(fake.state.rows["Contribution"][s["contribution_id"]]["invoice_id"],
              contacts[s["contact_id"]]["display_name"]) for s in fake.rows("ContributionSoft")}
    assert softs == {("vwfund:stripe:ch_w", "Ann Walker"), ("vwfund:stripe:ch_t", "Team Blue")}
    assert len(fake.rows("ContributionSoft")) == 2
    team = next(c for c in contacts.values() if c["display_name"] == "Team Blue")
    assert team["contact_type"] == "Organization"


def test_gift_for_unknown_walker_is_pushed_without_soft_credit_and_reported(civi_app, fake):
    save(civi_app, donor(), gift("ch_w", 3000, walker="ghost"))
    result = push(civi_app)["civicrm.contributions"]
    assert len(fake.rows("Contribution")) == 1 and fake.rows("ContributionSoft") == []
    assert any("walker:ghost" in e for e in result.errors)


def test_bulk_push_uses_few_requests(civi_app, fake):
    save(civi_app, *[donor(f"cus_{i}", f"d{i}@example.org") for i in range(20)],
         *[gift(f"ch_{i}", 1000, customer=f"cus_{i % 20}") for i in range(70)])
    push(civi_app)
    assert len(fake.rows("Contribution")) == 70
    # 10 batches of 7: each at most contacts look-up + create, gifts look-up, orders, payments (+ references once)
    assert fake.requests <= 10 * 5 + 2


def test_contact_trashed_in_civicrm_since_the_link_is_not_used(civi_app, fake):
    old = fake.seed("Contact", {"first_name": "An", "last_name": "Old"})
    fake.seed("Email", {"contact_id": old["id"], "email": "an@example.org", "is_primary": True})
    save(civi_app, Contact(source="civicrm", external_id=str(old["id"]), email="an@example.org"), donor(),
         gift("ch_1"))
    fake.api.update("Contact", {"where": [["id", "=", old["id"]]], "values": {"is_deleted": True}})
    result = push(civi_app)["civicrm.contributions"]
    assert result.ok, result.errors
    [contribution] = fake.rows("Contribution")
    assert contribution["contact_id"] != old["id"]
    assert not fake.state.rows["Contact"][contribution["contact_id"]]["is_deleted"]


def test_monthly_donor_becomes_one_recurring_contribution_its_gifts_point_at(civi_app, fake):
    from sqlalchemy import select as sql_select

    from vwfund.models import RecurringPlan
    from vwfund.store.schema import recurring_plans

    plan = RecurringPlan(source="stripe", external_id="sub_1", contact_source="stripe", contact_external_id="cus_1",
                         amount_minor=1500, currency="EUR", interval="month", status="active",
                         started_at=datetime(2026, 1, 5, tzinfo=UTC))
    save(civi_app, donor(), plan, gift("ch_jan", 1500, recurring_plan="sub_1"), gift("ch_feb", 1500,
                                                                                     recurring_plan="sub_1"))
    push(civi_app)
    push(civi_app)
    [recur] = fake.rows("ContributionRecur")
    assert recur["invoice_id"] == "vwfund:stripe:sub_1" and recur["contribution_status_id"] == 5  # In Progress
    assert Decimal(str(recur["amount"])) == Decimal("15.00") and recur["frequency_unit"] == "month"
    assert {c["contribution_recur_id"] for c in fake.rows("Contribution")} == {recur["id"]}
    save(civi_app, plan.model_copy(update={"status": "cancelled", "ended_at": datetime(2026, 3, 1, tzinfo=UTC)}))
    result = push(civi_app)["civicrm.recurring"]
    assert result.counts["recurring_updated"] == 1
    [recur] = fake.rows("ContributionRecur")
    assert recur["contribution_status_id"] == 3 and recur["cancel_date"].startswith("2026-03-01")
    nightly.pull(civi_app, "civicrm")
    with civi_app.store.read() as conn:
        assert [r.source for r in conn.execute(sql_select(recurring_plans))] == ["stripe"]


def test_user_sees_civicrm_error_id_and_a_failing_exit(civi_app, fake):
    from conftest import Cli

    save(civi_app, donor(), gift("ch_1"))
    fake.inject("Order", "create", 500)
    result = Cli(civi_app)("push", "civicrm", expect=1)
    assert "CiviCRM error id" in result.output and "gift stripe:ch_1" in result.output
    assert KEY not in result.output
    Cli(civi_app)("push", "civicrm")  # the next run records it
    assert len(fake.rows("Contribution")) == 1


def test_faulty_network_then_rerun_every_gift_exactly_once(store, builtin_plugins, fake):
    from vwfund.testing.faults import FaultPlan, FaultProxy

    plan = FaultPlan.uniform(0.25, seed=11)
    plan.hang_seconds = 0.1
    with FaultProxy(fake.url, plan) as proxy:
        app = make_app(store, builtin_plugins, {"civicrm": {"url": proxy.url, "api_key": KEY, "site_key": SITE,
                                                            "batch_size": 6}})
        save(app, *[donor(f"cus_{i}", f"d{i}@example.org") for i in range(6)],
             *[gift(f"ch_{i}", 700 + i, customer=f"cus_{i % 6}", refunded_minor=100 if i % 4 == 0 else 0,
                    status="partially_refunded" if i % 4 == 0 else "succeeded") for i in range(24)])
        for _ in range(8):
            push(app)
        proxy.enabled = False
        final = push(app)["civicrm.contributions"]
        app.close()
    assert final.ok, final.errors
    assert proxy.counts["lost_answer"] > 0 and proxy.counts["drop"] > 0, proxy.counts
    found = by_invoice(fake)
    assert sorted(found) == sorted(f"vwfund:stripe:ch_{i}" for i in range(24))
    for i in range(24):
        pays = sorted(Decimal(str(p["total_amount"])) for p in payments_of(fake, found[f"vwfund:stripe:ch_{i}"]["id"]))
        expected = [Decimal("-1.00")] if i % 4 == 0 else []
        assert pays == [*expected, Decimal(700 + i) / 100]
    assert len(fake.rows("Contact")) == 6
