"""Crowdfunding benchmark: status time for a large campaign, and webhook-to-total latency.

    python benchmarks/bench_crowdfunding.py [--size 100000] [--deliveries 100] [--db URL]

1. Fills a fresh store (SQLite in a temporary directory, or --db, e.g. a PostgreSQL database to use up)
   with --size gifts to one campaign (mixed statuses, refunds, channels, fees) and times the status
   (library call and the JSON feed), with peak Python memory.
2. Latency: a gift is confirmed by a signed ``charge.succeeded`` event POSTed to the real Stripe webhook
   endpoint (in-process WSGI, the charge read back from a local fake Stripe); then the feed is read. The
   latency is from the POST to a feed answer that includes the gift; p50/p95 are printed. Without the
   Stripe connector the gift is saved through ``vwfund.sync.apply_records`` instead (said in the output).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from werkzeug.test import Client

from vwfund.app import App
from vwfund.campaigns.crowdfunding import plugin as crowdfunding_plugin
from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign, save_campaign
from vwfund.campaigns.crowdfunding.matching import MatchRule, Milestone
from vwfund.campaigns.crowdfunding.status import campaign_status
from vwfund.config import Config
from vwfund.models import Donation
from vwfund.plugins import load_plugins
from vwfund.store.database import create_store_engine, open_store
from vwfund.store.migrate import upgrade
from vwfund.store.records import save_records
from vwfund.sync import apply_records
from vwfund.web import build_wsgi_app

CODE = "bench-campaign"
SECRET = "whsec_bench_secret"
TZ = "Europe/Amsterdam"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def fill(store: Any, size: int, start: datetime) -> int:
    """Write ``size`` gifts to the campaign; returns their counted total (computed here, independently)."""
    rng = random.Random(11)
    counted = 0
    batch: list[Donation] = []
    for i in range(size):
        amount = rng.choice((500, 1000, 2000, 2500, 5000, 10_000, 25_000))
        roll = rng.random()
        status, refunded = "succeeded", 0
        if roll < 0.01:
            status, refunded = "refunded", amount
        elif roll < 0.02:
            status, refunded = "partially_refunded", amount // 2
        elif roll < 0.03:
            status = "failed"
        online = rng.random() < 0.8
        if status in ("succeeded", "refunded", "partially_refunded"):
            counted += amount - refunded
        batch.append(Donation(
            source="stripe" if online else "offline", external_id=f"g{i}", amount_minor=amount, currency="EUR",
            fee_minor=25 + amount * 15 // 1000 if online else 0, refunded_minor=refunded, status=status,
            received_at=start + timedelta(seconds=rng.randrange(20 * 86400)), campaign=CODE,
            channel="card" if online else "bank_transfer",
            contact_source="stripe", contact_external_id=f"cus_{rng.randrange(size // 2 + 1)}"))
        if len(batch) == 5000:
            with store.begin() as conn:
                save_records(conn, batch)
            batch = []
    if batch:
        with store.begin() as conn:
            save_records(conn, batch)
    return counted


def bench_status(app: App, size: int, expected: int) -> None:
    """Time the status of a campaign of ``size`` gifts (library and feed)."""
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        with app.store.read() as conn:
            status = campaign_status(conn, CODE, TZ)
        times.append(time.perf_counter() - t0)
    assert status.raised_minor == expected, (status.raised_minor, expected)
    tracemalloc.start()
    with app.store.read() as conn:
        campaign_status(conn, CODE, TZ)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    client = Client(build_wsgi_app(app))
    feed_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        body = client.get(f"/crowdfunding/{CODE}.json").get_json()
        feed_times.append(time.perf_counter() - t0)
    assert body["raised"]["minor"] == expected
    best = min(times)
    print(f"status of {size:,} gifts: best {best * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms "
          f"({size / best:,.0f} gifts/s); feed GET median {statistics.median(feed_times) * 1000:.0f} ms; "
          f"peak Python memory {peak / 1e6:.1f} MB; total exact: {status.money(status.raised_minor)}")


def bench_latency(app: App, deliveries: int, fake: Any, sign: Any) -> None:
    """POST a confirmed gift, then read the feed: latency until the total includes it."""
    client = Client(build_wsgi_app(app))
    before = client.get(f"/crowdfunding/{CODE}.json").get_json()["raised"]["minor"]
    latencies, feed_reads = [], []
    rng = random.Random(5)
    for i in range(deliveries):
        amount = rng.choice((1000, 2500, 5000))
        t0 = time.perf_counter()
        if fake is not None:
            charge = fake.add_charge(amount, metadata={"campaign": CODE})
            events, _ = fake.state.collections["events"].page(0, 2**40, None, 1)
            body = json.dumps(events[0]).encode()
            t0 = time.perf_counter()
            answer = client.post("/stripe/webhook", data=body, headers={"Stripe-Signature": sign(body, SECRET)})
            assert answer.status_code == 200, answer.get_data(as_text=True)
            assert events[0]["data"]["object"]["id"] == charge["id"]
        else:
            apply_records(app.store, [Donation(source="stripe", external_id=f"late{i}", amount_minor=amount,
                                               currency="EUR", status="succeeded", campaign=CODE,
                                               received_at=datetime.now(UTC))])
        t1 = time.perf_counter()
        raised = client.get(f"/crowdfunding/{CODE}.json").get_json()["raised"]["minor"]
        t2 = time.perf_counter()
        before += amount
        assert raised == before, (raised, before)
        latencies.append(t2 - t0)
        feed_reads.append(t2 - t1)
    how = "signed webhook POST (Stripe connector)" if fake is not None else "apply_records (no Stripe connector)"
    print(f"webhook-to-total latency over {deliveries} gifts via {how}: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
          f"p95 {percentile(latencies, 95) * 1000:.1f} ms (of which reading the feed: p50 "
          f"{percentile(feed_reads, 50) * 1000:.1f} ms)")


def main() -> None:
    """Run both parts and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="gifts in the campaign (default 100,000)")
    parser.add_argument("--deliveries", type=int, default=100, help="gifts for the latency part (default 100)")
    parser.add_argument("--db", help="store URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if url.startswith("postgresql"):
            engine = create_store_engine(url)
            upgrade(engine)
            engine.dispose()
        store = open_store(url)
        now = datetime.now(UTC)
        start = now - timedelta(days=20)
        save_campaign(store, CrowdfundingCampaign(CODE, "Benchmark", "EUR", 1_000_000_000, start,
                                                  now + timedelta(days=10), MatchRule(
                                                      1_000_000, (Milestone(10_000_000, 500_000),)), ()))
        t0 = time.perf_counter()
        expected = fill(store, args.size, start)
        print(f"store {store.dialect}: wrote {args.size:,} gifts in {time.perf_counter() - t0:.1f} s")
        try:
            from vwfund.connectors.stripe import plugin as stripe_plugin
            from vwfund.testing.fake_stripe import FakeStripe, sign_payload
        except ImportError:
            stripe_plugin = None
        if stripe_plugin is not None:
            with FakeStripe(api_key="sk_live_FAKE", livemode=True) as fake:
                settings = {"stripe": {"api_key": fake.api_key, "api_base": fake.url, "webhook_secret": SECRET}}
                plugins = load_plugins(only_distribution="-", extra=[stripe_plugin, crowdfunding_plugin])
                app = App(Config(settings, env={}), db_url=url, plugins=plugins)
                bench_status(app, args.size, expected)
                bench_latency(app, args.deliveries, fake, sign_payload)
                app.close()
        else:
            plugins = load_plugins(only_distribution="-", extra=[crowdfunding_plugin])
            app = App(Config({}, env={}), db_url=url, plugins=plugins)
            bench_status(app, args.size, expected)
            bench_latency(app, args.deliveries, None, None)
            app.close()
        store.dispose()


if __name__ == "__main__":
    main()
