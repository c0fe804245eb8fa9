"""A stateful local fake of the Stripe REST API on 127.0.0.1, for tests, benchmarks and trials.

It speaks the real protocol where vwfund relies on it: Bearer authentication, form-encoded POSTs with
``Idempotency-Key`` (a repeated key replays the first answer), lists newest first with ``limit`` (at most
100), ``starting_after`` and ``has_more``, ``created[gte|gt|lt|lte]`` filters, ``expand[]`` of ids inside
list items (``data.balance_transaction``) or a single object, and the Events API keeping 30 days. Objects
change later as in Stripe: :meth:`FakeStripe.refund`, :meth:`FakeStripe.dispute`,
:meth:`FakeStripe.close_dispute`, :meth:`FakeStripe.settle`, :meth:`FakeStripe.cancel_subscription`,
:meth:`FakeStripe.pay_payout` update the object and record an event (``fake.state.collections["events"]``).
Faults (429 with ``Retry-After``, 5xx, a slow answer) can be injected for the next requests with
:meth:`FakeStripe.fail_next`; :meth:`FakeStripe.advance` moves the fake's clock (events older than 30 days
leave the Events API). ``generate_charges(n)`` makes n charges on demand for benchmarks.

    with FakeStripe(api_key="sk_live_...", livemode=True) as fake:
        ch = fake.add_charge(2500, "eur", metadata={"campaign": "walk26"})
        app = make_app(store, plugins, stripe_settings(fake, webhook_secret="whsec_..."))

To deliver a webhook: take the event the fake recorded, ``body = json.dumps(event).encode()``, and POST it
to ``/stripe/webhook`` with the header ``Stripe-Signature: sign_payload(body, secret)``. The endpoint reads
the object back from the fake, so the objects the event names must exist there.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from vwfund.testing.server import LoopbackService

EVENT_RETENTION_SECONDS = 30 * 86400
MAX_LIMIT = 100
_PREFIX = {"charges": "ch", "customers": "cus", "balance_transactions": "txn", "refunds": "re", "disputes": "dp",
           "subscriptions": "sub", "invoices": "in", "payouts": "po", "events": "evt", "prices": "price",
           "payment_links": "plink", "payment_intents": "pi", "products": "prod", "checkout_sessions": "cs"}


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value Stripe would send for ``payload`` signed with ``secret``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    signed = f"{ts}.".encode() + payload
    sig = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={ts},v1={sig}"


def decode_form(body: str) -> dict[str, Any]:
    """Decode Stripe's form encoding (``metadata[campaign]=x``, ``line_items[0][price]=p``) into nested data."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        last = parts[-1]
        if last == "":  # expand[]=a&expand[]=b
            parent = out
            for part in parts[:-2]:
                parent = parent[part]
            existing = parent.get(parts[-2])
            parent[parts[-2]] = (existing if isinstance(existing, list) else []) + [value]
        else:
            node[last] = value
    result: dict[str, Any] = _listify(out)
    return result


def _listify(node: Any) -> Any:
    """Turn dicts keyed "0", "1", ... into lists (line_items[0][...])."""
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


