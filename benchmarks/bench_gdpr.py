"""Benchmark: a GDPR clean-up plan for a large supporter base.

Generates N contacts (default 100,000) with newsletter memberships, ten engagement events each (default
1,000,000 in all: sends, opens and clicks over 24 monthly mailings), gifts, monthly plans and consents,
straight into a fresh SQLite store; then times the plan (read, rules, recorded plan rows, CSV and JSON
files) and prints time, throughput and peak memory. The target is under 30 s for 100,000 contacts.

    python benchmarks/bench_gdpr.py [--size N] [--events-per-contact 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from vwfund.campaigns.gdpr.planfile import write_plan_files
from vwfund.campaigns.gdpr.planning import build_plan, save_plan
from vwfund.campaigns.gdpr.policy import load_policy
from vwfund.config import Config
from vwfund.identity import email_hash
from vwfund.store.database import Store, open_store
from vwfund.store.schema import consents, contacts, donations, engagement_events, mailing_members, recurring_plans

NOW = datetime(2026, 6, 1, tzinfo=UTC)
AUDIENCE = "news"
MAILINGS = [(f"m{i:02d}", NOW - timedelta(days=30 * (24 - i))) for i in range(24)]
CHUNK = 20_000


def _flush(conn, table, rows: list[dict]) -> None:
    if rows:
        conn.execute(insert(table), rows)
        rows.clear()


def generate(store: Store, size: int, events_per_contact: int, seed: int = 8) -> int:
    """Fill the store; returns the number of engagement events written."""
    rng = random.Random(seed)
    events = 0
    with store.begin() as conn:
        people, members, gifts, plans, evidence, activity = [], [], [], [], [], []
        for i in range(1, size + 1):
            email = f"supporter{i}@example.org"
            h = email_hash(email)
            created = NOW - timedelta(days=rng.randint(30, 3000))
            people.append({"id": i, "email": email, "first_name": f"First{i}", "last_name": f"Last{i}",
                           "created_at": created, "updated_at": created, "do_not_email": False, "is_opt_out": False,
                           "do_not_mail": False, "is_deceased": False, "is_deleted": False, "restricted": False})
            members.append({"audience": AUDIENCE, "email_hash": h, "email": email, "contact_id": i,
                            "status": "subscribed" if rng.random() < 0.9 else "unsubscribed", "tags": [],
                            "opted_in_at": created, "marketing_permissions": {}})
            clicker = rng.random() < 0.45
            seen: set[tuple[str, str]] = set()
            while len(seen) < events_per_contact:
                mailing, at = MAILINGS[rng.randrange(len(MAILINGS))]
                kind = rng.choice(("sent", "open", "open", "click" if clicker else "open"))
                if (mailing, kind) in seen:
                    kind = "sent" if (mailing, "sent") not in seen else kind
                if (mailing, kind) in seen:
                    continue
                seen.add((mailing, kind))
                activity.append({"audience": AUDIENCE, "email_hash": h, "mailing_id": mailing, "kind": kind,
                                 "at": at + timedelta(hours=rng.randint(0, 72))})
            events += len(seen)
            if rng.random() < 0.3:
                gifts.append({"source": "bench", "external_id": f"g{i}", "contact_id": i, "amount_minor": 2500,
                              "currency": "EUR", "fee_minor": 0, "refunded_minor": 0, "status": "succeeded",
                              "received_at": NOW - timedelta(days=rng.randint(1, 3600)), "anonymous": False,
                              "matched": False, "is_test": False, "created_at": NOW, "updated_at": NOW})
            if rng.random() < 0.05:
                plans.append({"source": "bench", "external_id": f"p{i}", "contact_id": i, "amount_minor": 1000,
                              "currency": "EUR", "interval": "month", "status": "active", "started_at": created,
                              "updated_at": NOW})
            if rng.random() < 0.9:
                evidence.append({"source": "bench", "external_id": f"c{i}", "contact_id": i, "purpose": "newsletter",
                                 "channel": "email", "granted": True, "at": created, "evidence": "form v3"})
            if len(activity) >= CHUNK:
                for table, rows in ((contacts, people), (mailing_members, members), (donations, gifts),
                                    (recurring_plans, plans), (consents, evidence), (engagement_events, activity)):
                    _flush(conn, table, rows)
        for table, rows in ((contacts, people), (mailing_members, members), (donations, gifts),
                            (recurring_plans, plans), (consents, evidence), (engagement_events, activity)):
            _flush(conn, table, rows)
    return events


def main() -> None:
    """Generate, plan, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="contacts (default 100000)")
    parser.add_argument("--events-per-contact", type=int, default=10)
    parser.add_argument("--keep", type=Path, default=None, help="keep the store and plan files in this directory")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="bench-gdpr-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bench.db"
    if db.exists():
        db.unlink()
    store = open_store(f"sqlite:///{db}")
    t0 = time.perf_counter()
    events = generate(store, args.size, args.events_per_contact)
    with store.read() as conn:
        stored_events = conn.execute(select(func.count()).select_from(engagement_events)).scalar_one()
    print(f"generated {args.size:,} contacts and {stored_events:,} engagement events "
          f"({events:,} written) in {time.perf_counter() - t0:.1f} s")
    policy = load_policy(Config({"gdpr": {"steward": "bench"}}, env={}))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.tracemalloc:
        tracemalloc.start()
    t1 = time.perf_counter()
    with store.read() as conn:
        plan = build_plan(conn, policy, NOW)
    t2 = time.perf_counter()
    with store.begin() as conn:
        save_plan(conn, plan)
    t3 = time.perf_counter()
    csv_path, json_path = write_plan_files(plan, workdir / "plan")
    t4 = time.perf_counter()
    total = t4 - t1
    print(f"plan: {len(plan.rows):,} rows {plan.counts()['actions']}")
    print(f"  build (read + rules) {t2 - t1:.2f} s, record rows {t3 - t2:.2f} s, write CSV+JSON {t4 - t3:.2f} s")
    print(f"  total {total:.2f} s for {args.size:,} contacts / {stored_events:,} events: "
          f"{args.size / total:,.0f} contacts/s, {stored_events / total:,.0f} events/s "
          f"({'within' if total < 30 else 'OVER'} the 30 s target)")
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"  peak RSS {rss_after / 1024:.0f} MiB (before planning {rss_before / 1024:.0f} MiB)")
    if args.tracemalloc:
        _, peak = tracemalloc.get_traced_memory()
        print(f"  tracemalloc peak during planning {peak / 2**20:.0f} MiB")
    store.dispose()
    if args.keep:
        print(f"  files: {csv_path} {json_path}")
    else:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
