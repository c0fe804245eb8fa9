"""Reading Stripe objects with what their records need (fee, attribution, dispute state) and converting them.

Both the sync's streams and the webhook use these functions, so a charge becomes the same Donation
whichever way it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from vwfund.connectors.stripe.api import StripeApi
from vwfund.connectors.stripe.convert import (
    Obj,
    charge_records,
    checkout_metadata,
    customer_contact,
    has_attribution,
    obj_id,
    payout_line,
    payout_record,
    subscription_plan,
)

#: Expanded in the same call as the charge: fee (balance transaction), attribution from a Payment Link or
#: Checkout (payment intent), and the subscription of a monthly gift (invoice).
CHARGE_EXPAND = ("balance_transaction", "payment_intent", "invoice")
DISPUTE_EXPAND = (*tuple(f"charge.{e}" for e in CHARGE_EXPAND), "charge")
Record = Any


def expand_params(paths: Iterable[str], prefix: str = "") -> list[tuple[str, str]]:
    """``expand[]`` parameters (``prefix`` is ``data.`` for lists)."""
    return [("expand[]", f"{prefix}{p}") for p in paths]


def latest_dispute_status(api: StripeApi, charge_id: str) -> str | None:
    """The status of the newest dispute on a charge (one call; only for charges Stripe marks disputed)."""
    body = api.get("/v1/disputes", [("charge", charge_id), ("limit", 1)])
    data = body.get("data") or []
    return data[0].get("status") if data else None


def checkout_attribution(api: StripeApi, charge: Obj) -> dict[str, str] | None:
    """Attribution from the Checkout Session (and its Payment Link) that made a charge, in one call.

    Only asked for a charge with a PaymentIntent whose own metadata names no campaign: links made by
    ``vwfund stripe link`` put the metadata on the PaymentIntent, so their gifts never cost this call.
    """
    intent = obj_id(charge.get("payment_intent"))
    if not intent or has_attribution(charge):
        return None
    body = api.get("/v1/checkout/sessions", [("payment_intent", intent), ("limit", 1),
                                             *expand_params(["payment_link"], "data.")])
    sessions = body.get("data") or []
    return checkout_metadata(sessions[0]) if sessions else None


def charges_records(api: StripeApi, charges: Iterable[Obj]) -> list[Record]:
    """Records of charges read with CHARGE_EXPAND; a disputed charge costs one more call for its dispute,
    a Checkout charge without attribution on its PaymentIntent one call for its session."""
    records: list[Record] = []
    for charge in charges:
        status = latest_dispute_status(api, charge["id"]) if charge.get("disputed") else None
        records += charge_records(charge, status, checkout_attribution(api, charge))
    return records


def disputes_records(api: StripeApi, disputes: Iterable[Obj]) -> list[Record]:
    """Records of disputes read with DISPUTE_EXPAND: each gives its charge with the dispute's status."""
    records: list[Record] = []
    for dispute in disputes:
        charge = dispute.get("charge")
        if isinstance(charge, dict):
            records += charge_records(charge, dispute.get("status"), checkout_attribution(api, charge))
    return records


def payout_lines_pages(api: StripeApi, payout_id: str) -> Iterator[list[Record]]:
    """The balance transactions of a payout, page by page, as PayoutLines."""
    params = [("payout", payout_id), *expand_params(["source"], "data.")]
    for data, _more in api.pages("/v1/balance_transactions", params):
        yield [payout_line(payout_id, txn) for txn in data]


def fetch_charge(api: StripeApi, charge_id: str) -> list[Record]:
    """A charge as it is now, with its fee, attribution and dispute state."""
    charge = api.find(f"/v1/charges/{charge_id}", expand_params(CHARGE_EXPAND))
    return charges_records(api, [charge]) if charge else []


def fetch_dispute(api: StripeApi, dispute_id: str) -> list[Record]:
    """A dispute as it is now: its charge with the dispute's status."""
    dispute = api.find(f"/v1/disputes/{dispute_id}", expand_params(DISPUTE_EXPAND))
    return disputes_records(api, [dispute]) if dispute else []


def fetch_customer(api: StripeApi, customer_id: str) -> list[Record]:
    """A customer as it is now (a deleted one comes back flagged deleted)."""
    customer = api.find(f"/v1/customers/{customer_id}")
    return [customer_contact(customer)] if customer else []


def fetch_subscription(api: StripeApi, subscription_id: str) -> list[Record]:
    """A subscription as it is now."""
    sub = api.find(f"/v1/subscriptions/{subscription_id}")
    return [subscription_plan(sub)] if sub else []


def fetch_payout(api: StripeApi, payout_id: str) -> list[Record]:
    """A payout as it is now, with every line."""
    payout = api.find(f"/v1/payouts/{payout_id}")
    if not payout:
        return []
    records: list[Record] = [payout_record(payout)]
    for lines in payout_lines_pages(api, payout_id):
        records += lines
    return records


def fetch_invoice(api: StripeApi, invoice_id: str) -> list[Record]:
    """An invoice's charge and subscription as they are now."""
    invoice = api.find(f"/v1/invoices/{invoice_id}")
    if not invoice:
        return []
    records: list[Record] = []
    sub_id = obj_id(invoice.get("subscription"))
    if sub_id:
        records += fetch_subscription(api, sub_id)
    charge_id = obj_id(invoice.get("charge"))
    if charge_id:
        records += fetch_charge(api, charge_id)
    return records


def fetch_payment_intent(api: StripeApi, intent_id: str) -> list[Record]:
    """A payment intent's latest charge as it is now (nothing while no charge was made yet)."""
    intent = api.find(f"/v1/payment_intents/{intent_id}")
    charge_id = obj_id(intent.get("latest_charge")) if intent else None
    return fetch_charge(api, charge_id) if charge_id else []


FETCHERS = {
    "charge": fetch_charge,
    "dispute": fetch_dispute,
    "customer": fetch_customer,
    "subscription": fetch_subscription,
    "payout": fetch_payout,
    "invoice": fetch_invoice,
    "payment_intent": fetch_payment_intent,
}


def fetch_object(api: StripeApi, kind: str, object_id: str) -> list[Record]:
    """Records of one object of a kind in FETCHERS, read as it is now."""
    return FETCHERS[kind](api, object_id)
