"""Syncing from a stateful local fake of Stripe: pages, cursors, later refunds and disputes, modes, faults."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import make_app
from sqlalchemy import select

from vwfund import nightly
from vwfund.app import App
from vwfund.connectors.stripe.api import StripeApi
from vwfund.connectors.stripe.convert import email_contact_id
from vwfund.errors import RemoteError
from vwfund.store.amounts import counted_expr
from vwfund.store.database import Store
from vwfund.store.schema import contact_links, contacts, donations, payout_lines, payouts, recurring_plans
from vwfund.testing.fake_stripe import FakeStripe, stripe_settings


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """A started live-mode fake Stripe (test-mode gifts never count) whose clock the sync engine follows."""
    with FakeStripe(api_key="sk_live_FAKE", livemode=True) as f:
        monkeypatch.setattr("vwfund.sync.utcnow", lambda: datetime.fromtimestamp(f.now(), UTC))
        yield f


def _app(store: Store, plugins: Any, fake: FakeStripe) -> App:
    return make_app(store, plugins, stripe_settings(fake))


def _sync(app: App, **kw: Any) -> dict[str, Any]:
    results = nightly.pull(app, "stripe", **kw)
    failed = [r.to_json() for r in results if not r.ok]
    assert not failed, failed
    return {r.stream: r for r in results}


def _gift(store: Store, charge_id: str) -> Any:
    with store.read() as conn:
        return conn.execute(select(donations).where(donations.c.external_id == charge_id)).one()


def _raised(store: Store) -> int:
    with store.read() as conn:
        return sum(conn.execute(select(counted_expr(donations))).scalars())


def _snapshot(store: Store) -> dict[str, Any]:
    """Everything the sync writes, without surrogate ids and timestamps of writing."""
    skip = {"id", "created_at", "updated_at", "contact_id", "observed_at"}
    out: dict[str, Any] = {}
    with store.read() as conn:
        for table in (donations, recurring_plans, payouts, payout_lines):
            rows = conn.execute(select(table)).mappings().all()
            out[table.name] = sorted(tuple(sorted((k, v) for k, v in r.items() if k not in skip)) for r in rows)
        links = conn.execute(select(contact_links.c.system, contact_links.c.external_id, contacts.c.email)
                             .join(contacts, contacts.c.id == contact_links.c.contact_id)).all()
        out["contacts"] = sorted(tuple(r) for r in links)
    return out


def test_first_sync_reads_every_object_with_fees_attribution_and_contacts(store, builtin_plugins, fake):
    cus = fake.add_customer("an@example.org", "An de Vries", created=fake.now() - 5000)
    gift = fake.add_charge(2500, customer=cus["id"], metadata={"campaign": "walk26", "team": "Zwolle",
                                                               "walker": "an", "display_name": "An",
                                                               "message": "<b>go</b>"},
                           created=fake.now() - 4000, fee=63)
    guest = fake.add_charge(1000, email="Guest@Example.org", created=fake.now() - 3000)
    via_link = fake.add_charge(1500, created=fake.now() - 2000,
                               payment_intent={"metadata": {"campaign": "walk26", "team": "Ede"}})
    sub = fake.add_subscription(cus["id"], 1200, metadata={"campaign": "monthly"})
    payout = fake.add_payout([gift["id"], guest["id"]])
    app = _app(store, builtin_plugins, fake)
    fake.advance(5)  # objects made this second are read by the next run

    _sync(app)

    row = _gift(store, gift["id"])
    assert (row.amount_minor, row.fee_minor, row.currency, row.status) == (2500, 63, "EUR", "succeeded")
    assert (row.campaign, row.team, row.walker, row.public_name, row.public_message) == (
        "walk26", "Zwolle", "an", "An", "<b>go</b>")
    assert not row.is_test and row.contact_external_id == cus["id"] and row.contact_id is not None
    guest_row = _gift(store, guest["id"])
    assert guest_row.contact_external_id == email_contact_id("guest@example.org")
    with store.read() as conn:
        email = conn.execute(select(contacts.c.email).where(contacts.c.id == guest_row.contact_id)).scalar()
        assert email == "guest@example.org"
        plan = conn.execute(select(recurring_plans)).one()
        assert (plan.external_id, plan.amount_minor, plan.interval, plan.campaign) == (sub["id"], 1200, "month",
                                                                                       "monthly")
        assert plan.contact_id == row.contact_id
        po = conn.execute(select(payouts)).one()
        lines = conn.execute(select(payout_lines)).all()
    assert _gift(store, via_link["id"]).team == "Ede"
    assert po.external_id == payout["id"]
    assert {ln.donation_external_id for ln in lines} == {gift["id"], guest["id"]}
    assert sum(ln.net_minor for ln in lines) == po.amount_minor


def test_pagination_across_many_pages_and_a_rerun_with_nothing_new(store, builtin_plugins, fake):
    start = fake.now() - 10_000
    ids = [fake.add_charge(100 + i, created=start + i)["id"] for i in range(345)]
    app = _app(store, builtin_plugins, fake)
    _sync(app)
    with store.read() as conn:
        assert sorted(conn.execute(select(donations.c.external_id)).scalars()) == sorted(ids)
    assert fake.calls["GET /v1/charges"] == 4  # ceil(345 / 100)
    fake.state.calls.clear()
    _sync(app)
    per_stream = {path: n for path, n in fake.calls.items()}
    assert all(n <= 2 for n in per_stream.values()), per_stream
    assert fake.total_calls() <= 2 * 6


def test_new_gift_after_the_first_run_is_read_once(store, builtin_plugins, fake):
    fake.add_charge(500, created=fake.now() - 100)
    app = _app(store, builtin_plugins, fake)
    _sync(app)
    later = fake.add_charge(700, created=fake.now() + 5)
    fake.advance(10)
    _sync(app)
    assert _gift(store, later["id"]).amount_minor == 700
    assert _raised(store) == 1200


def test_partial_then_full_refund_weeks_later_subtracts_once(store, builtin_plugins, fake):
    gift = fake.add_charge(5000, created=fake.now() - 100)
    app = _app(store, builtin_plugins, fake)
    _sync(app)
    fake.advance(14 * 86400)
    fake.refund(gift["id"], 2000)
    fake.advance(60)
    _sync(app)
    row = _gift(store, gift["id"])
    assert (row.refunded_minor, row.status) == (2000, "partially_refunded")
    assert _raised(store) == 3000
    _sync(app)  # the same refund seen again changes nothing
    assert _raised(store) == 3000
    fake.advance(7 * 86400)
    fake.refund(gift["id"])
    fake.advance(60)
    _sync(app)
    row = _gift(store, gift["id"])
    assert (row.refunded_minor, row.status) == (5000, "refunded")
    assert _raised(store) == 0


@pytest.mark.parametrize("won", [True, False])
def test_dispute_won_and_lost(store, builtin_plugins, fake, won):
    gift = fake.add_charge(4000, created=fake.now() - 100)
    app = _app(store, builtin_plugins, fake)
    _sync(app)
    fake.advance(3 * 86400)
    dispute = fake.dispute(gift["id"])
    fake.advance(60)
    _sync(app)
    assert _gift(store, gift["id"]).status == "disputed"
    assert _raised(store) == 0
    fake.advance(20 * 86400)
    fake.close_dispute(dispute["id"], won=won)
    fake.advance(60)
    _sync(app)
    assert _gift(store, gift["id"]).status == ("succeeded" if won else "disputed")
    assert _raised(store) == (4000 if won else 0)


def test_dispute_on_a_new_gift_is_read_by_the_first_run(store, builtin_plugins, fake):
    gift = fake.add_charge(4000, created=fake.now() - 100)
    fake.dispute(gift["id"])
    _sync(_app(store, builtin_plugins, fake))
    assert _gift(store, gift["id"]).status == "disputed"


def test_sepa_gift_settles_days_later(store, builtin_plugins, fake):
    ok = fake.add_charge(3000, status="pending", created=fake.now() - 100)
    bad = fake.add_charge(2000, status="pending", created=fake.now() - 90)
    app = _app(store, builtin_plugins, fake)
    _sync(app)
    assert _gift(store, ok["id"]).status == "pending" and _raised(store) == 0
    fake.advance(5 * 86400)
    fake.settle(ok["id"], "succeeded")
    fake.settle(bad["id"], "failed")
    fake.advance(60)
    _sync(app)
    assert _gift(store, ok["id"]).status == "succeeded" and _gift(store, ok["id"]).fee_minor > 0
    assert _gift(store, bad["id"]).status == "failed"
    assert _raised(store) == 3000


def test_zero_decimal_currency_is_never_divided(store, builtin_plugins, fake):
    gift = fake.add_charge(5000, "jpy", fee=180, created=fake.now() - 100)
    _sync(_app(store, builtin_plugins, fake))
    row = _gift(store, gift["id"])
    assert (row.amount_minor, row.fee_minor, row.currency) == (5000, 180, "JPY")


def test_sync_older_than_event_retention_rereads_and_says_so(store, builtin_plugins, fake):
    gift = fake.add_charge(5000, created=fake.now() - 100)
    old = fake.add_charge(6000, created=fake.now() - 90)
    app = _app(store, builtin_plugins, fake)
    _sync(app)
    fake.advance(10 * 86400)
    fake.refund(gift["id"], 1500)
    fake.dispute(old["id"])
    fake.advance(40 * 86400)  # the refund's and dispute's events are gone from the Events API
    results = _sync(app)
    notes = results["stripe.events"].notes
    assert any("30 days" in n for n in notes), notes
    assert _gift(store, gift["id"]).refunded_minor == 1500
    assert _gift(store, old["id"]).status == "disputed"
    assert _raised(store) == 3500
    fake.advance(3600)
    assert not _sync(app)["stripe.events"].notes  # caught up: the next run is a normal one


def test_cancelled_monthly_donor(store, builtin_plugins, fake):
    cus = fake.add_customer("b@example.org", created=fake.now() - 200)
    sub = fake.add_subscription(cus["id"], 1000)
    app = _app(store, builtin_plugins, fake)
    fake.advance(5)
    _sync(app)
    fake.advance(86400)
    fake.cancel_subscription(sub["id"])
    fake.advance(60)
    _sync(app)
    with store.read() as conn:
        plan = conn.execute(select(recurring_plans)).one()
    assert plan.status == "canceled" and plan.ended_at is not None


def test_test_and_live_data_never_mix(store, builtin_plugins, fake):
    fake.add_charge(500, created=fake.now() - 100)
    _sync(_app(store, builtin_plugins, fake))
    test_app = make_app(store, builtin_plugins, {"stripe": {"api_key": "sk_test_abcdefgh12345678",
                                                            "api_base": fake.url}})
    results = nightly.pull(test_app, "stripe")
    assert all(r.status == "failed" for r in results)
    assert "live-mode data" in results[0].errors[0] and "test-mode" in results[0].errors[0]
    assert "abcdefgh12345678" not in " ".join(e for r in results for e in r.errors)


def test_429_and_5xx_are_retried(store, builtin_plugins, fake):
    for i in range(150):
        fake.add_charge(100 + i, created=fake.now() - 1000 + i)
    fake.fail_next(429, times=2, retry_after="0", path_prefix="/v1/charges")
    fake.fail_next(503, times=1, path_prefix="/v1/charges")
    _sync(_app(store, builtin_plugins, fake))
    assert _raised(store) == sum(100 + i for i in range(150))
    assert fake.calls["GET /v1/charges"] == 2 + 3


def test_timeout_is_retried(fake):
    fake.add_charge(900, created=fake.now() - 100)
    fake.fail_next(200, delay=1.5, path_prefix="/v1/charges")
    from vwfund.http import make_session

    api = StripeApi(fake.api_key, fake.url, session=make_session(timeout=(2.0, 0.5), backoff=0.01))
    pages = list(api.pages("/v1/charges"))
    assert [c["amount"] for c in pages[0][0]] == [900]


def test_refused_request_names_the_call_but_not_the_key(fake):
    api = StripeApi("sk_test_wrongwrongwrong123", fake.url)
    with pytest.raises(RemoteError) as err:
        api.get("/v1/charges")
    assert "401" in str(err.value) and "/v1/charges" in str(err.value)
    assert "wrongwrong" not in str(err.value)


@pytest.mark.parametrize("crash_at", random.Random(7).sample(range(2, 8), 3))  # customers' or charges' pages
def test_crash_at_a_random_page_then_rerun_equals_a_clean_run(tmp_path, builtin_plugins, fake, monkeypatch, crash_at):
    from vwfund.store.database import open_store

    start = fake.now() - 50_000
    customers = [fake.add_customer(f"d{i}@example.org", created=start + i) for i in range(120)]
    for i in range(430):
        fake.add_charge(200 + i, customer=customers[i % 120]["id"] if i % 3 else None,
                        email=f"g{i}@example.org", created=start + 500 + i)
    fake.add_payout([f"ch_{i:014d}" for i in range(300)])
    fake.advance(5)  # every seeded object is older than both runs' start, whatever second the test begins in
    settings = stripe_settings(fake)
    settings["stripe"]["pages_per_commit"] = 1
    clean = open_store(f"sqlite:///{tmp_path / 'clean.db'}")
    _sync(make_app(clean, builtin_plugins, settings))

    crashed = open_store(f"sqlite:///{tmp_path / 'crashed.db'}")
    app = make_app(crashed, builtin_plugins, settings)
    original = StripeApi.get
    calls = {"n": 0}

    def flaky(self: StripeApi, path: str, params: Any = ()) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == crash_at:
            raise RemoteError("simulated crash")
        return original(self, path, params)

    monkeypatch.setattr(StripeApi, "get", flaky)
    results = nightly.pull(app, "stripe")
    assert any("simulated crash" in e for r in results for e in r.errors)
    assert _snapshot(crashed) != _snapshot(clean)
    monkeypatch.setattr(StripeApi, "get", original)
    _sync(app)
    got, want = _snapshot(crashed), _snapshot(clean)
    assert got == want
    with crashed.read() as conn:
        assert len(conn.execute(select(donations.c.id)).all()) == 430


def test_rerun_changes_nothing_and_since_rereads_a_period(store, builtin_plugins, fake):
    cus = fake.add_customer("c@example.org", created=fake.now() - 9000)
    old = fake.add_charge(800, customer=cus["id"], created=fake.now() - 8000)
    new = fake.add_charge(900, created=fake.now() - 100)
    app = _app(store, builtin_plugins, fake)
    _sync(app)
    before = _snapshot(store)
    fake.advance(60)
    _sync(app)
    assert _snapshot(store) == before
    with store.begin() as conn:  # someone damaged a stored gift; --since re-reads that period only
        conn.execute(donations.update().values(amount_minor=1))
    fake.state.calls.clear()
    since = datetime.fromtimestamp(fake.now() - 3600, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    from vwfund.timeutil import parse_instant

    _sync(app, since=parse_instant(since))
    assert _gift(store, new["id"]).amount_minor == 900
    assert _gift(store, old["id"]).amount_minor == 1


def test_refund_of_a_gift_read_before_a_crash_is_not_missed(store, builtin_plugins, fake, monkeypatch):
    start = fake.now() - 5000
    charges = [fake.add_charge(1000 + i, created=start + i) for i in range(250)]
    settings = stripe_settings(fake)
    settings["stripe"]["pages_per_commit"] = 1
    app = make_app(store, builtin_plugins, settings)
    original = StripeApi.get
    seen = {"pages": 0}

    def crash_on_second_charges_page(self: StripeApi, path: str, params: Any = ()) -> dict[str, Any]:
        if path == "/v1/charges":
            seen["pages"] += 1
            if seen["pages"] == 2:
                raise RemoteError("simulated crash")
        return original(self, path, params)

    monkeypatch.setattr(StripeApi, "get", crash_on_second_charges_page)
    nightly.pull(app, "stripe")
    monkeypatch.setattr(StripeApi, "get", original)
    newest = charges[-1]["id"]  # on the first page, saved before the crash
    assert _gift(store, newest).refunded_minor == 0
    fake.advance(3600)
    fake.refund(newest, 300)
    fake.advance(60)
    _sync(app)
    assert _gift(store, newest).refunded_minor == 300
    with store.read() as conn:
        assert len(conn.execute(select(donations.c.id)).all()) == 250


def test_payout_paid_later_is_updated_with_its_lines(store, builtin_plugins, fake):
    gifts = [fake.add_charge(1000 * (i + 1), created=fake.now() - 500 + i) for i in range(3)]
    fake.refund(gifts[0]["id"], 400)
    payout = fake.add_payout([g["id"] for g in gifts], status="in_transit")
    app = _app(store, builtin_plugins, fake)
    fake.advance(5)
    _sync(app)
    fake.advance(2 * 86400)
    fake.pay_payout(payout["id"])
    fake.advance(60)
    _sync(app)
    with store.read() as conn:
        po = conn.execute(select(payouts)).one()
        lines = conn.execute(select(payout_lines)).all()
    assert po.status == "paid"
    assert sorted((ln.kind, ln.gross_minor, ln.donation_external_id) for ln in lines) == sorted(
        [("charge", 1000, gifts[0]["id"]), ("charge", 2000, gifts[1]["id"]), ("charge", 3000, gifts[2]["id"]),
         ("refund", -400, gifts[0]["id"])])
    assert sum(ln.net_minor for ln in lines) == po.amount_minor


def test_attribution_from_a_checkout_session_or_its_payment_link(store, builtin_plugins, fake):
    by_session = fake.add_charge(1000, created=fake.now() - 300, payment_intent={})
    fake.add_checkout_session(by_session["id"], metadata={"campaign": "walk26", "walker": "an"})
    by_link = fake.add_charge(2000, created=fake.now() - 200, payment_intent={})
    fake.add_checkout_session(by_link["id"], link_metadata={"campaign": "walk26", "team": "Ede"})
    on_intent = fake.add_charge(3000, created=fake.now() - 100, payment_intent={"metadata": {"campaign": "x"}})
    app = _app(store, builtin_plugins, fake)
    _sync(app)
    assert (_gift(store, by_session["id"]).campaign, _gift(store, by_session["id"]).walker) == ("walk26", "an")
    assert (_gift(store, by_link["id"]).campaign, _gift(store, by_link["id"]).team) == ("walk26", "Ede")
    assert _gift(store, on_intent["id"]).campaign == "x"
    assert fake.calls["GET /v1/checkout/sessions"] == 2  # not for the gift whose intent carries metadata
    fake.advance(86400)
    fake.refund(by_session["id"], 100)  # read back later: the session's attribution stays
    fake.advance(60)
    _sync(app)
    assert (_gift(store, by_session["id"]).campaign, _gift(store, by_session["id"]).refunded_minor) == ("walk26", 100)
