"""Reading the store in parts, in helper processes that share this process's snapshot (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from vwfund.errors import StoreError
from vwfund.models import Donation
from vwfund.store import parts
from vwfund.store.records import save_records
from vwfund.store.schema import donations


def gift(ext: str) -> Donation:
    return Donation(source="csv", external_id=ext, amount_minor=500, currency="EUR", status="succeeded",
                    received_at=datetime(2025, 3, 1, tzinfo=UTC))


def count_gifts(conn) -> int:
    return int(conn.execute(select(func.count()).select_from(donations)).scalar_one())


def save(store, *ext: str) -> None:
    with store.begin() as conn:
        save_records(conn, [gift(e) for e in ext])


def test_helpers_and_this_process_see_one_snapshot_while_writers_go_on(store):
    save(store, "a", "b")
    assert parts.can_fork()
    with parts.read_in_parts(store, [count_gifts, count_gifts]) as (conn, helpers):
        assert helpers.forked
        save(store, "c")  # committed while the parts are being read: writers are not held back
        assert count_gifts(conn) == 2
        assert helpers.results() == [2, 2]
    with store.read() as conn:
        assert count_gifts(conn) == 3


def test_without_fork_the_parts_are_read_here_in_the_same_transaction(store, monkeypatch):
    save(store, "a")
    monkeypatch.setattr(parts.threading, "active_count", lambda: 2)  # as if a server thread were running
    with parts.read_in_parts(store, [count_gifts]) as (conn, helpers):
        save(store, "b")
        assert not helpers.forked
        assert (count_gifts(conn), helpers.results()) == (1, [1])


def fails(conn) -> int:
    raise ValueError("the part could not be read")


def test_a_failing_helper_is_reported_not_lost(store):
    failed = "helper process reading the store failed: ValueError: the part could not"
    with pytest.raises(StoreError, match=failed), parts.read_in_parts(store, [count_gifts, fails]) as (_conn, helpers):
        helpers.results()
