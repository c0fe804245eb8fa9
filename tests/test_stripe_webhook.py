"""The webhook endpoint: signature checks, dedupe, out-of-order deliveries, events kept for the next sync."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import make_app
from sqlalchemy import func, select
from werkzeug.test import Client

from vwfund import nightly
from vwfund.app import App
from vwfund.connectors.stripe.tables import stripe_webhook_events
from vwfund.connectors.stripe.webhook import make_webhook_app
from vwfund.store.schema import donations
from vwfund.testing.fake_stripe import FakeStripe, sign_payload, signed_delivery, stripe_settings
from vwfund.web import build_wsgi_app

SECRET = "whsec_testsecret123456"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    """A started live-mode fake Stripe."""
    with FakeStripe(api_key="sk_live_FAKE", livemode=True) as f:
        yield f


@pytest.fixture
def app(sqlite_store: Any, builtin_plugins: Any, fake: FakeStripe) -> Iterator[App]:
    """An app whose Stripe settings point at the fake, with a webhook secret."""
    a = make_app(sqlite_store, builtin_plugins, stripe_settings(fake, SECRET))
    yield a
    a.close()


def _post(client: Client, event: dict[str, Any], secret: str = SECRET, timestamp: int | None = None,
          path: str = "/webhook") -> Any:
    body, headers = signed_delivery(event, secret, timestamp)
    return client.post(path, data=body, headers=headers)


def _events_of(fake: FakeStripe, charge_id: str) -> list[dict[str, Any]]:
    return fake.events_about(charge_id)


def _gifts(app: App) -> list[Any]:
    with app.store.read() as conn:
        return conn.execute(select(donations)).all()


def _deliveries(app: App) -> list[Any]:
    with app.store.read() as conn:
        return conn.execute(select(stripe_webhook_events)).all()


def test_valid_delivery_is_applied_with_fee(app, fake):
    charge = fake.add_charge(2500, fee=63, metadata={"campaign": "walk26", "team": "Ede"})
    resp = _post(Client(make_webhook_app(app)), _events_of(fake, charge["id"])[0])
    assert resp.status_code == 200 and resp.json["outcome"] == "applied"
    (gift,) = _gifts(app)
    assert (gift.external_id, gift.amount_minor, gift.fee_minor, gift.team) == (charge["id"], 2500, 63, "Ede")
    assert [d.status for d in _deliveries(app)] == ["applied"]


def test_endpoint_is_mounted_by_serve(app, fake):
    charge = fake.add_charge(1000)
    resp = _post(Client(build_wsgi_app(app)), _events_of(fake, charge["id"])[0], path="/stripe/webhook")
    assert resp.status_code == 200
    assert len(_gifts(app)) == 1


@pytest.mark.parametrize("secret, age", [("whsec_someoneelse99999", 0), (SECRET, 301)])
def test_bad_or_stale_signature_is_rejected_and_changes_nothing(app, fake, secret, age):
    charge = fake.add_charge(1000)
    resp = _post(Client(make_webhook_app(app)), _events_of(fake, charge["id"])[0], secret=secret,
                 timestamp=int(time.time()) - age)
    assert resp.status_code == 400
    assert _gifts(app) == [] and _deliveries(app) == []


def test_tampered_body_is_rejected(app, fake):
    charge = fake.add_charge(1000)
    body = json.dumps(_events_of(fake, charge["id"])[0]).encode()
    header = sign_payload(body, SECRET)
    resp = Client(make_webhook_app(app)).post("/webhook", data=body.replace(b"1000", b"9000"),
                                              headers={"Stripe-Signature": header})
    assert resp.status_code == 400 and _gifts(app) == []


def test_replayed_delivery_is_applied_once(app, fake):
    charge = fake.add_charge(1000)
    event = _events_of(fake, charge["id"])[0]
    client = Client(make_webhook_app(app))
    assert _post(client, event).json["outcome"] == "applied"
    reads = fake.calls[f"GET /v1/charges/{charge['id']}"]
    again = _post(client, event)
    assert again.status_code == 200 and again.json["outcome"] == "duplicate"
    assert fake.calls[f"GET /v1/charges/{charge['id']}"] == reads
    assert len(_gifts(app)) == 1 and _deliveries(app)[0].attempts == 1


def test_out_of_order_deliveries_end_in_the_current_state(app, fake):
    charge = fake.add_charge(5000)
    fake.refund(charge["id"], 1000)
    fake.refund(charge["id"], 500)
    created, first_refund, second_refund = _events_of(fake, charge["id"])
    client = Client(make_webhook_app(app))
    for event in (second_refund, created, first_refund):  # the newest arrives first
        assert _post(client, event).status_code == 200
    (gift,) = _gifts(app)
    assert (gift.refunded_minor, gift.status) == (1500, "partially_refunded")


def test_event_that_cannot_be_applied_is_kept_for_the_next_sync(app, fake):
    charge = fake.add_charge(3000)
    fake.fail_next(400, path_prefix=f"/v1/charges/{charge['id']}")
    resp = _post(Client(make_webhook_app(app)), _events_of(fake, charge["id"])[0])
    assert resp.status_code == 202
    (kept,) = _deliveries(app)
    assert kept.status == "pending" and kept.payload is not None
    assert _gifts(app) == []
    # The next sync applies it (here the first run reads everything anyway; a later run must too).
    fake.advance(2)
    results = nightly.pull(app, "stripe")
    assert all(r.ok for r in results), [r.errors for r in results]
    (kept,) = _deliveries(app)
    assert kept.status == "applied" and kept.payload is None
    assert [g.external_id for g in _gifts(app)] == [charge["id"]]


def test_event_of_another_mode_is_rejected(app, fake):
    charge = fake.add_charge(3000)
    event = {**_events_of(fake, charge["id"])[0], "livemode": False}
    resp = _post(Client(make_webhook_app(app)), event)
    assert resp.status_code == 400
    with app.store.read() as conn:
        assert conn.execute(select(func.count()).select_from(stripe_webhook_events)).scalar() == 0


def test_get_is_not_allowed(app):
    resp = Client(make_webhook_app(app)).get("/webhook")
    assert resp.status_code == 405


def test_without_a_secret_serve_still_starts_and_the_endpoint_answers_503(sqlite_store, builtin_plugins, fake):
    bare = make_app(sqlite_store, builtin_plugins, stripe_settings(fake))
    charge = fake.add_charge(1000)
    resp = _post(Client(build_wsgi_app(bare)), _events_of(fake, charge["id"])[0], path="/stripe/webhook")
    assert resp.status_code == 503 and _gifts(bare) == []
    bare.close()


def test_checkout_session_completed_applies_its_gift_with_the_session_attribution(app, fake):
    charge = fake.add_charge(4200, payment_intent={})
    session = fake.add_checkout_session(charge["id"], metadata={"campaign": "walk26", "team": "Ede"})
    (event,) = fake.events_about(session["id"])
    resp = _post(Client(make_webhook_app(app)), event)
    assert resp.status_code == 200 and resp.json["outcome"] == "applied"
    (gift,) = _gifts(app)
    assert (gift.external_id, gift.campaign, gift.team) == (charge["id"], "walk26", "Ede")
