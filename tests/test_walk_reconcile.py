"""`vwfund walk reconcile`: the walk's online gifts against Stripe's payout lines, every difference by charge."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from test_walk_totals import CODE, gift

from vwfund.app import App
from vwfund.campaigns.walk import service
from vwfund.campaigns.walk.editions import Edition, save_edition
from vwfund.models import Payout, PayoutLine
from vwfund.store.records import save_records


def line(charge: str, payout: str, kind: str, gross: int, fee: int) -> PayoutLine:
    """A balance transaction of ``charge`` in ``payout`` (net = gross - fee, as Stripe reports it)."""
    return PayoutLine(source="stripe", external_id=f"txn_{charge}_{kind}", payout_id=payout, kind=kind,
                      donation_external_id=charge, gross_minor=gross, fee_minor=fee, net_minor=gross - fee,
                      currency="EUR")


def seed(app: App) -> None:
    with app.store.begin() as conn:
        save_edition(conn, Edition(CODE, "Walk 2024", 2024, date(2024, 10, 12), "EUR", None))
        save_records(conn, [
            gift("ch_1", "50.00", source="stripe", team="team-a", fee_minor=100),
            gift("ch_2", "40.00", source="stripe", team="team-a", fee_minor=100, refunded_minor=1500,
                 status="partially_refunded"),
            gift("ch_3", "30.00", source="stripe", team="team-a", fee_minor=70),
            gift("ch_4", "20.00", source="stripe", team="team-a", fee_minor=50),
            gift("ch_5", "25.00", source="stripe", team="team-a", fee_minor=100),
            gift("ch_6", "60.00", source="stripe", team="team-a", status="disputed"),
            gift("ch_7", "80.00", source="stripe", team="team-a", status="pending"),
            gift("cash-1", "10.00", team="team-a"),
            Payout(source="stripe", external_id="po_1", amount_minor=7300, currency="EUR", status="paid"),
            Payout(source="stripe", external_id="po_2", amount_minor=190, currency="EUR", status="in_transit"),
            line("ch_1", "po_1", "charge", 5000, 100),
            line("ch_2", "po_1", "charge", 4000, 100), line("ch_2", "po_1", "refund", -1500, 0),
            line("ch_4", "po_2", "charge", 2000, 60),
            line("ch_5", "po_2", "charge", 2500, 100), line("ch_5", "po_2", "refund", -2500, 0),
            line("ch_6", "po_2", "charge", 6000, 150), line("ch_6", "po_2", "adjustment", -6000, 1500),
        ])


def test_every_difference_is_listed_by_charge(app: App) -> None:
    seed(app)
    result = service.reconcile_online(app)
    found = {(d.charge, d.kind): (d.store_minor, d.stripe_minor) for d in result.differences}
    assert found == {
        ("ch_3", "not_paid_out"): (3000, 0),  # counted, in no payout yet
        ("ch_4", "fee"): (50, 60),  # the store's fee differs from Stripe's
        ("ch_5", "amount"): (2500, 0),  # refunded at Stripe, not in the store
        ("ch_6", "fee"): (0, 1650),  # a lost dispute: nothing counted, Stripe's dispute fee remains
    }
    assert result.charges == 7  # online gifts only: the cash gift is not Stripe's
    # store: 50 + (40 - 15) + 30 + 20 + 25 + 0 (disputed) + 0 (pending) = 150.00
    assert result.counted.amount == Decimal("150.00")
    # Stripe: 50 + (40 - 15) + 20 + (25 - 25) + (60 - 60) = 95.00
    assert result.charged.amount == Decimal("95.00")
    assert result.paid_out.minor == 4900 + 3900 - 1500
    assert result.in_transit.minor == 1940 + 2400 - 2500 + 5850 - 7500
    assert not result.balanced


def test_agreeing_charges_balance(cli: Any) -> None:
    with cli.app.store.begin() as conn:
        save_edition(conn, Edition(CODE, "Walk 2024", 2024, None, "EUR", None))
        save_records(conn, [gift("ch_1", "50.00", source="stripe", fee_minor=100),
                            Payout(source="stripe", external_id="po_1", amount_minor=4900, currency="EUR",
                                   status="paid"),
                            line("ch_1", "po_1", "charge", 5000, 100)])
    data = json.loads(cli("--json", "walk", "reconcile").stdout)
    assert data["balanced"] is True and data["differences"] == []
    assert Decimal(data["counted"]["amount"]) == Decimal(data["charged"]["amount"]) == Decimal("50.00")
    assert "every charge agrees" in cli("walk", "reconcile").stdout
