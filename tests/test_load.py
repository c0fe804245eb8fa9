"""Load: a Stripe sync, a CiviCRM sync and a stream of signed Stripe webhook deliveries at once, against one
store (SQLite and PostgreSQL); afterwards the money raised per source is exactly what the fakes hold, and
every gift is there once. Also with the fault proxy in front of both fakes."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import requests
from conftest import make_app
from sqlalchemy import func, select
from werkzeug.serving import make_server

from vwfund import nightly
from vwfund.app import App
from vwfund.connectors.stripe.webhook import make_webhook_app
from vwfund.store.amounts import counted_expr, counted_minor
from vwfund.store.database import Store
from vwfund.store.schema import donations
from vwfund.testing.crash import CiviPull, StripeSync
from vwfund.testing.fake_civicrm import FakeCiviCRM
from vwfund.testing.fake_stripe import FakeStripe, signed_delivery
from vwfund.testing.faults import FaultPlan, FaultProxy

SECRET = "whsec_loadtest0123456789"


@dataclass
class LoadFigures:
    """What one load run did."""

    deliveries: int = 0
    redeliveries: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    sync_runs: int = 0


def stripe_expected(fake: FakeStripe) -> tuple[int, int]:
    """(charges, money raised in minor units) as the fake holds them, by the one rule of amounts (a charge
    with an open or lost dispute counts nothing)."""
    coll = fake.state.collections["charges"]
    charges = [coll.get(i) for i in list(coll._ids)]
    disputes = fake.state.collections["disputes"]
    lost = {d["charge"] for d in (disputes.get(i) for i in list(disputes._ids)) if d and d["status"] != "won"}
    raised = sum(counted_minor("disputed" if c["id"] in lost else c["status"], c["amount"], c["amount_refunded"])
                 for c in charges if c)
    return len(charges), raised


def civicrm_expected(fake: FakeCiviCRM) -> tuple[int, int]:
    """(contributions, money raised in minor units): paid totals less refund payments."""
    rows = fake.rows("Contribution")
    refunds = sum(Decimal(str(p["total_amount"])) for p in fake.rows("Payment") if p["total_amount"] < 0)
    total = sum(Decimal(str(c["total_amount"])) for c in rows) + refunds
    return len(rows), int(total * 100)


def stored(store: Store) -> dict[str, tuple[int, int]]:
    """Per source: (gifts, money raised in minor units)."""
    with store.read() as conn:
        rows = conn.execute(select(donations.c.source, func.count(), func.sum(counted_expr(donations)))
                            .group_by(donations.c.source)).all()
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


def deliver_stream(fake: FakeStripe, url: str, count: int, seed: int, figures: LoadFigures) -> None:
    """While the syncs run, make new gifts in the fake and refund some of them, delivering each event as
    Stripe does (re-delivered until answered 2xx).

    The gifts are made after the Stripe sync started, so only the webhook brings them in during the run.
    (Refunds of gifts a running sync reads are tested at the end of this file.)
    """
    rng = random.Random(seed)
    session = requests.Session()
    time.sleep(0.5)  # the syncs have started: what follows is newer than their windows
    made: list[str] = []
    for n in range(count):
        if n % 3 == 2 and made:
            target = made.pop(rng.randrange(len(made)))
            fake.refund(target, 100 + rng.randrange(200))
        else:
            target = fake.add_charge(700 + rng.randrange(3000), email=f"hook{seed}-{n}@example.org",
                                     metadata={"campaign": "walk26"})["id"]
            made.append(target)
        event = fake.events_about(target)[-1]
        body, headers = signed_delivery(event, SECRET)
        for _attempt in range(20):
            figures.deliveries += 1
            status = session.post(url, data=body, headers=headers, timeout=30).status_code
            figures.statuses[status] = figures.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                break
            figures.redeliveries += 1


def sync_until_ok(app: App, connector: str, figures: LoadFigures, tries: int = 20) -> None:
    """Pull one connector, again while any stream failed (faults in the way)."""
    for _ in range(tries):
        figures.sync_runs += 1
        results = nightly.pull(app, connector)
        if all(r.ok for r in results):
            return
    raise AssertionError(f"{connector} never synced: {[r.errors for r in results]}")


class WebhookServer:
    """The Stripe webhook app of an App, served by a threaded HTTP server on 127.0.0.1."""

    def __init__(self) -> None:
        self.server: Any = None
        self.app: App | None = None

    def start(self, app: App) -> str:
        """Serve ``app``'s webhook endpoint; its URL."""
        self.app = app
        self.server = make_server("127.0.0.1", 0, make_webhook_app(app), threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_port}/webhook"

    def stop(self) -> None:
        """Stop serving and close the app."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.app is not None:
            self.app.close()


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    """A webhook server the test starts with its app."""
    server = WebhookServer()
    yield server
    server.stop()


def run_load(store: Store, plugins: Any, server: Any, *, stripe_size: int, civi_size: int, deliveries: int,
             fault_share: float = 0.0, seed: int = 1) -> tuple[dict[str, tuple[int, int]], dict[str, Any]]:
    """Two syncs and a webhook stream at once on ``store``; then (with the proxies off) one more sync of each,
    as the nightly run would after faults. Returns stored figures and expected ones."""
    figures = LoadFigures()
    with StripeSync(stripe_size) as stripe, CiviPull(civi_size) as civi:
        # No cut JSON here: one unreadable answer fails a whole page of events (up to 100 read-backs), so at
        # this rate the events stream of a large run rarely completes (the fault benchmark covers it).
        plan = FaultPlan.uniform(fault_share, seed=seed, kinds=("throttle", "server_error", "drop", "lost_answer"))
        with FaultProxy(stripe.url, plan) as s_proxy, FaultProxy(civi.url, plan) as c_proxy:
            settings = {**stripe.settings(s_proxy.url), **civi.settings(c_proxy.url)}
            settings["stripe"]["webhook_secret"] = SECRET
            apps = [make_app(store, plugins, settings) for _ in range(2)]
            url = server.start(make_app(store, plugins, settings))
            errors: list[BaseException] = []

            def guarded(work: Any, *args: Any) -> None:
                try:
                    work(*args)
                except BaseException as exc:  # reported by the main thread
                    errors.append(exc)

            threads = [threading.Thread(target=guarded, args=(sync_until_ok, apps[0], "stripe", figures)),
                       threading.Thread(target=guarded, args=(sync_until_ok, apps[1], "civicrm", figures)),
                       threading.Thread(target=guarded, args=(deliver_stream, stripe.fake, url, deliveries, seed,
                                                              figures))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=600)
            assert not errors, errors
            s_proxy.enabled = c_proxy.enabled = False
            during = stored(store)
            time.sleep(1.1)  # a sync reads what was created before the second it starts in
            sync_until_ok(apps[0], "stripe", figures)
            sync_until_ok(apps[1], "civicrm", figures)
            for a in apps:
                a.close()
            faults = {k: s_proxy.counts[k] + c_proxy.counts[k] for k in set(s_proxy.counts) | set(c_proxy.counts)}
        expected = {"stripe": stripe_expected(stripe.fake), "civicrm": civicrm_expected(civi.fake)}
    return stored(store), {"expected": expected, "during": during, "figures": figures, "faults": faults}


def test_two_syncs_and_a_webhook_stream_at_once_leave_exact_totals(store, builtin_plugins, webhook_server):
    final, info = run_load(store, builtin_plugins, webhook_server, stripe_size=150, civi_size=80, deliveries=45)
    expected = info["expected"]
    assert final == expected, json.dumps(info, default=str)
    assert expected["stripe"][0] == 150 + 30  # the hooks' new gifts are in the fake...
    assert info["during"] == expected  # ...and reached the store by webhook, once each, refunds subtracted once
    assert info["figures"].statuses == {200: 45}


def test_the_same_through_faults_on_a_fifth_of_requests(store, builtin_plugins, webhook_server):
    final, info = run_load(store, builtin_plugins, webhook_server, stripe_size=120, civi_size=60, deliveries=30,
                           fault_share=0.2, seed=7)
    assert final == info["expected"], json.dumps(info, default=str)
    faults = info["faults"]
    assert sum(faults.get(k, 0) for k in ("throttle", "server_error", "drop", "lost_answer")) > 5, faults


# ---- changes made while a Stripe sync runs ------------------------------------------------------------------


@pytest.fixture
def clocked_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """A live-mode fake whose clock the sync engine follows (so a test can move time during a run)."""
    from datetime import UTC, datetime

    with FakeStripe(api_key="sk_live_FAKE", livemode=True) as f:
        monkeypatch.setattr("vwfund.sync.utcnow", lambda: datetime.fromtimestamp(f.now(), UTC))
        yield f


def refund_while_the_run_reads(fake: FakeStripe, charge_id: str, path: str = "/v1/disputes") -> None:
    """When the sync first asks for ``path`` (the stream after charges), refund part of a charge it has
    just read and let some seconds pass, as a busy day would, before the events stream starts."""
    original = fake.handle
    done: list[bool] = []

    def handle(method: str, p: str, *args: Any) -> Any:
        if p == path and not done:
            done.append(True)
            fake.refund(charge_id, 100)
            fake.advance(5)
        return original(method, p, *args)

    fake.handle = handle  # type: ignore[method-assign]


def _refunded(store: Store, charge_id: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(donations.c.refunded_minor)
                                .where(donations.c.external_id == charge_id)).scalar_one())


def _refunded_during_one_sync_then_read(app, fake: FakeStripe, store, charge_id: str) -> int:
    """Refund the charge while a sync reads, sync again later; the refunded minor units the store then holds."""
    refund_while_the_run_reads(fake, charge_id)
    assert all(r.ok for r in nightly.pull(app, "stripe"))
    fake.advance(5)
    assert all(r.ok for r in nightly.pull(app, "stripe"))
    app.close()
    return _refunded(store, charge_id)


def test_a_refund_made_during_the_first_sync_is_read_by_the_next(sqlite_store, builtin_plugins, clocked_fake):
    fake = clocked_fake
    charge = fake.add_charge(2500, email="an@example.org", created=fake.now() - 3600)
    fake.advance(5)
    app = make_app(sqlite_store, builtin_plugins, {"stripe": {"api_key": fake.api_key, "api_base": fake.url}})
    assert _refunded_during_one_sync_then_read(app, fake, sqlite_store, charge["id"]) == 100


def test_a_refund_of_a_new_gift_made_during_a_sync_is_read_by_the_next(sqlite_store, builtin_plugins,
                                                                        clocked_fake):
    fake = clocked_fake
    app = make_app(sqlite_store, builtin_plugins, {"stripe": {"api_key": fake.api_key, "api_base": fake.url}})
    fake.add_charge(1000, email="first@example.org", created=fake.now() - 3600)
    fake.advance(5)
    assert all(r.ok for r in nightly.pull(app, "stripe"))
    fake.advance(5)
    charge = fake.add_charge(2500, email="an@example.org")
    fake.advance(5)
    assert _refunded_during_one_sync_then_read(app, fake, sqlite_store, charge["id"]) == 100
