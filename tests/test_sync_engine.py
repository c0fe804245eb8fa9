"""The sync engine: pages and cursors in one transaction, crash-resume, locks, push state."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from vwfund.errors import LockedError
from vwfund.models import Contact, Donation
from vwfund.store.schema import donations, sync_runs
from vwfund.sync import (
    Page,
    Push,
    PushedItem,
    PushOutcome,
    Stream,
    StreamContext,
    load_cursor,
    pushed_items,
    run_push,
    run_stream,
)

BASE = datetime(2024, 1, 1, tzinfo=UTC)


class Crash(RuntimeError):
    pass


def source_pages(n_objects: int, page_size: int, fail_at: int | None = None):
    """A fake outside system: objects ordered by created time, paged after a cursor."""
    objects = [(f"ch_{i:05d}", BASE + timedelta(minutes=i), 100 + i) for i in range(n_objects)]

    def fetch(ctx: StreamContext) -> Iterator[Page]:
        after = int(ctx.cursor) if ctx.cursor else -1
        remaining = [o for i, o in enumerate(objects) if i > after]
        for page_no, start in enumerate(range(0, len(remaining), page_size)):
            if fail_at is not None and page_no == fail_at:
                raise Crash("connection lost")
            chunk = remaining[start : start + page_size]
            records = []
            for ext, created, amount in chunk:
                records.append(Contact(source="stripe", external_id=f"cus_{ext}", email=f"{ext}@example.org"))
                records.append(Donation(source="stripe", external_id=ext, amount_minor=amount, currency="EUR",
                                        status="succeeded", received_at=created, contact_source="stripe",
                                        contact_external_id=f"cus_{ext}"))
            last_index = after + start + len(chunk)
            yield Page(records, cursor=str(last_index))

    return fetch


def snapshot(store):
    with store.read() as conn:
        return sorted((r.external_id, r.amount_minor, r.contact_id is not None) for r in conn.execute(select(donations)))


def test_crash_at_a_random_page_then_rerun_equals_a_clean_run(store, sqlite_url):
    rng = random.Random(7)
    n, size = 250, 20
    fail_at = rng.randrange(1, n // size)
    crashed = run_stream(store, Stream("fake.charges", ("id",), source_pages(n, size, fail_at)))
    assert crashed.status == "failed" and "connection lost" in crashed.errors[0]
    partial = snapshot(store)
    assert len(partial) == fail_at * size  # every saved page is whole: no gap inside
    again = run_stream(store, Stream("fake.charges", ("id",), source_pages(n, size)))
    assert again.ok
    clean = open_clean(sqlite_url, n, size)
    assert snapshot(store) == clean
    assert len({row[0] for row in snapshot(store)}) == n  # no duplicate
    with store.read() as conn:
        statuses = [r.status for r in conn.execute(select(sync_runs).order_by(sync_runs.c.id))]
    assert statuses == ["failed", "ok"]


def open_clean(url: str, n: int, size: int):
    from vwfund.store.database import open_store

    clean_store = open_store(url.replace("store.db", "clean.db"))
    try:
        assert run_stream(clean_store, Stream("fake.charges", ("id",), source_pages(n, size))).ok
        return snapshot(clean_store)
    finally:
        clean_store.dispose()


def test_rerun_with_nothing_new_changes_nothing(store):
    stream = Stream("fake.charges", ("id",), source_pages(30, 10))
    run_stream(store, stream)
    before = snapshot(store)
    result = run_stream(store, stream)
    assert result.ok and snapshot(store) == before and sum(result.counts.values()) == 0


def test_time_cursor_never_moves_past_the_run_start(store):
    future = datetime.now(UTC) + timedelta(days=1)

    def fetch(ctx: StreamContext) -> Iterator[Page]:
        yield Page([], cursor=ctx.cap(future).isoformat())

    run_stream(store, Stream("fake.events", ("id",), fetch))
    with store.read() as conn:
        saved = datetime.fromisoformat(load_cursor(conn, "fake.events"))
    assert saved <= datetime.now(UTC)


def test_a_second_run_of_the_same_stream_is_refused_clearly(store):
    with store.lock("sync:fake.charges"):
        result = run_stream(store, Stream("fake.charges", ("id",), source_pages(5, 5)))
        assert result.status == "locked" and "already running" in result.errors[0]
        with pytest.raises(LockedError), store.lock("sync:fake.charges"):
            pass
    assert run_stream(store, Stream("fake.charges", ("id",), source_pages(5, 5))).ok


def test_push_records_each_accepted_batch_and_keeps_errors(store):
    sent: list[list[str]] = []

    def send(batch: list[str]) -> PushOutcome:
        sent.append(batch)
        if "b" in batch:
            return PushOutcome([PushedItem("members", "a")], errors=["member hash 92eb5f: invalid merge field"])
        return PushOutcome([PushedItem("members", x) for x in batch])

    result = run_push(store, Push("fake.members", "fake", lambda conn: iter([["a", "b"], ["c"]]), send))
    assert result.status == "partial" and result.errors == ["member hash 92eb5f: invalid merge field"]
    with store.read() as conn:
        assert sorted(pushed_items(conn, "fake", "members")) == ["a", "c"]
    removal = run_push(store, Push("fake.members", "fake", lambda conn: iter([["c"]]),
                                   lambda b: PushOutcome([PushedItem("members", "c", removed=True)])))
    assert removal.ok
    with store.read() as conn:
        assert sorted(pushed_items(conn, "fake", "members")) == ["a"]


def test_page_records_and_cursor_commit_together(store):
    def fetch(ctx: StreamContext) -> Iterator[Page]:
        bad = Donation(source="stripe", external_id="ch_x", amount_minor=1, currency="EUR", status="succeeded",
                       received_at=BASE)
        yield Page([bad], cursor="1")
        yield Page([bad, "not a record"], cursor="2")  # the store refuses the page: neither rows nor cursor move

    result = run_stream(store, Stream("fake.mixed", ("id",), fetch))
    assert result.status == "failed"
    with store.read() as conn:
        assert load_cursor(conn, "fake.mixed") == "1"
        assert conn.execute(select(func.count()).select_from(donations)).scalar() == 1
