"""What keeping ``counted_gifts`` costs the writers: saving gifts with and without its triggers.

    python benchmarks/bench_store_writes.py [--gifts 200000] [--page 1000] [--db-dir DIR]

Two fresh SQLite stores get the same gifts, saved the way a sync saves them (``save_records``, one
transaction per page, every gift linked to one of 20,000 contacts), then a tenth of them refunded in full
(an update of each). One store is as migrated; in the other the triggers are dropped and the covering index
that segments read before ``counted_gifts`` existed (revision 0006) is put back, as a store without the
table would have it. Prints gifts per second for both and the ratio, and checks that the kept store's
``counted_gifts`` equals the counting rule afterwards.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vwfund.models import Contact, Donation
from vwfund.store.amounts import is_counted_expr
from vwfund.store.database import Store, open_store
from vwfund.store.records import save_records
from vwfund.store.schema import counted_gifts, donations

CONTACTS = 20_000
WITHOUT_TABLE = [
    "DROP TRIGGER tr_counted_gifts_insert", "DROP TRIGGER tr_counted_gifts_update", "DROP TRIGGER tr_counted_gifts_delete",
    "CREATE INDEX ix_donations_segments_ledger ON donations (contact_id, currency, received_at, status, is_test, "
    "amount_minor, refunded_minor)",
]


def gifts(n: int, seed: int) -> list[Donation]:
    """Generated gifts over three years, mixed statuses, linked to contacts by their Stripe customer id."""
    rnd = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    statuses = ["succeeded"] * 17 + ["failed", "pending", "disputed"]
    return [Donation(source="stripe", external_id=f"ch_{i}", contact_source="stripe",
                     contact_external_id=f"cus_{rnd.randrange(CONTACTS)}", amount_minor=rnd.randint(1, 400) * 250,
                     currency="EUR", status=rnd.choice(statuses),
                     received_at=start + timedelta(seconds=rnd.randrange(3 * 365 * 86400))) for i in range(n)]


def fill(store: Store, records: list[Donation], page: int) -> dict[str, float]:
    """Save the contacts, then the gifts page by page, then refund every tenth; seconds of each phase."""
    with store.begin() as conn:
        save_records(conn, [Contact(source="stripe", external_id=f"cus_{i}", email=f"c{i}@example.org")
                            for i in range(CONTACTS)])
    started = time.perf_counter()
    for at in range(0, len(records), page):
        with store.begin() as conn:
            save_records(conn, records[at:at + page])
    saved = time.perf_counter()
    refunds = [Donation.model_validate({**r.model_dump(), "status": "refunded", "refunded_minor": r.amount_minor})
               for r in records[::10] if r.status == "succeeded"]
    for at in range(0, len(refunds), page):
        with store.begin() as conn:
            save_records(conn, refunds[at:at + page])
    return {"save": saved - started, "refund": time.perf_counter() - saved, "refunds": len(refunds)}


def main() -> None:
    """Fill both stores, print the rates and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gifts", type=int, default=200_000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--db-dir", type=Path)
    args = parser.parse_args()
    records = gifts(args.gifts, seed=7)
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        results: dict[str, Any] = {}
        for label in ("without counted_gifts", "with counted_gifts"):
            store = open_store(f"sqlite:///{Path(tmp) / label.replace(' ', '_')}.db")
            if label.startswith("without"):
                with store.begin() as conn:
                    for statement in WITHOUT_TABLE:
                        conn.exec_driver_sql(statement)
            results[label] = fill(store, records, args.page)
            if label.startswith("with "):
                with store.read() as conn:
                    kept = conn.execute(select(func.count()).select_from(counted_gifts)).scalar_one()
                    rule = conn.execute(select(func.count()).select_from(donations).where(
                        is_counted_expr(donations), donations.c.contact_id.is_not(None))).scalar_one()
                results[label]["exact"] = kept == rule
            store.dispose()
    print(f"{args.gifts:,} gifts saved in pages of {args.page:,} (SQLite), then refunds as updates")
    for label, res in results.items():
        print(f"  {label:22s} save {args.gifts / res['save']:8,.0f} gifts/s ({res['save']:.2f} s), "
              f"refund {res['refunds'] / res['refund']:8,.0f} updates/s ({res['refund']:.2f} s)")
    without, with_table = results["without counted_gifts"], results["with counted_gifts"]
    print(f"  cost of keeping counted_gifts: saving {with_table['save'] / without['save']:.2f}x the time, "
          f"refunds {with_table['refund'] / without['refund']:.2f}x; counted_gifts exact afterwards: "
          f"{'yes' if with_table['exact'] else 'NO'}")


if __name__ == "__main__":
    main()