class Collection:
    """Objects of one kind kept in creation order; lists are served newest first."""

    def __init__(self) -> None:
        self._keys: list[tuple[int, int]] = []  # (created, sequence), ascending
        self._ids: list[str] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._pos: dict[str, int] = {}
        self._seq = itertools.count()

    def add(self, obj: dict[str, Any]) -> None:
        """Insert an object (kept sorted by created)."""
        key = (int(obj["created"]), next(self._seq))
        i = bisect.bisect_right(self._keys, key)
        self._keys.insert(i, key)
        self._ids.insert(i, obj["id"])
        self._by_id[obj["id"]] = obj
        if i == len(self._keys) - 1:
            self._pos[obj["id"]] = i
        else:
            self._pos = {oid: n for n, oid in enumerate(self._ids)}

    def get(self, oid: str) -> dict[str, Any] | None:
        """An object by id."""
        return self._by_id.get(oid)

    def __len__(self) -> int:
        return len(self._ids)

    def page(self, lo: int, hi: int, starting_after: str | None, limit: int,
             accept: Callable[[dict[str, Any]], bool] | None = None) -> tuple[list[dict[str, Any]], bool]:
        """Objects with lo <= created < hi, newest first, after ``starting_after``; and whether more follow."""
        first = bisect.bisect_left(self._keys, (lo, -1))
        end = bisect.bisect_left(self._keys, (hi, -1))
        if starting_after is not None:
            end = min(end, self._pos[starting_after])
        out: list[dict[str, Any]] = []
        i = end - 1
        while i >= first:
            obj = self._by_id[self._ids[i]]
            if accept is None or accept(obj):
                if len(out) == limit:
                    return out, True
                out.append(obj)
            i -= 1
        return out, False


class GeneratedCharges(Collection):
    """``count`` synthetic succeeded charges made on demand (charge i created at ``start + i``): no memory per charge."""

    def __init__(self, count: int, start: int, currency: str = "eur", livemode: bool = False) -> None:
        super().__init__()
        self.count, self.start, self.currency, self.livemode = count, start, currency, livemode

    def _make(self, i: int) -> dict[str, Any]:
        amount = 500 + (i % 50) * 100
        fee = 25 + amount * 15 // 1000
        txn = {"id": f"txn_gen{i:010d}", "object": "balance_transaction", "amount": amount, "fee": fee,
               "net": amount - fee, "currency": self.currency, "type": "charge", "created": self.start + i,
               "source": f"ch_gen{i:010d}", "status": "available"}
        return {"id": f"ch_gen{i:010d}", "object": "charge", "amount": amount, "amount_refunded": 0,
                "currency": self.currency, "created": self.start + i, "status": "succeeded", "paid": True,
                "refunded": False, "disputed": False, "livemode": self.livemode, "customer": None,
                "billing_details": {"email": None, "name": None}, "balance_transaction": txn,
                "metadata": {"campaign": "walk26", "team": f"team{i % 20}"}, "payment_intent": None,
                "invoice": None}

    def get(self, oid: str) -> dict[str, Any] | None:
        """A generated charge by id."""
        if oid.startswith("ch_gen") and oid[6:].isdigit() and int(oid[6:]) < self.count:
            return self._make(int(oid[6:]))
        return None

    def __len__(self) -> int:
        return self.count

    def page(self, lo: int, hi: int, starting_after: str | None, limit: int,
             accept: Callable[[dict[str, Any]], bool] | None = None) -> tuple[list[dict[str, Any]], bool]:
        """Generated charges in [lo, hi) newest first (``accept`` filters are not supported here)."""
        first = max(0, lo - self.start)
        end = min(self.count, max(0, hi - self.start))
        if starting_after is not None:
            end = min(end, int(starting_after[6:]))
        idx = range(end - 1, max(first, end - limit) - 1, -1)
        return [self._make(i) for i in idx], end - limit > first


@dataclass
class Fault:
    """An injected failure for the next matching request."""

    status: int
    retry_after: str | None = None
    delay: float = 0.0
    path_prefix: str = "/v1/"


@dataclass
class FakeState:
    """Everything the fake holds; tests may inspect it."""

    api_key: str
    collections: dict[str, Collection] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    idempotent: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    livemode: bool = False
    clock_offset: int = 0
    keep_requests: bool = True


