"""``vwfund stripe link``, ``vwfund sync stripe`` and ``vwfund doctor`` against the local fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Cli, make_app
from sqlalchemy import select

from vwfund.store.links import donate_link
from vwfund.store.schema import donations
from vwfund.testing.fake_stripe import FakeStripe, stripe_settings


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    """A started fake Stripe (test mode)."""
    with FakeStripe() as f:
        yield f


@pytest.fixture
def cli(sqlite_store: Any, builtin_plugins: Any, fake: FakeStripe) -> Cli:
    """The CLI on an app whose Stripe settings point at the fake."""
    return Cli(make_app(sqlite_store, builtin_plugins, stripe_settings(fake)))


def test_link_creates_a_payment_link_with_metadata_and_keeps_it(cli, fake):
    out = json.loads(cli("--json", "stripe", "link", "--campaign", "walk26", "--team", "Ede",
                         "--amount", "12,50").stdout)
    assert out["url"].startswith("https://") and out["amount"]["minor"] == 1250
    plink = fake.get("payment_links", out["external_id"])
    assert plink["metadata"] == {"campaign": "walk26", "team": "Ede"}
    assert plink["payment_intent_data"]["metadata"]["team"] == "Ede"
    price = fake.get("prices", plink["line_items"][0]["price"])
    assert (price["unit_amount"], price["currency"]) == (1250, "eur")
    assert all(h.get("idempotency-key") for m, _p, h in fake.state.requests if m == "POST")
    with cli.app.store.read() as conn:
        assert donate_link(conn, "walk26", "Ede") == out["url"]
        assert donate_link(conn, "walk26") is None


def test_link_without_amount_lets_the_donor_choose(cli, fake):
    out = cli("stripe", "link", "--campaign", "walk26", "--walker", "an").stdout
    assert "donor chooses" in out
    (price_id,) = fake.state.collections["prices"]._ids
    assert fake.get("prices", price_id)["custom_unit_amount"] == {"enabled": "true"}


def test_link_with_bad_amount_changes_nothing(cli, fake):
    result = cli("stripe", "link", "--campaign", "walk26", "--amount", "1.234", expect=1)
    assert "ambiguous" in result.output
    assert fake.total_calls() == 0


def test_sync_command_and_doctor(cli, fake):
    charge = fake.add_charge(2000, created=fake.now() - 60)
    out = cli("sync", "stripe").stdout
    assert "stripe.charges" in out and "Donation=1" in out
    with cli.app.store.read() as conn:
        assert conn.execute(select(donations.c.external_id)).scalar() == charge["id"]
    doctor = cli("doctor", expect=None).stdout
    assert "Stripe answers (test mode" in doctor
    assert fake.api_key not in doctor and fake.api_key not in out
