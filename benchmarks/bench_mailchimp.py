"""Benchmark: push N consenting contacts to a local fake Mailchimp, then pull the N members back.

    python benchmarks/bench_mailchimp.py [--size 50000] [--no-trace]

The fake runs in its own process (so the figures are the client's): calls made against the minimum
(ceil(N/500) bulk writes, ceil(N/1000) member reads), members per second, and peak memory of each phase
(tracemalloc, up to 100,000 members; above that, or with ``--no-trace``, only the process's peak RSS, since
tracing slows the run several times). The store is a
temporary SQLite file; contacts and consents are seeded with plain bulk inserts (seeding is not measured).

The main figures are the connector's own work: planning the push from the store and sending it, and reading
and mapping every member page. Saving to the store (push state, contacts) is the sync engine's per-row
work; ``--with-store N`` times that end to end on a smaller audience, so that both costs are visible.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from vwfund.app import App
from vwfund.config import Config
from vwfund.connectors.mailchimp.plugin import MailchimpConnector
from vwfund.models import MailingMember
from vwfund.store.database import open_store
from vwfund.store.schema import consents, contacts
from vwfund.sync import Push, RunResult, Stream, StreamContext, run_push, run_stream
from vwfund.testing.fake_mailchimp import DEFAULT_KEY

LIST = "bench0001"
SMALL_LIST = "bench0002"
TRACE_LIMIT = 100_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_fake(port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vwfund.testing.fake_mailchimp", "--port", str(port), "--list-id", LIST,
         "--list-id", SMALL_LIST],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # the fake prints its URL once it listens
    return proc


def fake_calls(root: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{root}/_fake/stats", timeout=30) as resp:
        return dict(json.load(resp)["calls"])


def seed(app: App, size: int) -> None:
    now = datetime.now(UTC) - timedelta(days=1)
    with app.store.begin() as conn:
        for start in range(0, size, 10_000):
            ids = range(start + 1, min(size, start + 10_000) + 1)
            conn.execute(insert(contacts), [
                {"id": i, "email": f"supporter{i}@example.org", "first_name": f"First{i}", "last_name": f"Last{i}",
                 "language": "nl", "created_at": now, "updated_at": now} for i in ids])
            conn.execute(insert(consents), [
                {"source": "civicrm", "external_id": f"consent-{i}", "contact_id": i, "purpose": "newsletter",
                 "channel": "email", "granted": True, "at": now} for i in ids])


def measure(trace: bool, work: Callable[[], int]) -> tuple[int, float, float]:
    """Run one phase; returns its count, seconds, and peak traced memory in MiB (0 without tracing)."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    count = work()
    seconds = time.perf_counter() - started
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return count, seconds, peak


def push_members(app: App, push: Push, split: dict[str, float]) -> int:
    """The connector's part of a push: plan the batches from the store, send them, count accepted members."""
    started = time.perf_counter()
    with app.store.read() as conn:
        batches = list(push.batches(conn))
    split["plan"] = time.perf_counter() - started
    pushed = 0
    for batch in batches:
        outcome = push.send(batch)
        if outcome.errors:
            raise SystemExit(f"push failed: {outcome.errors[:3]}")
        pushed += len(outcome.pushed)
    return pushed


def pull_members(stream: Stream) -> int:
    """The connector's part of a pull: every page read and turned into records (not saved)."""
    ctx = StreamContext(cursor=None, started_at=datetime.now(UTC))
    return sum(1 for page in stream.fetch(ctx) for r in page.records if isinstance(r, MailingMember))


def end_to_end(app: App, connector: MailchimpConnector) -> tuple[RunResult, RunResult]:
    """The same through the sync engine, with push state and store saves (the core's per-row costs)."""
    pushed = run_push(app.store, connector.pushes(app)[0])
    time.sleep(1.1)
    pulled = run_stream(app.store, connector.pull_streams(app)[0], full=True)
    return pushed, pulled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--no-trace", action="store_true", help="skip tracemalloc (faster; RSS only)")
    parser.add_argument("--with-store", type=int, default=2_000, metavar="N",
                        help="also time N members end to end through the sync engine (0: skip)")
    args = parser.parse_args()
    size = args.size
    trace = not args.no_trace and size <= TRACE_LIMIT  # tracemalloc slows allocation-heavy code several times
    port = free_port()
    fake = start_fake(port)
    root = f"http://127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            open_store(url).dispose()
            settings: dict[str, Any] = {"api_key": DEFAULT_KEY, "list_id": LIST, "api_base": f"{root}/3.0"}
            app = App(Config({"mailchimp": settings}, env={}), db_url=url)
            seed(app, size)
            connector = MailchimpConnector()
            split: dict[str, float] = {}
            pushed, push_s, push_peak = measure(trace, lambda: push_members(app, connector.pushes(app)[0], split))
            calls = fake_calls(root)
            writes = calls.get("POST /lists/{id}", 0)
            time.sleep(1.1)  # a pull reads members changed before its start (to the second)
            pulled, pull_s, pull_peak = measure(trace, lambda: pull_members(connector.pull_streams(app)[0]))
            reads = fake_calls(root).get("GET /lists/{id}/members", 0) - calls.get("GET /lists/{id}/members", 0)
            app.close()
        engine_figures = ""
        if args.with_store:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'small.db'}"
                open_store(url).dispose()
                small_list = {**settings, "list_id": SMALL_LIST}
                small = App(Config({"mailchimp": small_list}, env={}), db_url=url)
                seed(small, args.with_store)
                started = time.perf_counter()
                pushed_run, pulled_run = end_to_end(small, connector)
                both_s = time.perf_counter() - started
                if not (pushed_run.ok and pulled_run.ok):
                    raise SystemExit(f"end to end failed: {pushed_run.errors[:2]} {pulled_run.errors[:2]}")
                small.close()
            engine_figures = (f"end to end through the sync engine (SQLite, {args.with_store} members, push state "
                              f"and store saves included): push + pull {both_s:.1f} s "
                              f"= {2 * args.with_store / both_s:,.0f} members/s")
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    min_writes, min_reads = math.ceil(size / 500), math.ceil(size / 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"members: {size}")
    print(f"push: {pushed} accepted in {push_s:.1f} s (planning from the store {split['plan']:.1f} s) "
          f"= {pushed / push_s:,.0f} members/s; "
          f"bulk writes {writes} (minimum {min_writes}, ratio {writes / min_writes:.2f}); "
          f"peak traced memory {push_peak:.1f} MiB")
    print(f"pull: {pulled} members in {pull_s:.1f} s = {pulled / pull_s:,.0f} members/s; "
          f"page reads {reads} (minimum {min_reads}, ratio {reads / min_reads:.2f}); "
          f"peak traced memory {pull_peak:.1f} MiB")
    print(f"process peak RSS {rss:.0f} MiB" + ("" if trace else " (tracemalloc off: times are untraced)"))
    if engine_figures:
        print(engine_figures)


if __name__ == "__main__":
    main()