class FakeStripe(LoopbackService):
    """The fake server: start it as a context manager (or ``start()``/``stop()``); mutate it with methods."""

    def __init__(self, api_key: str = "sk_test_fakefakefake1234", livemode: bool = False) -> None:
        self.state = FakeState(api_key=api_key, livemode=livemode)
        for kind in _PREFIX:
            self.state.collections[kind] = Collection()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # ---- life cycle -------------------------------------------------------------------------------
    def _make_server(self) -> ThreadingHTTPServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        return server

    @property
    def url(self) -> str:
        """The base URL to give as ``[stripe] api_base``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_key(self) -> str:
        """The key the fake accepts."""
        return self.state.api_key

    @property
    def calls(self) -> Counter[str]:
        """Requests served, by ``METHOD /path`` (faults included)."""
        return self.state.calls

    def total_calls(self) -> int:
        """Every request served."""
        return sum(self.state.calls.values())

    # ---- clock and faults ---------------------------------------------------------------------------
    def now(self) -> int:
        """The fake's clock (Unix seconds), movable with :meth:`advance`."""
        return int(time.time()) + self.state.clock_offset

    def advance(self, seconds: int) -> None:
        """Move the fake's clock forward (events older than 30 days then drop out of the Events API)."""
        self.state.clock_offset += seconds

    def fail_next(self, status: int, times: int = 1, retry_after: str | None = None, delay: float = 0.0,
                  path_prefix: str = "/v1/") -> None:
        """Answer the next ``times`` requests under ``path_prefix`` with ``status`` (after ``delay`` seconds)."""
        for _ in range(times):
            self.state.faults.append(Fault(status, retry_after, delay, path_prefix))

    def generate_charges(self, count: int, start: int | None = None) -> None:
        """Replace the charges with ``count`` synthetic ones made on demand (for benchmarks)."""
        begin = start if start is not None else self.now() - count - 3600
        self.state.collections["charges"] = GeneratedCharges(count, begin, livemode=self.state.livemode)

    # ---- making objects -----------------------------------------------------------------------------
    def _new_id(self, kind: str) -> str:
        return f"{_PREFIX[kind]}_{next(self._ids):014d}"

    def _put(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.state.collections[kind].add(obj)
        return obj

    def get(self, kind: str, oid: str) -> dict[str, Any] | None:
        """The stored object (live, not a copy)."""
        return self.state.collections[kind].get(oid)

    def event(self, etype: str, obj: dict[str, Any], created: int | None = None) -> dict[str, Any]:
        """Record an event whose ``data.object`` is a snapshot of ``obj`` (ids, not expansions)."""
        with self._lock:
            snapshot = json.loads(json.dumps(obj))
            if isinstance(snapshot.get("balance_transaction"), dict):
                snapshot["balance_transaction"] = snapshot["balance_transaction"]["id"]
            evt = {"id": self._new_id("events"), "object": "event", "type": etype, "api_version": "2024-06-20",
                   "created": self.now() if created is None else created, "livemode": self.state.livemode,
                   "data": {"object": snapshot}, "pending_webhooks": 1, "request": {"id": None}}
            return self._put("events", evt)

    def add_customer(self, email: str | None = None, name: str | None = None, created: int | None = None,
                     metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """A customer, with its ``customer.created`` event."""
        with self._lock:
            cus: dict[str, Any] = {"id": self._new_id("customers"), "object": "customer", "email": email, "name": name,
                   "created": self.now() if created is None else created, "livemode": self.state.livemode,
                   "metadata": metadata or {}, "deleted": False}
            self._put("customers", cus)
            self.event("customer.created", cus, cus["created"])
            return cus

    def add_charge(self, amount: int, currency: str = "eur", *, fee: int | None = None, customer: str | None = None,
                   email: str | None = None, metadata: dict[str, str] | None = None, status: str = "succeeded",
                   created: int | None = None, payment_intent: dict[str, Any] | None = None,
                   invoice: str | None = None) -> dict[str, Any]:
        """A charge with its balance transaction (fee default 1.5% + 25 minor units), and its event."""
        with self._lock:
            when = self.now() if created is None else created
            cid = self._new_id("charges")
            txn = None
            if status == "succeeded":
                txn = self._balance_txn(amount, currency, cid, "charge", when, fee)
            pi_id = None
            if payment_intent is not None:
                pi = {"id": self._new_id("payment_intents"), "object": "payment_intent", "created": when,
                      "livemode": self.state.livemode, "amount": amount, "currency": currency,
                      "metadata": {}, **payment_intent}
                self._put("payment_intents", pi)
                pi_id = pi["id"]
            charge = {"id": cid, "object": "charge", "amount": amount, "amount_refunded": 0, "currency": currency,
                      "created": when, "status": status, "paid": status == "succeeded", "refunded": False,
                      "disputed": False, "livemode": self.state.livemode, "customer": customer,
                      "billing_details": {"email": email, "name": None}, "balance_transaction": txn and txn["id"],
                      "metadata": metadata or {}, "payment_intent": pi_id, "invoice": invoice,
                      "refunds": {"object": "list", "data": [], "has_more": False}}
            self._put("charges", charge)
            if pi_id is not None:
                self.state.collections["payment_intents"].get(pi_id)["latest_charge"] = cid  # type: ignore[index]
            self.event(f"charge.{status}", charge, when)
            return charge

    def _balance_txn(self, amount: int, currency: str, source: str, kind: str, when: int,
                     fee: int | None = None) -> dict[str, Any]:
        fee = (25 + abs(amount) * 15 // 1000) if fee is None and kind == "charge" else (fee or 0)
        txn = {"id": self._new_id("balance_transactions"), "object": "balance_transaction", "amount": amount,
               "fee": fee, "net": amount - fee, "currency": currency, "type": kind, "created": when,
               "source": source, "status": "pending"}
        return self._put("balance_transactions", txn)

    def add_checkout_session(self, charge_id: str, metadata: dict[str, str] | None = None,
                             link_metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """The completed Checkout Session (optionally from a Payment Link) behind a charge with a PaymentIntent."""
        with self._lock:
            ch = self.state.collections["charges"].get(charge_id)
            assert ch is not None and ch.get("payment_intent"), "give the charge a payment_intent"
            link_id = None
            if link_metadata is not None:
                link = self._create("payment_links", {"metadata": link_metadata})
                link_id = link["id"]
            session = {"id": self._new_id("checkout_sessions"), "object": "checkout.session", "created": ch["created"],
                       "livemode": self.state.livemode, "metadata": metadata or {}, "status": "complete",
                       "payment_intent": ch["payment_intent"], "payment_link": link_id, "mode": "payment"}
            self._put("checkout_sessions", session)
            self.event("checkout.session.completed", session, ch["created"])
            return session

    def settle(self, charge_id: str, status: str = "succeeded") -> dict[str, Any]:
        """A pending charge (SEPA Direct Debit, bank redirect) becomes succeeded or failed, days later."""
        with self._lock:
            ch = self.state.collections["charges"].get(charge_id)
            assert ch is not None
            ch["status"], ch["paid"] = status, status == "succeeded"
            if status == "succeeded" and ch["balance_transaction"] is None:
                ch["balance_transaction"] = self._balance_txn(ch["amount"], ch["currency"], ch["id"], "charge",
                                                              self.now())["id"]
            self.event(f"charge.{status}", ch)
            return ch

    def refund(self, charge_id: str, amount: int | None = None) -> dict[str, Any]:
        """Refund part or all of a charge: ``amount_refunded`` grows, a refund and its event are made."""
        with self._lock:
            ch = self.state.collections["charges"].get(charge_id)
            assert ch is not None
            amount = ch["amount"] - ch["amount_refunded"] if amount is None else amount
            assert 0 < amount <= ch["amount"] - ch["amount_refunded"], "refund more than is left"
            ch["amount_refunded"] += amount
            ch["refunded"] = ch["amount_refunded"] == ch["amount"]
            txn = self._balance_txn(-amount, ch["currency"], charge_id, "refund", self.now())
            re = {"id": self._new_id("refunds"), "object": "refund", "amount": amount, "charge": charge_id,
                  "currency": ch["currency"], "created": self.now(), "status": "succeeded",
                  "balance_transaction": txn["id"]}
            self._put("refunds", re)
            ch["refunds"]["data"].insert(0, re)
            self.event("charge.refunded", ch)
            return re

    def dispute(self, charge_id: str) -> dict[str, Any]:
        """Open a dispute on a charge (``charge.dispute.created``)."""
        with self._lock:
            ch = self.state.collections["charges"].get(charge_id)
            assert ch is not None
            ch["disputed"] = True
            dp = {"id": self._new_id("disputes"), "object": "dispute", "amount": ch["amount"], "charge": charge_id,
                  "currency": ch["currency"], "created": self.now(), "status": "needs_response",
                  "livemode": self.state.livemode, "reason": "fraudulent"}
            self._put("disputes", dp)
            self.event("charge.dispute.created", dp)
            return dp

    def close_dispute(self, dispute_id: str, won: bool) -> dict[str, Any]:
        """Close a dispute as won or lost (``charge.dispute.closed``)."""
        with self._lock:
            dp = self.state.collections["disputes"].get(dispute_id)
            assert dp is not None
            dp["status"] = "won" if won else "lost"
            self.event("charge.dispute.closed", dp)
            return dp

    def add_subscription(self, customer: str, amount: int, currency: str = "eur", interval: str = "month",
                         metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """An active subscription of one price (a monthly donor)."""
        with self._lock:
            price = {"id": self._new_id("prices"), "object": "price", "unit_amount": amount, "currency": currency,
                     "recurring": {"interval": interval, "interval_count": 1}, "created": self.now()}
            self._put("prices", price)
            sub = {"id": self._new_id("subscriptions"), "object": "subscription", "customer": customer,
                   "status": "active", "created": self.now(), "start_date": self.now(), "ended_at": None,
                   "canceled_at": None, "livemode": self.state.livemode, "metadata": metadata or {},
                   "currency": currency,
                   "items": {"object": "list", "has_more": False,
                             "data": [{"id": f"si_{price['id']}", "price": price, "quantity": 1}]}}
            self._put("subscriptions", sub)
            self.event("customer.subscription.created", sub)
            return sub

    def cancel_subscription(self, sub_id: str) -> dict[str, Any]:
        """A monthly donor stops (``customer.subscription.deleted``)."""
        with self._lock:
            sub = self.state.collections["subscriptions"].get(sub_id)
            assert sub is not None
            sub["status"], sub["ended_at"], sub["canceled_at"] = "canceled", self.now(), self.now()
            self.event("customer.subscription.deleted", sub)
            return sub

    def add_payout(self, charge_ids: list[str], status: str = "paid") -> dict[str, Any]:
        """A payout settling the given charges' balance transactions (and their refunds')."""
        with self._lock:
            pid = self._new_id("payouts")
            total, currency = 0, "eur"
            for txn in list(self._txn_iter()):
                if txn["source"] in charge_ids and "payout" not in txn:
                    txn["payout"], txn["status"] = pid, "available"
                    total += txn["net"]
                    currency = txn["currency"]
            po = {"id": pid, "object": "payout", "amount": total, "currency": currency, "status": status,
                  "created": self.now(), "arrival_date": self.now() + 86400, "livemode": self.state.livemode}
            self._put("payouts", po)
            self.event(f"payout.{'paid' if status == 'paid' else 'created'}", po)
            return po

    def pay_payout(self, payout_id: str) -> dict[str, Any]:
        """A payout arrives at the bank (``payout.paid``)."""
        with self._lock:
            po = self.state.collections["payouts"].get(payout_id)
            assert po is not None
            po["status"] = "paid"
            self.event("payout.paid", po)
            return po

    def _txn_iter(self) -> Iterator[dict[str, Any]]:
        coll = self.state.collections["balance_transactions"]
        for oid in list(coll._ids):
            obj = coll.get(oid)
            if obj is not None:
                yield obj

    def events_about(self, object_id: str) -> list[dict[str, Any]]:
        """Events recorded about one object, oldest first."""
        coll = self.state.collections["events"]
        found = (coll.get(i) for i in list(coll._ids))
        return [e for e in found if e is not None and e["data"]["object"].get("id") == object_id]

    # ---- serving ------------------------------------------------------------------------------------
    def _expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        out = dict(obj)
        for path in paths:
            head, _, rest = path.partition(".")
            value = out.get(head)
            if isinstance(value, str):
                kind = _kind_of(value)
                target = self.state.collections[kind].get(value) if kind else None
                if target is not None:
                    out[head] = self._expand(target, [rest]) if rest else dict(target)
            elif isinstance(value, dict) and rest:
                out[head] = self._expand(value, [rest])
        return out

    def handle(self, method: str, path: str, query: dict[str, Any], form: dict[str, Any],
               headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one request: (status, JSON body, extra headers)."""
        with self._lock:
            self.state.calls[f"{method} {path}"] += 1
            if self.state.keep_requests:
                self.state.requests.append((method, path, headers))
            if headers.get("authorization") != f"Bearer {self.state.api_key}":
                return 401, _error("invalid_request_error", "Invalid API Key provided"), {}
            parts = path.strip("/").replace("checkout/sessions", "checkout_sessions").split("/")
            if len(parts) < 2 or parts[0] != "v1" or (parts[1] not in self.state.collections and parts[1] != "balance"):
                return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path})"), {}
            if parts[1] == "balance":
                return 200, {"object": "balance", "livemode": self.state.livemode,
                             "available": [{"amount": 0, "currency": "eur"}]}, {}
            kind = parts[1]
            expand = list(query.get("expand", [])) + list(form.get("expand", []))
            if method == "GET" and len(parts) == 2:
                if len(query.get("types") or []) > 20:
                    return 400, _error("invalid_request_error", "types: at most 20 event types"), {}
                return 200, self._list(kind, query, expand), {}
            if method == "GET" and len(parts) == 3:
                obj = self.state.collections[kind].get(parts[2])
                if obj is None:
                    return 404, _error("invalid_request_error", f"No such {kind[:-1]}: '{parts[2]}'",
                                       code="resource_missing"), {}
                return 200, self._expand(obj, expand), {}
            if method == "POST" and len(parts) == 2 and kind in ("prices", "payment_links", "products"):
                return 200, self._create(kind, form), {}
            return 404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path})"), {}

    def _list(self, kind: str, query: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        limit = max(1, min(MAX_LIMIT, int(query.get("limit", 10))))
        created = query.get("created", {})
        lo, hi = 0, 2**62
        if isinstance(created, dict):
            if "gte" in created:
                lo = int(created["gte"])
            if "gt" in created:
                lo = int(created["gt"]) + 1
            if "lt" in created:
                hi = int(created["lt"])
            if "lte" in created:
                hi = int(created["lte"]) + 1
        elif created:
            lo, hi = int(created), int(created) + 1
        accept = _list_filter(kind, query, self.now())
        coll = self.state.collections[kind]
        items, more = coll.page(lo, hi, query.get("starting_after"), limit, accept)
        inner = [p[len("data."):] for p in expand if p.startswith("data.")]
        return {"object": "list", "url": f"/v1/{kind}", "has_more": more,
                "data": [self._expand(o, inner) if inner else o for o in items]}

    def _create(self, kind: str, form: dict[str, Any]) -> dict[str, Any]:
        obj: dict[str, Any] = {"id": self._new_id(kind), "object": kind[:-1], "created": self.now(),
                               "livemode": self.state.livemode, "metadata": form.get("metadata", {})}
        if kind == "prices":
            if "unit_amount" in form:
                obj["unit_amount"] = int(form["unit_amount"])
            obj.update(currency=form.get("currency"), custom_unit_amount=form.get("custom_unit_amount"),
                       product_data=form.get("product_data"))
        elif kind == "payment_links":
            obj.update(url=f"https://buy.stripe.test/{obj['id']}", line_items=form.get("line_items", []),
                       payment_intent_data=form.get("payment_intent_data", {}), active=True)
        return self._put(kind, obj)


def _list_filter(kind: str, query: dict[str, Any], now: int) -> Callable[[dict[str, Any]], bool] | None:
    checks: list[Callable[[dict[str, Any]], bool]] = []
    if kind == "events":
        cutoff = now - EVENT_RETENTION_SECONDS
        checks.append(lambda o: o["created"] >= cutoff)
        types = query.get("types") or ([query["type"]] if "type" in query else [])
        if types:
            def type_ok(o: dict[str, Any]) -> bool:
                return any(o["type"] == t or (t.endswith("*") and o["type"].startswith(t[:-1])) for t in types)
            checks.append(type_ok)
    for field_name in ("customer", "charge", "payout", "subscription", "payment_intent"):
        if field_name in query:
            checks.append(_field_equals(field_name, query[field_name]))
    if kind == "subscriptions" and query.get("status") != "all":
        checks.append(lambda o: o.get("status") not in ("canceled", "incomplete_expired"))
    if not checks:
        return None
    return lambda o: all(c(o) for c in checks)


def _field_equals(name: str, want: Any) -> Callable[[dict[str, Any]], bool]:
    def check(obj: dict[str, Any]) -> bool:
        return bool(obj.get(name) == want)
    return check


def _kind_of(oid: str) -> str | None:
    prefix = oid.split("_", 1)[0]
    for kind, p in _PREFIX.items():
        if p == prefix:
            return kind
    return None


def _error(etype: str, message: str, code: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"type": etype, "message": message}
    if code:
        err["code"] = code
    return {"error": err}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        fault = None
        with self.fake._lock:
            if self.fake.state.faults and split.path.startswith(self.fake.state.faults[0].path_prefix):
                fault = self.fake.state.faults.popleft()
                self.fake.state.calls[f"{method} {split.path}"] += 1
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            if fault.status == 429:
                extra["Stripe-Should-Retry"] = "true"
            self._send(fault.status, _error("api_error", "injected failure"), extra)
            return
        key = headers.get("idempotency-key")
        if method == "POST" and key:
            with self.fake._lock:
                if key in self.fake.state.idempotent:
                    self.fake.state.calls[f"{method} {split.path}"] += 1
                    status, raw = self.fake.state.idempotent[key]
                    self._send_raw(status, raw, {"Idempotent-Replayed": "true"})
                    return
        status, data, extra = self.fake.handle(method, split.path, decode_form(split.query),
                                               decode_form(body) if method == "POST" else {}, headers)
        raw = json.dumps(data).encode("utf-8")
        if method == "POST" and key:
            with self.fake._lock:
                self.fake.state.idempotent[key] = (status, raw)
        self._send_raw(status, raw, extra)

    def _send(self, status: int, data: dict[str, Any], extra: dict[str, str]) -> None:
        self._send_raw(status, json.dumps(data).encode("utf-8"), extra)

    def _send_raw(self, status: int, raw: bytes, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Request-Id", f"req_{abs(hash(raw)) % 10**12:012d}")
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


def signed_delivery(event: dict[str, Any], secret: str, timestamp: int | None = None
                    ) -> tuple[bytes, dict[str, str]]:
    """A webhook delivery of ``event`` as Stripe sends it: the JSON body and its headers."""
    body = json.dumps(event).encode("utf-8")
    return body, {"Stripe-Signature": sign_payload(body, secret, timestamp), "Content-Type": "application/json"}


def stripe_settings(fake: FakeStripe, webhook_secret: str | None = None) -> dict[str, dict[str, Any]]:
    """Config sections pointing vwfund's Stripe connector at a started fake."""
    section: dict[str, Any] = {"api_key": fake.api_key, "api_base": fake.url}
    if webhook_secret:
        section["webhook_secret"] = webhook_secret
    return {"stripe": section}
