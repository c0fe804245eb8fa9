"""Stripe objects (as JSON dicts) to domain records. Pure functions: no HTTP, no store.

Amounts stay in the currency's minor units exactly as Stripe gives them (zero-decimal currencies such
as JPY are never divided by 100). ``amount_refunded`` is Stripe's running total and is copied, never summed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from vwfund.connectors.stripe.api import OBSERVED_AT
from vwfund.errors import InputError
from vwfund.identity import normalise_email
from vwfund.models import Contact, Donation, DonationStatus, Payout, PayoutLine, RecurringPlan

SOURCE = "stripe"
#: Dispute statuses after which the money stays with the charity (won, or an inquiry closed).
DISPUTE_SETTLED_FOR_US = frozenset({"won", "warning_closed"})
ATTRIBUTION_KEYS = ("campaign", "team", "walker")
Obj = dict[str, Any]


def instant(seconds: int | None) -> datetime | None:
    """A Stripe timestamp (Unix seconds) as aware UTC."""
    return None if seconds is None else datetime.fromtimestamp(int(seconds), UTC)


def obj_id(value: Any) -> str | None:
    """The id of a reference that may be an id string or an expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _clean(value: Any, limit: int = 500) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text[:limit] or None


def _safe_email(value: Any) -> str | None:
    try:
        return normalise_email(value) if isinstance(value, str) else None
    except InputError:
        return None


def email_contact_id(email: str) -> str:
    """The contact id of a guest donor known only by billing email (a hash: the id never shows the email)."""
    return "email:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:24]


def _filled(metadata: Any) -> dict[str, str]:
    return {k: v for k, v in (metadata or {}).items() if v not in (None, "")}


def checkout_metadata(session: Obj) -> dict[str, str]:
    """A Checkout Session's metadata overlaid on its Payment Link's (when the link is expanded)."""
    link = session.get("payment_link")
    meta = _filled(link.get("metadata")) if isinstance(link, dict) else {}
    meta.update(_filled(session.get("metadata")))
    return meta


def has_attribution(charge: Obj) -> bool:
    """Whether the charge (or its PaymentIntent or invoice) names a campaign."""
    return bool(merged_metadata(charge).get("campaign"))


def merged_metadata(charge: Obj, outer: dict[str, str] | None = None) -> dict[str, str]:
    """Attribution metadata, lowest first: ``outer`` (a Checkout Session / Payment Link), the invoice's and
    the PaymentIntent's, then the charge's own."""
    meta: dict[str, str] = dict(outer or {})
    for holder in (charge.get("invoice"), charge.get("payment_intent")):
        if isinstance(holder, dict):
            meta.update({k: v for k, v in (holder.get("metadata") or {}).items() if v not in (None, "")})
            details = holder.get("subscription_details")
            if isinstance(details, dict):
                meta.update({k: v for k, v in (details.get("metadata") or {}).items() if v not in (None, "")})
    meta.update({k: v for k, v in (charge.get("metadata") or {}).items() if v not in (None, "")})
    return meta


def donation_status(charge: Obj, dispute_status: str | None = None) -> DonationStatus:
    """The gift's status: a dispute that is open or lost wins over refunds; a won dispute is succeeded again."""
    status = charge.get("status")
    if status == "pending":
        return DonationStatus.PENDING
    if status != "succeeded":
        return DonationStatus.FAILED
    if charge.get("disputed") and dispute_status not in DISPUTE_SETTLED_FOR_US:
        return DonationStatus.DISPUTED
    refunded = int(charge.get("amount_refunded") or 0)
    if refunded and refunded >= int(charge["amount"]):
        return DonationStatus.REFUNDED
    if refunded:
        return DonationStatus.PARTIALLY_REFUNDED
    return DonationStatus.SUCCEEDED


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on", "ja"}


def _plan_of(charge: Obj) -> str | None:
    invoice = charge.get("invoice")
    if isinstance(invoice, dict):
        return obj_id(invoice.get("subscription"))
    return None


