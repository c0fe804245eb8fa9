"""The Stripe webhook endpoint, mounted by ``vwfund serve`` under ``/stripe``: ``POST /stripe/webhook``.

Plain WSGI with Werkzeug's Request/Response (already the core's web layer, served by waitress): one
route needs no framework. A delivery is verified with the endpoint secret (``stripe.WebhookSignature``,
tolerance 300 s); a bad or stale signature gets 400 and changes nothing. An event id seen before is
answered 200 and not applied again. An event is applied through the same code as the sync
(:func:`vwfund.connectors.stripe.events.records_for_event`: the object is read back as it is now, so
out-of-order deliveries end in the current state) and saved with ``vwfund.sync.apply_records`` together
with the mark that dedupes it. An event that cannot be applied now (Stripe unreachable) is kept, with
its payload, for the next sync, and answered 202.

Other code (tests of the crowdfunding page, for example) can build the app with :func:`make_webhook_app`
and sign bodies with ``vwfund.testing.fake_stripe.sign_payload``. Point ``[stripe] api_base`` at a
``FakeStripe`` holding the objects the events name.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import stripe
from sqlalchemy import Connection, insert, select, update
from werkzeug.wrappers import Request, Response

from vwfund.connectors.stripe.api import StripeApi
from vwfund.connectors.stripe.convert import instant
from vwfund.connectors.stripe.events import describe_event, records_for_event
from vwfund.connectors.stripe.mode import ensure_mode
from vwfund.connectors.stripe.tables import stripe_webhook_events
from vwfund.errors import StoreError, VwfundError
from vwfund.store.database import Store
from vwfund.sync import apply_records
from vwfund.timeutil import utcnow

if TYPE_CHECKING:
    from vwfund.app import App

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Delivery:
    """What became of one delivery: HTTP status and a short reason (no personal data)."""

    status: int
    outcome: str


def verify(payload: bytes, signature: str | None, secret: str, tolerance: int = TOLERANCE_SECONDS) -> dict[str, Any]:
    """Check ``Stripe-Signature`` and return the event; raise ValueError for a bad or stale one."""
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError as exc:
        raise ValueError(str(exc.user_message or "bad signature")) from None
    try:
        event: dict[str, Any] = json.loads(payload)
    except ValueError:
        raise ValueError("body is not JSON") from None
    if not isinstance(event, dict) or event.get("object") != "event" or not event.get("id"):
        raise ValueError("body is not a Stripe event")
    problem = _shape_problem(event)
    if problem:
        raise ValueError(f"malformed event: {problem}")
    return event


#: Latest plausible event time (2100-01-01), so a signed but nonsensical ``created`` is refused, not a crash.
_MAX_CREATED = 4_102_444_800


def _shape_problem(event: dict[str, Any]) -> str | None:
    """What is wrong with an event's shape (id, type, created, data.object with an id), if anything."""
    if not isinstance(event["id"], str) or len(event["id"]) > 255:
        return "id is not a Stripe id"
    if not isinstance(event.get("type"), str):
        return "type is missing"
    created = event.get("created")
    if isinstance(created, bool) or not isinstance(created, int) or not 0 <= created < _MAX_CREATED:
        return "created is not a time"
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return "data.object has no id"
    return None


def _mark(event: dict[str, Any], status: str, payload: bytes | None = None,
          error: str | None = None) -> Callable[[Connection], None]:
    def write(conn: Connection) -> None:
        table = stripe_webhook_events
        values = {"type": str(event.get("type")), "created": instant(int(event.get("created") or 0)),
                  "received_at": utcnow(), "status": status,
                  "payload": payload.decode("utf-8") if payload is not None else None, "error": error}
        found = conn.execute(select(table.c.attempts).where(table.c.event_id == event["id"])).first()
        if found is None:
            conn.execute(insert(table).values(event_id=event["id"], attempts=1, **values))
        else:
            conn.execute(update(table).where(table.c.event_id == event["id"])
                         .values(attempts=found.attempts + 1, **values))
    return write


def _seen(store: Store, event_id: str) -> str | None:
    with store.read() as conn:
        return conn.execute(select(stripe_webhook_events.c.status)
                            .where(stripe_webhook_events.c.event_id == event_id)).scalar()


def handle_delivery(store: Store, api: StripeApi | None, secret: str, payload: bytes,
                    signature: str | None, livemode: bool | None) -> Delivery:
    """Verify, dedupe and apply one delivery; the public core of the endpoint (usable without HTTP)."""
    try:
        event = verify(payload, signature, secret)
    except ValueError as exc:
        return Delivery(400, f"rejected: {exc}")
    if livemode is not None and bool(event.get("livemode")) != livemode:
        return Delivery(400, "rejected: event mode differs from the key's mode")
    ensure_mode(store, bool(event.get("livemode")))
    if _seen(store, event["id"]) in ("applied", "ignored"):
        return Delivery(200, "duplicate")
    try:
        if api is None:
            raise VwfundError("no [stripe] api_key to read the object back")
        records = records_for_event(api, event)
    except VwfundError as exc:
        log.warning("stripe event %s kept for the next sync: %s", describe_event(event), exc)
        apply_records(store, [], also=_mark(event, "pending", payload, str(exc)[:500]))
        return Delivery(202, "kept for the next sync")
    if records is None:
        apply_records(store, [], also=_mark(event, "ignored"))
        return Delivery(200, "ignored type")
    apply_records(store, records, also=_mark(event, "applied"))
    return Delivery(200, "applied")


def make_webhook_app(app: App) -> WSGIApp:
    """The WSGI app for ``POST /webhook`` (mounted at ``/stripe``); answers 503 until ``[stripe] webhook_secret`` is set."""
    from vwfund.connectors.stripe.connector import SECTION, key_mode, make_api

    made: list[StripeApi] = []
    lock = threading.Lock()

    def client() -> StripeApi | None:
        """One API client (one connection pool) for every delivery, made on first use."""
        if not app.config.get(SECTION, "api_key"):
            return None
        with lock:
            if not made:
                made.append(make_api(app))
            return made[0]

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.rstrip("/") != "/webhook":
            return Response("not found\n", 404, mimetype="text/plain")(environ, start_response)  # type: ignore[no-any-return]
        if request.method != "POST":
            return Response("use POST\n", 405, headers={"Allow": "POST"}, mimetype="text/plain")(environ, start_response)  # type: ignore[no-any-return]
        secret = app.config.get(SECTION, "webhook_secret")
        if not secret:  # `vwfund serve` still serves the other routes; Stripe retries until this is set
            log.warning("stripe webhook delivery refused: [stripe] webhook_secret is not set")
            return Response("[stripe] webhook_secret is not set\n", 503, mimetype="text/plain")(environ, start_response)  # type: ignore[no-any-return]
        api = client()
        try:
            result = handle_delivery(app.store, api, str(secret), request.get_data(cache=False),
                                     request.headers.get("Stripe-Signature"), key_mode(api) if api else None)
        except StoreError as exc:
            result = Delivery(409, f"rejected: {exc}")
        body = json.dumps({"outcome": result.outcome})
        return Response(body, result.status, mimetype="application/json")(environ, start_response)  # type: ignore[no-any-return]

    return wsgi
