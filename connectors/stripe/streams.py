"""The Stripe pull streams: customers, charges, disputes, subscriptions, payouts, then events.

Each object stream reads a *window* of creation times ``[lo, hi)`` newest first (Stripe's list order),
with ``hi`` the run's start (``ctx.cap``). The cursor saved with every page is
``{"lo", "hi", "after"}`` (the window and the last id read), so a crash resumes inside the same window
after the last saved page: no gap, no duplicate. A finished window saves ``{"lo": hi}``; the next run
reads from there. A run with nothing new makes one list call per stream.

Objects created earlier but changed since (refunds, disputes, settled SEPA debits, cancelled plans,
paid payouts) are found by the events stream through the Events API, which keeps 30 days. When the
events cursor is older than that, the run re-reads the objects that may have changed and says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from vwfund.connectors.stripe.api import Params, StripeApi
from vwfund.connectors.stripe.convert import Obj, customer_contact, payout_record, subscription_plan
from vwfund.connectors.stripe.events import (
    EVENT_TYPES,
    Target,
    object_created,
    records_for_events,
    records_for_targets,
)
from vwfund.connectors.stripe.mode import ensure_mode
from vwfund.connectors.stripe.objects import (
    CHARGE_EXPAND,
    DISPUTE_EXPAND,
    Record,
    charges_records,
    disputes_records,
    expand_params,
    fetch_object,
    payout_lines_pages,
)
from vwfund.connectors.stripe.tables import stripe_webhook_events
from vwfund.errors import StoreError
from vwfund.store.database import Store
from vwfund.sync import Page, Stream, StreamContext

EVENT_RETENTION = timedelta(days=30)
#: Safety margin: an events cursor this close to the retention limit is treated as too old.
RETENTION_MARGIN = timedelta(hours=6)
#: How far back a catch-up re-read goes before the last events cursor, per kind of change.
REREAD_DISPUTES = timedelta(days=120)
REREAD_PENDING = timedelta(days=30)
ConvertPage = Callable[[list[Obj]], list[Record]]


@dataclass
class RunState:
    """What the streams of one run share: when each kind was read, and the window read in full."""

    fresh_from: dict[str, int | None] = field(default_factory=dict)
    read_started: dict[str, int] = field(default_factory=dict)
    first_started: int | None = None

    def started_reading(self, kind: str, started: int) -> None:
        """Note that the stream of ``kind`` began reading at ``started`` (Unix seconds)."""
        self.read_started[kind] = started
        self.first_started = started if self.first_started is None else min(self.first_started, started)

    def read_after_event(self, kind: str, created: int | None, event_created: int | None = None) -> bool:
        """Whether this run read an object of ``kind`` created at ``created`` in full, after the event happened.

        Only an event older than the moment its kind's stream began reading is reflected in what was read;
        a later one (a refund made while the sync ran) must be followed.
        """
        if kind not in self.fresh_from or created is None or event_created is None:
            return False
        lo = self.fresh_from[kind]
        in_window = lo is None or created >= lo
        return in_window and event_created < self.read_started.get(kind, 0)


def _window_start(ctx: StreamContext) -> tuple[int | None, int | None, str | None]:
    """(lo, hi, after) to start from: a resumed window, or a new one from the saved ``lo``."""
    if ctx.since is not None:
        return int(ctx.since.timestamp()), None, None
    if ctx.full or not ctx.cursor:
        return None, None, None
    state = json.loads(ctx.cursor)
    return state.get("lo"), state.get("hi"), state.get("after")


def window_pages(api: StripeApi, ctx: StreamContext, path: str, params: Params, convert: ConvertPage,
                 run: RunState | None = None, kind: str | None = None, pages_per_commit: int = 1) -> Iterator[Page]:
    """Pages of ``path`` created in ``[lo, run start)``, each with the cursor to resume after it.

    Up to ``pages_per_commit`` list pages go into one saved Page (fewer, larger transactions); a crash
    re-reads at most that many pages, which the upsert absorbs: still no gap and no duplicate.
    """
    run_hi = int(ctx.cap(ctx.started_at).timestamp())
    lo, hi, after = _window_start(ctx)
    # Objects read in full during this run start at ``fresh_lo``; a window resumed after a crash was
    # partly read by the earlier run (before events this run may see), so only what follows it counts.
    fresh_lo = hi if after is not None else lo
    while True:
        window_hi = hi if hi is not None else run_hi
        if lo is not None and lo >= window_hi:  # nothing can be new yet (a clock behind the last run's)
            break
        query = list(params) + [("created[lt]", window_hi)] + ([("created[gte]", lo)] if lo is not None else [])
        batch: list[Record] = []
        held = 0
        for data, more in api.pages(path, query, after):
            batch += convert(data)
            held += 1
            if more and held < pages_per_commit:
                continue
            cursor = {"lo": lo, "hi": window_hi, "after": data[-1]["id"]} if more else {"lo": window_hi}
            yield Page(batch, json.dumps(cursor))
            batch, held = [], 0
        if window_hi >= run_hi:
            break
        lo, hi, after = window_hi, None, None  # a resumed older window is done: read on to the run's start
    if run is not None and kind is not None:
        run.fresh_from[kind] = fresh_lo


def _check_live(expected: bool) -> Callable[[list[Obj]], None]:
    def check(objects: list[Obj]) -> None:
        for obj in objects:
            if "livemode" in obj and bool(obj["livemode"]) != expected:
                raise StoreError(f"Stripe sent {obj.get('id')} in {'live' if obj['livemode'] else 'test'} mode, "
                                 f"but this key is {'live' if expected else 'test'}: modes never mix")
    return check


@dataclass
class StripeStreams:
    """Builds the streams of one run; they share one API client and one RunState."""

    api: StripeApi
    store: Store
    livemode: bool
    run: RunState = field(default_factory=RunState)
    pages_per_commit: int = 5

    def _guarded(self, convert: ConvertPage) -> ConvertPage:
        check = _check_live(self.livemode)

        def wrapped(objects: list[Obj]) -> list[Record]:
            check(objects)
            return convert(objects)
        return wrapped

    def _objects(self, name: str, kind: str, path: str, params: Params, convert: ConvertPage) -> Stream:
        def fetch(ctx: StreamContext) -> Iterator[Page]:
            ensure_mode(self.store, self.livemode)
            self.run.started_reading(kind, int(ctx.started_at.timestamp()))
            yield from window_pages(self.api, ctx, path, params, self._guarded(convert), self.run, kind,
                                    self.pages_per_commit)
        return Stream(f"stripe.{name}", ("source", "external_id"), fetch, cursor_field="created")

    def streams(self) -> list[Stream]:
        """Customers first (gifts find their contacts), then charges, disputes, subscriptions, payouts, events."""
        api = self.api
        return [
            self._objects("customers", "customer", "/v1/customers", (),
                          lambda objs: [customer_contact(o) for o in objs]),
            self._objects("charges", "charge", "/v1/charges", expand_params(CHARGE_EXPAND, "data."),
                          lambda objs: charges_records(api, objs)),
            self._objects("disputes", "dispute", "/v1/disputes", expand_params(DISPUTE_EXPAND, "data."),
                          lambda objs: disputes_records(api, objs)),
            self._objects("subscriptions", "subscription", "/v1/subscriptions", [("status", "all")],
                          lambda objs: [subscription_plan(o) for o in objs]),
            Stream("stripe.payouts", ("source", "external_id"), self._payouts, cursor_field="created"),
            Stream("stripe.events", ("id",), self._events, cursor_field="created"),
        ]

    def _payouts(self, ctx: StreamContext) -> Iterator[Page]:
        """Payouts by creation window; each payout's lines first (no cursor move), then the payout page."""
        ensure_mode(self.store, self.livemode)
        check = _check_live(self.livemode)
        for page in window_pages(self.api, ctx, "/v1/payouts", (), lambda objs: objs, self.run, "payout"):
            payouts: list[Obj] = list(page.records)
            check(payouts)
            for payout in payouts:
                for lines in payout_lines_pages(self.api, payout["id"]):
                    yield Page(lines)
            yield Page([payout_record(p) for p in payouts], page.cursor)

    def _events(self, ctx: StreamContext) -> Iterator[Page]:
        """Changes to older objects through the Events API, then webhook deliveries kept for this sync."""
        ensure_mode(self.store, self.livemode)
        run_hi = int(ctx.cap(ctx.started_at).timestamp())
        if ctx.cursor is None and ctx.since is None:
            # First run (or --full): every object was just read, each stream at its own moment. Changes made
            # since the first of those moments (a refund while the run went on) are followed from there.
            if self.run.first_started is None:
                yield Page([], json.dumps({"lo": run_hi}))
                yield from self._pending_webhook_events()
                return
            ctx = replace(ctx, cursor=json.dumps({"lo": self.run.first_started}))
            yield Page([], ctx.cursor)  # where events begin is kept even when this run's window is still empty
        lo, _hi, _after = _window_start(ctx)
        if lo is not None and lo < int((ctx.started_at - EVENT_RETENTION + RETENTION_MARGIN).timestamp()):
            yield from self._catch_up(ctx, lo)
        check = _check_live(self.livemode)

        def convert(events: list[Obj]) -> list[Record]:
            check(events)
            return records_for_events(self.api, events, self._already_fresh)
        types = [("types[]", t) for t in EVENT_TYPES]
        yield from window_pages(self.api, ctx, "/v1/events", types, convert)
        yield from self._pending_webhook_events()

    def _already_fresh(self, target: Target, event: Obj) -> bool:
        obj = (event.get("data") or {}).get("object") or {}
        if obj.get("object") != target[0]:  # e.g. a refund event names a charge created at another time
            return False
        created = event.get("created")
        return self.run.read_after_event(target[0], object_created(event), int(created) if created else None)

    def _catch_up(self, ctx: StreamContext, lo: int) -> Iterator[Page]:
        """The last events cursor is older than Stripe keeps events: re-read what may have changed since."""
        from vwfund.connectors.stripe.convert import instant

        since = instant(lo)
        ctx.note(f"the last Stripe sync is older than the 30 days Stripe keeps events (cursor {since:%Y-%m-%d}): "
                 "re-reading refunds, disputes, recent charges, subscriptions and payouts created since then")
        api = self.api
        refund_charges: list[Target] = []
        for data, _more in api.pages("/v1/refunds", [("created[gte]", lo)]):
            refund_charges += [("charge", r["charge"]) for r in data if r.get("charge")]
        seen: set[Target] = set()
        for i in range(0, len(refund_charges), 100):
            batch = [t for t in refund_charges[i:i + 100] if t not in seen]
            seen.update(batch)
            yield Page(records_for_targets(api, batch))
        old: dict[str, tuple[int | None, Params, ConvertPage]] = {
            "/v1/disputes": (lo - int(REREAD_DISPUTES.total_seconds()), expand_params(DISPUTE_EXPAND, "data."),
                             lambda objs: disputes_records(api, objs)),
            "/v1/charges": (lo - int(REREAD_PENDING.total_seconds()), expand_params(CHARGE_EXPAND, "data."),
                            lambda objs: charges_records(api, objs)),
            "/v1/subscriptions": (None, [("status", "all")], lambda objs: [subscription_plan(o) for o in objs]),
            "/v1/customers": (None, [], lambda objs: [customer_contact(o) for o in objs]),
        }
        for path, (start, params, convert) in old.items():
            query = list(params) + ([("created[gte]", start)] if start is not None else [])
            for data, _more in api.pages(path, query):
                yield Page(convert(data))
        for data, _more in api.pages("/v1/payouts", [("created[gte]", lo - int(REREAD_PENDING.total_seconds()))]):
            for payout in data:
                yield Page(fetch_object(api, "payout", payout["id"]))

    def _pending_webhook_events(self) -> Iterator[Page]:
        """Webhook deliveries that could not be applied when they came: apply them now, then drop the payload."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(stripe_webhook_events.c.event_id, stripe_webhook_events.c.payload)
                .where(stripe_webhook_events.c.status == "pending").order_by(stripe_webhook_events.c.created)
            ).all()
        for row in rows:
            event: dict[str, Any] = json.loads(row.payload or "{}")
            yield Page(records_for_events(self.api, [event]))
            with self.store.begin() as conn:
                conn.execute(update(stripe_webhook_events).where(stripe_webhook_events.c.event_id == row.event_id)
                             .values(status="applied", payload=None, error=None))