def charge_records(charge: Obj, dispute_status: str | None = None,
                   outer_metadata: dict[str, str] | None = None) -> list[Contact | Donation]:
    """A charge as a Donation (and a Contact for a guest donor known by billing email).

    ``outer_metadata`` is the attribution of the Checkout Session (or Payment Link) that made the charge.
    """
    txn = charge.get("balance_transaction")
    fee = int(txn.get("fee") or 0) if isinstance(txn, dict) else 0
    meta = merged_metadata(charge, outer_metadata)
    records: list[Contact | Donation] = []
    contact_id = obj_id(charge.get("customer"))
    if contact_id is None:
        billing = charge.get("billing_details") or {}
        email = _safe_email(billing.get("email")) or _safe_email(charge.get("receipt_email"))
        if email:
            contact_id = email_contact_id(email)
            records.append(Contact(source=SOURCE, external_id=contact_id, email=email,
                                   display_name=_clean(billing.get("name"))))
    records.append(Donation(
        source=SOURCE, external_id=charge["id"],
        contact_source=SOURCE if contact_id else None, contact_external_id=contact_id,
        amount_minor=int(charge["amount"]), currency=charge["currency"], fee_minor=fee,
        refunded_minor=int(charge.get("amount_refunded") or 0),
        status=donation_status(charge, dispute_status), received_at=instant(charge["created"]),
        campaign=_clean(meta.get("campaign"), 100), team=_clean(meta.get("team"), 200),
        walker=_clean(meta.get("walker"), 200), channel="online", recurring_plan=_plan_of(charge),
        anonymous=_truthy(meta.get("anonymous")), public_name=_clean(meta.get("display_name")),
        public_message=_clean(meta.get("message")), is_test=not charge.get("livemode", False),
        **observed(charge),
    ))
    return records


def observed(obj: Obj) -> dict[str, datetime]:
    """``observed_at`` for a record built from ``obj``: when Stripe's answer arrived, if it was stamped."""
    stamp = obj.get(OBSERVED_AT)
    return {"observed_at": datetime.fromtimestamp(float(stamp), UTC)} if stamp is not None else {}


def customer_contact(customer: Obj) -> Contact:
    """A customer as a Contact (names split on the first space; linking is by id, then email, never name)."""
    name = _clean(customer.get("name"))
    first, _, last = (name or "").partition(" ")
    return Contact(source=SOURCE, external_id=customer["id"], email=_safe_email(customer.get("email")),
                   first_name=first or None, last_name=last or None, display_name=name,
                   is_deleted=bool(customer.get("deleted")))


def subscription_plan(sub: Obj) -> RecurringPlan:
    """A subscription as a RecurringPlan: the sum of its items' prices, its interval and status."""
    items = (sub.get("items") or {}).get("data") or []
    amount, currency, interval = 0, sub.get("currency"), "month"
    for item in items:
        price = item.get("price") or item.get("plan") or {}
        amount += int(price.get("unit_amount") or price.get("amount") or 0) * int(item.get("quantity") or 1)
        currency = price.get("currency") or currency
        recurring = price.get("recurring") or {}
        interval = recurring.get("interval") or price.get("interval") or interval
    return RecurringPlan(
        source=SOURCE, external_id=sub["id"], contact_source=SOURCE, contact_external_id=obj_id(sub.get("customer")),
        amount_minor=amount, currency=currency or "EUR", interval=interval, status=sub.get("status") or "active",
        started_at=instant(sub.get("start_date") or sub["created"]),
        ended_at=instant(sub.get("ended_at") or sub.get("canceled_at")),
        campaign=_clean((sub.get("metadata") or {}).get("campaign"), 100),
    )


def payout_record(payout: Obj) -> Payout:
    """A payout to the bank."""
    return Payout(source=SOURCE, external_id=payout["id"], amount_minor=int(payout["amount"]),
                  currency=payout["currency"], status=payout.get("status") or "pending",
                  arrival_at=instant(payout.get("arrival_date")))


def payout_line(payout_id: str, txn: Obj) -> PayoutLine:
    """One balance transaction of a payout; ``donation_external_id`` is the charge it belongs to."""
    source = txn.get("source")
    source_obj = source if isinstance(source, dict) else {}
    charge_id: str | None = None
    if isinstance(source, str) and source.startswith(("ch_", "py_")):
        charge_id = source
    elif source_obj.get("object") == "charge":
        charge_id = source_obj.get("id")
    elif source_obj.get("object") in ("refund", "dispute"):
        charge_id = obj_id(source_obj.get("charge"))
    return PayoutLine(source=SOURCE, external_id=txn["id"], payout_id=payout_id, kind=txn.get("type") or "unknown",
                      donation_external_id=charge_id, gross_minor=int(txn["amount"]),
                      fee_minor=int(txn.get("fee") or 0), net_minor=int(txn["net"]), currency=txn["currency"])
