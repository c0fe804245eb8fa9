"""Benchmark: sync N charges from the local fake Stripe into a fresh SQLite store.

    python benchmarks/bench_stripe.py [--size 100000] [--max-seconds 300] [--tracemalloc]

The fake runs in a child process (its memory is not ours) and makes charges on demand. Printed:
HTTP calls made against the minimum (ceil(N/100) charge pages, one call for each other stream, and the
events pages), objects per second, peak memory of the syncing process, and a re-run with nothing new
(at most two calls per stream), and an incremental run after ``--changes`` older gifts changed (each
found through the Events API and read back once: events pages plus one call per changed object).
``--max-seconds`` bounds the first sync: it stops at a page boundary and
the figures cover what was read.
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from vwfund import nightly
from vwfund.app import App
from vwfund.config import Config
from vwfund.plugins import load_plugins

FAKE_CHILD = """
import sys, time
from vwfund.testing.fake_stripe import FakeStripe
fake = FakeStripe(api_key="sk_test_benchbenchbench1234")
fake.state.keep_requests = False
fake.generate_charges(int(sys.argv[1]))
fake.start()
print(fake.url, flush=True)
for line in sys.stdin:
    if line.strip() == "calls":
        print(repr(dict(fake.calls)), flush=True)
    elif line.strip() == "reset":
        fake.state.calls.clear()
        print("ok", flush=True)
    elif line.startswith("changes "):
        # K older gifts change (a refund event each): the next run finds them through the Events API
        count = int(line.split()[1])
        for i in range(count):
            charge = fake.state.collections["charges"].get(f"ch_gen{i * 7:010d}")
            fake.event("charge.refunded", charge)
        print("ok", flush=True)
"""


class Stop(Exception):
    """Raised from the progress callback when the time bound is reached."""


def _ask(child: subprocess.Popen[str], command: str) -> str:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(command + "\n")
    child.stdin.flush()
    return child.stdout.readline().strip()


def _calls(child: subprocess.Popen[str]) -> dict[str, int]:
    return dict(eval(_ask(child, "calls")))


class _Done(Exception):
    """Carries the figures of a run cut short by the time bound."""

    def __init__(self, figures: dict[str, Any]) -> None:
        super().__init__("done")
        self.figures = figures


def _figures(size: int, read: int, stopped: bool, elapsed: float, first: dict[str, int], minimum: int,
             charge_pages: int, events_pages: int, others: int, rss_before: float, peak_py: float | None,
             results: list[Any], second: dict[str, int], rerun: list[Any] | None,
             inc: tuple[dict[str, int], list[Any], float] | None, changes: int) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "size": size, "read": read, "stopped_by_time_bound": stopped, "seconds": round(elapsed, 1),
        "objects_per_s": round(read / elapsed) if elapsed else None,
        "calls": sum(first.values()), "minimum_calls": minimum, "charge_pages": charge_pages,
        "events_pages": events_pages, "other_stream_calls": others,
        "peak_rss_mb": round(_rss_mb(), 1), "rss_before_mb": round(rss_before, 1),
        "peak_python_mb": round(peak_py, 1) if peak_py is not None else None,
    }
    if rerun is None or inc is None:
        figures["rerun"] = "skipped: the first sync was cut by --max-seconds"
    else:
        third, incremental, inc_seconds = inc
        figures.update({
            "rerun_calls": second, "rerun_max_per_stream": max(second.values()) if second else 0,
            "rerun_ok": all(r.ok for r in rerun),
            "changed_objects": changes, "incremental_calls": sum(third.values()),
            "incremental_events_pages": third.get("GET /v1/events", 0),
            "incremental_minimum": 5 + math.ceil(changes / 100) + changes,
            "incremental_seconds": round(inc_seconds, 1),
            "incremental_ok": all(r.ok for r in incremental),
        })
    figures["errors"] = [e for r in results for e in r.errors if "Stop" not in e]
    return figures


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(size: int, max_seconds: float, use_tracemalloc: bool, changes: int = 300) -> dict[str, Any]:
    """Run the benchmark at one size; returns the figures (also printed)."""
    child = subprocess.Popen([sys.executable, "-c", FAKE_CHILD, str(size)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            config = Config({"stripe": {"api_key": "sk_test_benchbenchbench1234", "api_base": url}}, env={})
            app = App(config, db_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                      plugins=load_plugins(only_distribution="vwfund"))
            app.store  # noqa: B018 - open and migrate before timing
            read = 0
            started = time.perf_counter()

            def advance(n: int) -> None:
                nonlocal read
                read += n
                if time.perf_counter() - started > max_seconds:
                    raise Stop

            if use_tracemalloc:
                tracemalloc.start()
            rss_before = _rss_mb()
            results = nightly.pull(app, "stripe", progress=advance)
            elapsed = time.perf_counter() - started
            peak_py = tracemalloc.get_traced_memory()[1] / 2**20 if use_tracemalloc else None
            if use_tracemalloc:
                tracemalloc.stop()
            stopped = any("Stop" in e for r in results for e in r.errors)
            first = _calls(child)
            charge_pages = first.get("GET /v1/charges", 0)
            events_pages = first.get("GET /v1/events", 0)
            others = sum(v for k, v in first.items() if k not in ("GET /v1/charges", "GET /v1/events"))
            minimum = math.ceil(min(read, size) / 100) + 4 + events_pages  # + customers, disputes, subs, payouts
            if stopped:  # the rest of the window would be read next: not a run with "nothing new"
                child_calls: dict[str, int] = {}
                figures = _figures(size, read, stopped, elapsed, first, minimum, charge_pages, events_pages, others,
                                   rss_before, peak_py, results, child_calls, None, None, changes)
                raise _Done(figures)
            _ask(child, "reset")
            rerun = nightly.pull(app, "stripe")
            second = _calls(child)
            _ask(child, f"changes {changes}")
            _ask(child, "reset")
            time.sleep(1.1)  # the events were made this second: the next run's window ends after it
            t0 = time.perf_counter()
            incremental = nightly.pull(app, "stripe")
            inc_seconds = time.perf_counter() - t0
            third = _calls(child)
            figures = _figures(size, read, stopped, elapsed, first, minimum, charge_pages, events_pages, others,
                               rss_before, peak_py, results, second, rerun, (third, incremental, inc_seconds),
                               changes)
    except _Done as done:
        figures = done.figures
    finally:
        if child.stdin:
            child.stdin.close()
        child.terminate()
        child.wait(timeout=10)
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    return figures


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="charges in the fake (default 100000)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="bound on the first sync (default 300)")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure peak Python allocations (slower)")
    parser.add_argument("--changes", type=int, default=300, help="older gifts changed before the incremental run")
    args = parser.parse_args()
    run(args.size, args.max_seconds, args.tracemalloc, min(args.changes, args.size // 7))


if __name__ == "__main__":
    main()
