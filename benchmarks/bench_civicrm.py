"""Benchmark: push N Stripe gifts into the local fake CiviCRM as contributions (Order.create + Payment.create).

    python benchmarks/bench_civicrm.py [--size 10000] [--donors-per-gift 0.2] [--batch 200] [--max-seconds 240]

The fake runs in a child process (its CPU and memory are not ours). A fresh SQLite store gets N gifts from
N * 0.2 donors (5% of them partly refunded), then the push runs once and is timed. Printed: HTTP requests
made and per 1,000 records, records per second, peak memory of the pushing process, a re-run (nothing new:
no request expected), and a check that CiviCRM holds exactly one contribution per gift and the right
payments. The push stops taking new batches after --max-seconds (the figures say how far it got).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

KEY, SITE = "bench-key-123456", "bench-site-123456"


def serve(queue: Any, stop: Any) -> None:
    """Child process: run the fake and report its URL; at the end report its counts."""
    from vwfund.testing.fake_civicrm import FakeCiviCRM

    fake = FakeCiviCRM(api_key=KEY, site_key=SITE).start()
    queue.put(fake.url)
    stop.wait()
    queue.put({"requests": fake.requests, "calls": fake.calls, "contributions": len(fake.state.rows["Contribution"]),
               "payments": len(fake.state.rows["Payment"]), "contacts": len(fake.state.rows["Contact"]),
               "refunds": sum(1 for p in fake.state.rows["Payment"].values() if p["total_amount"] < 0),
               "invoices": len({r["invoice_id"] for r in fake.state.rows["Contribution"].values()})})
    fake.stop()


def fill_store(url: str, size: int, donors: int) -> int:
    """N gifts from ``donors`` Stripe customers; every 20th gift partly refunded. Returns the refund count."""
    from vwfund.models import Contact, Donation
    from vwfund.store.database import open_store
    from vwfund.store.records import save_records

    store = open_store(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    refunds = 0
    with store.begin() as conn:
        save_records(conn, [Contact(source="stripe", external_id=f"cus_{i}", email=f"donor{i}@example.org",
                                    first_name=f"D{i}", last_name="Bench") for i in range(donors)])
    for lo in range(0, size, 5000):
        gifts = []
        for i in range(lo, min(size, lo + 5000)):
            refunded = 500 if i % 20 == 0 else 0
            refunds += bool(refunded)
            gifts.append(Donation(source="stripe", external_id=f"ch_{i:07d}", contact_source="stripe",
                                  contact_external_id=f"cus_{i % donors}", amount_minor=1000 + i % 5000,
                                  fee_minor=25 + i % 50, refunded_minor=refunded, currency="EUR",
                                  status="partially_refunded" if refunded else "succeeded",
                                  received_at=start + timedelta(minutes=i)))
        with store.begin() as conn:
            save_records(conn, gifts)
    store.dispose()
    return refunds


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000, help="gifts to push (default 10,000)")
    parser.add_argument("--donors-per-gift", type=float, default=0.2)
    parser.add_argument("--batch", type=int, default=200, help="gifts per batch ([civicrm] batch_size)")
    parser.add_argument("--max-seconds", type=float, default=240.0, help="stop taking batches after this")
    args = parser.parse_args(argv)

    from vwfund.config import Config
    from vwfund.connectors.civicrm.contributions import ContributionPusher, plan_gift_batches
    from vwfund.connectors.civicrm.settings import CiviSettings
    from vwfund.store.database import open_store
    from vwfund.sync import Push, PushOutcome, run_push

    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=serve, args=(queue, stop), daemon=True)
    child.start()
    fake_url = queue.get(timeout=60)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'bench.db'}"
        donors = max(1, int(args.size * args.donors_per_gift))
        t0 = time.perf_counter()
        refunds = fill_store(db, args.size, donors)
        print(f"store: {args.size:,} gifts from {donors:,} donors ({refunds:,} partly refunded) "
              f"in {time.perf_counter() - t0:.1f} s")

        settings = CiviSettings.from_config(Config({"civicrm": {"url": fake_url, "api_key": KEY, "site_key": SITE,
                                                                "batch_size": args.batch}}, env={}))
        client = settings.client()
        pusher = ContributionPusher(client, settings)
        deadline = time.perf_counter() + args.max_seconds
        sent: dict[str, float] = {"gifts": 0, "seconds": 0.0}

        def send(batch: Any) -> PushOutcome:
            if time.perf_counter() > deadline:
                return PushOutcome(errors=["benchmark time limit reached"])
            sent["gifts"] += len(batch.gifts)
            began = time.perf_counter()
            try:
                return pusher.send(batch)
            finally:
                sent["seconds"] += time.perf_counter() - began

        push = Push("civicrm.contributions", "civicrm", lambda conn: plan_gift_batches(conn, args.batch), send)
        store = open_store(db)
        t1 = time.perf_counter()
        result = run_push(store, push)
        elapsed = time.perf_counter() - t1
        pushed = result.counts["contributions_created"]
        requests = client.requests
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"push: {pushed:,} contributions, {result.counts['payments_created']:,} payments, "
              f"{result.counts['refunds_created']:,} refunds, {result.counts['contacts_created']:,} contacts "
              f"in {elapsed:.1f} s -> {pushed / elapsed:,.0f} records/s (status {result.status})")
        talk = sent["seconds"]
        print(f"  of which talking to CiviCRM (send): {talk:.1f} s -> {pushed / max(talk, 1e-9):,.0f} records/s; "
              f"reading the store and recording push state: {elapsed - talk:.1f} s")
        per_k = requests / max(1, sent["gifts"]) * 1000
        print(f"requests: {requests:,} HTTP requests for {sent['gifts']:,.0f} gifts = {per_k:.1f} per 1,000 records "
              f"(one request per gift would be 2,000+ per 1,000)")
        print(f"peak memory of the pushing process: {peak:,.0f} MB")
        client.requests = 0
        t2 = time.perf_counter()
        again = run_push(store, push)
        print(f"re-run: {again.counts['pushed']:,} pushed, {client.requests} requests, "
              f"{time.perf_counter() - t2:.2f} s")
        store.dispose()
    stop.set()
    counts = queue.get(timeout=60)
    child.join(timeout=30)
    exact = counts["contributions"] == counts["invoices"] == sent["gifts"]
    print(f"fake holds: {counts['contributions']:,} contributions ({counts['invoices']:,} distinct invoice ids), "
          f"{counts['payments']:,} payments of which {counts['refunds']:,} refunds, {counts['contacts']:,} contacts; "
          f"{counts['calls']:,} API calls in {counts['requests']:,} requests")
    print("exactly once: " + ("yes" if exact else "NO"))
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
