"""Reconciling the walk's online gifts with what Stripe charged and paid out.

The walk's online gifts are its donations from source ``stripe``. The Stripe connector stores every balance
transaction of a payout as a payout line whose ``donation_external_id`` is the charge id (charges, refunds and
dispute adjustments alike). For each charge the money the store counts (the one rule of
``vwfund.store.amounts``) must equal the gross of its payout lines, and the gift's fee the lines' fees. Every
charge where they differ is listed; so is every counted gift not yet in any payout.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from vwfund.campaigns.walk.editions import Edition
from vwfund.money import Money
from vwfund.store.amounts import counted_minor, fee_counted_minor
from vwfund.store.schema import donations, payout_lines, payouts

ONLINE_SOURCE = "stripe"


@dataclass(frozen=True)
class Difference:
    """One charge where the store and Stripe disagree (amounts in minor units of ``currency``)."""

    charge: str
    kind: str
    store_minor: int
    stripe_minor: int
    currency: str
    payouts: tuple[str, ...]
    note: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form."""
        return {"charge": self.charge, "kind": self.kind, "currency": self.currency,
                "store": str(Money(self.store_minor, self.currency).amount),
                "stripe": str(Money(self.stripe_minor, self.currency).amount),
                "difference": str(Money(self.store_minor - self.stripe_minor, self.currency).amount),
                "payouts": list(self.payouts), "note": self.note}


@dataclass
class Reconciliation:
    """The walk's online money by the store's count and by Stripe's payouts, and every difference."""

    edition: str
    currency: str
    charges: int
    counted: Money
    charged: Money
    fees_store: Money
    fees_stripe: Money
    paid_out_net: Money
    paid_out: Money
    in_transit: Money
    differences: list[Difference] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        """Whether every charge agrees."""
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form."""
        return {"edition": self.edition, "currency": self.currency, "charges": self.charges,
                "counted": self.counted.to_json(), "charged": self.charged.to_json(),
                "fees_store": self.fees_store.to_json(), "fees_stripe": self.fees_stripe.to_json(),
                "paid_out_net": self.paid_out_net.to_json(), "paid_out": self.paid_out.to_json(),
                "in_transit": self.in_transit.to_json(), "balanced": self.balanced,
                "differences": [d.to_json() for d in self.differences]}


def reconcile(conn: Connection, edition: Edition) -> Reconciliation:
    """Compare every online gift of the edition with its payout lines, charge by charge."""
    d = donations.c
    gifts = conn.execute(
        select(d.external_id, d.amount_minor, d.refunded_minor, d.fee_minor, d.status, d.currency)
        .where((d.campaign == edition.code) & (d.source == ONLINE_SOURCE) & d.is_test.is_(False))
        .order_by(d.external_id)
    ).all()
    charge_ids = [g.external_id for g in gifts]
    lines: dict[str, list[Any]] = defaultdict(list)
    for i in range(0, len(charge_ids), 500):
        chunk = charge_ids[i:i + 500]
        query = (select(payout_lines.c.donation_external_id, payout_lines.c.payout_id, payout_lines.c.gross_minor,
                        payout_lines.c.fee_minor, payout_lines.c.net_minor, payout_lines.c.currency,
                        payouts.c.status.label("payout_status"))
                 .select_from(payout_lines.outerjoin(payouts, (payouts.c.external_id == payout_lines.c.payout_id)
                                                     & (payouts.c.source == payout_lines.c.source)))
                 .where(payout_lines.c.donation_external_id.in_(chunk)))
        for row in conn.execute(query):
            lines[row.donation_external_id].append(row)
    cur = edition.currency
    counted = charged = fees_store = fees_stripe = net = paid = transit = 0
    differences: list[Difference] = []
    for gift in gifts:
        mine = lines.get(gift.external_id, [])
        ids = tuple(sorted({r.payout_id for r in mine}))
        store = counted_minor(gift.status, gift.amount_minor, gift.refunded_minor)
        fee = fee_counted_minor(gift.status, gift.fee_minor)
        if gift.currency != cur or any(r.currency != gift.currency for r in mine):
            differences.append(Difference(gift.external_id, "currency", store, sum(r.gross_minor for r in mine),
                                          gift.currency, ids, f"not in the edition's currency {cur}"))
            continue
        stripe = sum(r.gross_minor for r in mine)
        stripe_fee = sum(r.fee_minor for r in mine)
        counted += store
        charged += stripe
        fees_store += fee
        fees_stripe += stripe_fee
        for r in mine:
            net += r.net_minor
            if r.payout_status == "paid":
                paid += r.net_minor
            else:
                transit += r.net_minor
        if not mine:
            if store:
                differences.append(Difference(gift.external_id, "not_paid_out", store, 0, cur, ids,
                                              f"{gift.status} gift in no payout yet"))
            continue
        if store != stripe:
            differences.append(Difference(gift.external_id, "amount", store, stripe, cur, ids,
                                          f"store counts the {gift.status} gift differently from its payout lines"))
        if fee != stripe_fee:
            differences.append(Difference(gift.external_id, "fee", fee, stripe_fee, cur, ids,
                                          "the gift's fee differs from the payout lines' fees"))

    def m(minor: int) -> Money:
        return Money(minor, cur)

    return Reconciliation(edition.code, cur, len(gifts), m(counted), m(charged), m(fees_store), m(fees_stripe),
                          m(net), m(paid), m(transit), differences)
