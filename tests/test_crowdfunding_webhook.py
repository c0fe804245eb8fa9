"""End to end: signed Stripe events posted concurrently to the real webhook endpoint (HTTP on 127.0.0.1)
move the crowdfunding total served by the live feed, exactly once per gift, refunds included."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from vwfund.app import App
from vwfund.campaigns.crowdfunding import plugin as crowdfunding_plugin
from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign, save_campaign
from vwfund.campaigns.crowdfunding.matching import MatchRule
from vwfund.config import Config
from vwfund.plugins import load_plugins
from vwfund.web import build_wsgi_app

stripe_plugin = pytest.importorskip("vwfund.connectors.stripe.plugin")
fake_stripe = pytest.importorskip("vwfund.testing.fake_stripe")

CODE = "famreunion"
SECRET = "whsec_crowdfunding_test_secret"
THREADS = 6


@pytest.fixture
def fake() -> Iterator[Any]:
    """A live-mode Stripe (test-mode gifts never count toward a campaign)."""
    with fake_stripe.FakeStripe(api_key="sk_live_FAKE", livemode=True) as server:
        yield server


@pytest.fixture
def served(store, fake) -> Iterator[tuple[App, str]]:
    """vwfund serve with the Stripe webhook and the crowdfunding feed, on a free port of 127.0.0.1."""
    settings = {"stripe": {"api_key": fake.api_key, "api_base": fake.url, "webhook_secret": SECRET}}
    plugins = load_plugins(only_distribution="-", extra=[stripe_plugin, crowdfunding_plugin])
    app = App(Config(settings, env={}), db_url=store.url, plugins=plugins)
    now = datetime.now(UTC)
    save_campaign(app.store, CrowdfundingCampaign(CODE, "Samen thuis", "EUR", 100_000, now - timedelta(days=1),
                                                  now + timedelta(days=29), MatchRule(cap_minor=5_000), ()))
    server = make_server("127.0.0.1", 0, build_wsgi_app(app), threaded=True)  # a thread per request
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.close()


def all_events(fake) -> list[dict[str, Any]]:
    events, _ = fake.state.collections["events"].page(0, 2**40, None, 10_000)
    return [e for e in events if e["type"].startswith("charge.")]


def post(base: str, event: dict[str, Any]) -> requests.Response:
    body = json.dumps(event).encode()
    return requests.post(f"{base}/stripe/webhook", data=body, timeout=30, headers={
        "Content-Type": "application/json", "Stripe-Signature": fake_stripe.sign_payload(body, SECRET)})


def feed(base: str) -> dict[str, Any]:
    response = requests.get(f"{base}/crowdfunding/{CODE}.json", timeout=30)
    assert response.status_code == 200
    return response.json()


def test_concurrent_signed_deliveries_count_each_gift_once(served, fake):
    _app, base = served
    amounts = [500 + 25 * i for i in range(20)]  # EUR 5.00, 5.25, ... 9.75
    charges = [fake.add_charge(a, metadata={"campaign": CODE}) for a in amounts]
    fake.add_charge(9999, metadata={"campaign": "another-campaign"})
    fake.refund(charges[0]["id"])  # whole
    fake.refund(charges[1]["id"], 200)  # part
    deliveries = all_events(fake) * 3  # every event three times, in a shuffled order
    random.Random(3).shuffle(deliveries)
    statuses: list[int] = []

    def worker(share: list[dict[str, Any]]) -> None:
        statuses.extend(post(base, event).status_code for event in share)

    threads = [threading.Thread(target=worker, args=(deliveries[k::THREADS],)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses) == {200}
    donors = sum(amounts) - amounts[0] - 200  # 20 gifts of 5.00 + 0.25 i = 147.50, less 5.00 and 2.00
    data = feed(base)
    assert data["raised"]["minor"] == donors == 14_050
    assert data["refunds"]["minor"] == amounts[0] + 200
    assert data["matched"]["minor"] == 5_000 and data["total"]["minor"] == donors + 5_000
    assert data["gifts"] == 19


def test_a_gift_shows_in_the_feed_once_its_webhook_is_answered(served, fake):
    _app, base = served
    expected = 0
    for amount in (1500, 2575, 10_000):
        charge = fake.add_charge(amount, metadata={"campaign": CODE})
        event = next(e for e in all_events(fake) if e["data"]["object"]["id"] == charge["id"])
        assert post(base, event).status_code == 200
        expected += amount
        assert feed(base)["raised"]["minor"] == expected
    fake.refund(charge["id"], 575)
    refunded = next(e for e in all_events(fake) if e["type"] == "charge.refunded")
    assert post(base, refunded).status_code == 200
    assert feed(base)["raised"]["minor"] == expected - 575
