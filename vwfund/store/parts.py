"""Read the store in several processes at once, all of them seeing the same snapshot of it.

A long read (a segments run over ten million gifts) can be split into parts that forked helper processes
read while this process reads its own; results come back pickled over a pipe. Every part sees the same
committed state, so nothing written meanwhile is half seen:

- PostgreSQL: this process's REPEATABLE READ transaction exports its snapshot and every helper's
  transaction imports it (``SET TRANSACTION SNAPSHOT``).
- SQLite: writers are held back (``BEGIN IMMEDIATE``) from just before this process starts reading until
  every helper has started its read transaction, so no commit can fall between them; in WAL mode readers
  never wait, and writers wait only for the helpers to start.

Where a process cannot be forked safely (no ``fork`` on the platform, or other threads running, whose locks
a child could inherit held), the parts are read one after the other in this process, in one transaction.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection as Pipe
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

from vwfund.errors import StoreError
from vwfund.store.database import Store, create_store_engine

T = TypeVar("T")
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]+")


def can_fork() -> bool:
    """Whether helper processes can be forked safely here (a ``fork`` platform, no other thread running)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


@contextlib.contextmanager
def snapshot(store: Store, imported: str | None = None) -> Iterator[Connection]:
    """A read transaction in which every statement sees one snapshot (REPEATABLE READ on PostgreSQL;
    SQLite's read transactions always do), taken at once; ``imported`` joins an exported PostgreSQL one."""
    with store.engine.connect() as conn:
        options: dict[str, Any] = {"vwfund_read": True}
        if not store.is_sqlite:
            options["isolation_level"] = "REPEATABLE READ"
        conn = conn.execution_options(**options)
        with conn.begin():
            if imported is not None:
                if not _SNAPSHOT_ID.fullmatch(imported):
                    raise StoreError(f"not a snapshot id: {imported!r}")
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{imported}'")
            else:  # the snapshot is taken by the first read of the database, so read now
                conn.exec_driver_sql("SELECT 1 FROM sqlite_master LIMIT 1" if store.is_sqlite else "SELECT 1")
            yield conn


class Helpers(Generic[T]):
    """The parts read by helper processes (or, where none could be forked, still to be read here)."""

    def __init__(self, jobs: Sequence[Callable[[Connection], T]], conn: Connection | None,
                 running: list[tuple[Any, Pipe]]) -> None:
        self._jobs = jobs
        self._conn = conn
        self._running = running

    @property
    def forked(self) -> bool:
        """Whether the parts are read by helper processes."""
        return bool(self._running)

    def results(self) -> list[T]:
        """Every part's result, in the order of the jobs (waits for the helpers)."""
        if not self._running:
            assert self._conn is not None
            return [job(self._conn) for job in self._jobs]
        out = [_receive(pipe, "done") for _process, pipe in self._running]
        for process, _pipe in self._running:
            process.join()
        return out


def _receive(pipe: Pipe, expected: str) -> Any:
    try:
        kind, value = pipe.recv()
    except EOFError:
        raise StoreError("a helper process reading the store stopped without an answer") from None
    if kind == "failed":
        raise StoreError(f"a helper process reading the store failed: {value}")
    if kind != expected:  # pragma: no cover - a protocol error of this module
        raise StoreError(f"a helper process answered {kind!r}, not {expected!r}")
    return value


def _helper(url: str, imported: str | None, job: Callable[[Connection], Any], pipe: Pipe) -> None:
    """In a forked process: join the snapshot, say so, run the job, send its result."""
    try:
        store = Store(url, create_store_engine(url))
        with snapshot(store, imported) as conn:
            pipe.send(("ready", None))
            result = job(conn)
        store.dispose()
        pipe.send(("done", result))
    except BaseException as exc:  # whatever it is, the parent raises it as a StoreError
        pipe.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


@contextlib.contextmanager
def read_in_parts(store: Store, jobs: Sequence[Callable[[Connection], T]]) -> Iterator[tuple[Connection, Helpers[T]]]:
    """Yield this process's snapshot connection and the helpers reading ``jobs`` in the same snapshot.

    Read this process's own part with the connection, then collect the helpers' with ``results()``.
    """
    if not jobs or not can_fork():
        with snapshot(store) as conn:
            yield conn, Helpers(jobs, conn, [])
        return
    context = multiprocessing.get_context("fork")
    running: list[tuple[Any, Pipe]] = []
    try:
        with contextlib.ExitStack() as writers_held:
            if store.is_sqlite:
                writers_held.enter_context(store.begin())
            with contextlib.ExitStack() as reading:
                conn = reading.enter_context(snapshot(store))
                exported = None if store.is_sqlite else str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar())
                for job in jobs:
                    mine, theirs = context.Pipe(duplex=False)
                    process = context.Process(target=_helper, args=(store.url, exported, job, theirs), daemon=True)
                    process.start()
                    theirs.close()
                    running.append((process, mine))
                for _process, pipe in running:
                    _receive(pipe, "ready")
                writers_held.close()  # every reader has its snapshot: writers may go on
                yield conn, Helpers(jobs, None, running)
    finally:
        for process, pipe in running:
            pipe.close()
            if process.is_alive():
                process.terminate()
            process.join()
