"""Stripe events to records: the one path shared by the sync's Events API pass and the webhook endpoint.

An event says *which* object changed; the records are built from that object as it is *now* (read back
from Stripe with its fee and dispute state). So deliveries that repeat or arrive out of order all end in
the same, current state, and a refund is never counted twice: ``amount_refunded`` is Stripe's running total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from vwfund.connectors.stripe.api import StripeApi
from vwfund.connectors.stripe.convert import Obj, obj_id
from vwfund.connectors.stripe.objects import Record, fetch_object

#: Event types the sync asks the Events API for (and the webhook endpoint should be subscribed to).
EVENT_TYPES = (
    "charge.succeeded", "charge.failed", "charge.pending", "charge.updated", "charge.captured", "charge.expired",
    "charge.refunded", "charge.refund.updated",
    "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
    "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.processing",
    "customer.created", "customer.updated", "customer.deleted",
    "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
    "customer.subscription.paused", "customer.subscription.resumed",
    "invoice.paid", "invoice.payment_failed", "invoice.payment_succeeded", "invoice.voided",
    "invoice.marked_uncollectible",
    "payout.created", "payout.updated", "payout.paid", "payout.failed", "payout.canceled",
)
Target = tuple[str, str]  # (kind, object id) as in objects.FETCHERS


def event_target(event: Obj) -> Target | None:
    """The object an event is about, as (kind, id); None for a type we do not follow."""
    etype = str(event.get("type") or "")
    obj = (event.get("data") or {}).get("object") or {}
    if etype.startswith("charge.dispute."):
        return ("dispute", obj["id"])
    if etype.startswith("charge.refund."):
        charge = obj_id(obj.get("charge"))
        return ("charge", charge) if charge else None
    if etype.startswith("charge."):
        return ("charge", obj["id"])
    if etype.startswith("payment_intent."):
        return ("payment_intent", obj["id"])
    if etype.startswith("customer.subscription."):
        return ("subscription", obj["id"])
    if etype.startswith("customer.") and etype.count(".") == 1:
        return ("customer", obj["id"])
    if etype.startswith("invoice."):
        return ("invoice", obj["id"])
    if etype.startswith("payout."):
        return ("payout", obj["id"])
    return None


def object_created(event: Obj) -> int | None:
    """When the object an event is about was created (for disputes: the dispute; refunds: the refund)."""
    obj = (event.get("data") or {}).get("object") or {}
    created = obj.get("created")
    return int(created) if created is not None else None


def records_for_targets(api: StripeApi, targets: Iterable[Target]) -> list[Record]:
    """Read each distinct target once, as it is now, and return its records."""
    records: list[Record] = []
    seen: set[Target] = set()
    for target in targets:
        if target in seen:
            continue
        seen.add(target)
        records += fetch_object(api, *target)
    return records


def records_for_events(api: StripeApi, events: Iterable[Obj],
                       already_fresh: Callable[[Target, Obj], bool] | None = None) -> list[Record]:
    """Records for a batch of events; ``already_fresh`` may skip objects this run has read after the event."""
    targets: list[Target] = []
    for event in events:
        target = event_target(event)
        if target is None or (already_fresh is not None and already_fresh(target, event)):
            continue
        targets.append(target)
    return records_for_targets(api, targets)


def records_for_event(api: StripeApi, event: Obj) -> list[Record] | None:
    """Records for one event (the webhook path); None when the event is of a type we do not follow."""
    target = event_target(event)
    if target is None:
        return None
    return records_for_targets(api, [target])


def describe_event(event: dict[str, Any]) -> str:
    """An event for logs: id and type only (never the payload, which names people)."""
    return f"{event.get('id')} ({event.get('type')})"
