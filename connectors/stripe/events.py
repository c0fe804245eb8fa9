"""Stripe events to records: the one path shared by the sync's Events API pass and the webhook endpoint.

An event says *which* object changed; the records are built from that object as it is *now* (read back
from Stripe with its fee and dispute state). So deliveries that repeat or arrive out of order all end in
the same, current state, and a refund is never counted twice: ``amount_refunded`` is Stripe's running total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vwfund.connectors.stripe.api import StripeApi
from vwfund.connectors.stripe.convert import Obj, obj_id
from vwfund.connectors.stripe.objects import Record, fetch_object

#: Event types the sync asks the Events API for (Stripe takes at most 20 in ``types[]``). Objects created
#: since the last run are read by their own streams, so creation events are left out; the webhook endpoint
#: follows these and any other type :func:`event_target` knows (payment_intent.*, customer.created, ...).
EVENT_TYPES = (
    "charge.succeeded", "charge.failed", "charge.pending", "charge.updated", "charge.refunded",
    "charge.refund.updated", "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
    "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated",
    "customer.updated", "customer.deleted", "customer.subscription.updated", "customer.subscription.deleted",
    "invoice.paid", "invoice.payment_failed", "payout.paid", "payout.failed", "payout.updated",
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
    if etype.startswith("checkout.session."):  # its gift, with the session's attribution
        intent = obj_id(obj.get("payment_intent"))
        return ("payment_intent", intent) if intent else None
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


#: Objects read back at the same time (Stripe allows about 100 requests/s live, 25/s in test mode).
PARALLEL_READS = 4


def records_for_targets(api: StripeApi, targets: Iterable[Target]) -> list[Record]:
    """Read each distinct target once, as it is now (a few at a time), and return their records in order."""
    distinct = list(dict.fromkeys(targets))
    if len(distinct) <= 1:
        return [r for t in distinct for r in fetch_object(api, *t)]
    with ThreadPoolExecutor(max_workers=PARALLEL_READS, thread_name_prefix="stripe-read") as pool:
        found = list(pool.map(lambda t: fetch_object(api, *t), distinct))
    return [r for records in found for r in records]


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
