"""The sync engine: streams of pages, each saved with its cursor in one transaction.

A pull stream yields :class:`Page` objects; the engine saves a page's records and its cursor together,
so a crash at any point resumes from the last saved page with no duplicate and no gap. A push reads
what to send from the store, hands it to the connector, and records what the outside system accepted
(push state) batch by batch, in the same way.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import Connection, delete, insert, select, tuple_, update

from vwfund.errors import LockedError, VwfundError
from vwfund.store.database import Store
from vwfund.store.records import save_records
from vwfund.store.schema import push_state, sync_runs, sync_state
from vwfund.store.upsert import upsert
from vwfund.timeutil import utcnow

log = logging.getLogger(__name__)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Page:
    """Records read from one page, and the cursor to resume after it (None: cursor unchanged)."""

    records: Sequence[Any]
    cursor: str | None = None


@dataclass
class StreamContext:
    """What a stream's fetch function is told about this run."""

    cursor: str | None
    started_at: datetime
    full: bool = False
    since: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def cap(self, instant: datetime) -> datetime:
        """A time cursor never moves past the run's start (objects created during the run are read next time)."""
        return min(instant, self.started_at)

    def note(self, message: str) -> None:
        """Say something the user must see in the run's summary (e.g. a re-read of old objects)."""
        self.notes.append(message)


@dataclass(frozen=True)
class Stream:
    """A pull stream: a name (``system.objects``), its primary key, and a fetch function."""

    name: str
    primary_key: tuple[str, ...]
    fetch: Callable[[StreamContext], Iterator[Page]]
    cursor_field: str | None = None


@dataclass(frozen=True)
class PushedItem:
    """One item an outside system accepted: (scope, item) as kept in push state; removed drops it."""

    scope: str
    item: str
    digest: str | None = None
    removed: bool = False


@dataclass
class PushOutcome:
    """What a push batch achieved: accepted items, and errors per item (by id or email hash, never a person)."""

    pushed: list[PushedItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Push:
    """A push: ``batches`` reads what to send (read-only), ``send`` talks to the system."""

    name: str
    target: str
    batches: Callable[[Connection], Iterator[Any]]
    send: Callable[[Any], PushOutcome]


@dataclass
class RunResult:
    """The outcome of one stream or push run."""

    stream: str
    direction: str
    status: str = "ok"
    counts: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the run finished without error."""
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary."""
        return {
            "stream": self.stream,
            "direction": self.direction,
            "status": self.status,
            "counts": dict(self.counts),
            "notes": self.notes,
            "errors": self.errors,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def load_cursor(conn: Connection, stream: str) -> str | None:
    """The saved cursor of a stream."""
    return conn.execute(select(sync_state.c.cursor).where(sync_state.c.stream == stream)).scalar()


def save_cursor(conn: Connection, stream: str, cursor: str) -> None:
    """Save a stream's cursor (inside the transaction that saved the rows it covers)."""
    changed = conn.execute(
        update(sync_state).where(sync_state.c.stream == stream).values(cursor=cursor, updated_at=utcnow())
    ).rowcount
    if not changed:
        conn.execute(insert(sync_state).values(stream=stream, cursor=cursor, updated_at=utcnow()))


def reset_cursor(conn: Connection, stream: str) -> None:
    """Forget a stream's cursor (the next run reads everything)."""
    conn.execute(delete(sync_state).where(sync_state.c.stream == stream))


def _start_run(store: Store, name: str, direction: str, started: datetime) -> int:
    with store.begin() as conn:
        key = conn.execute(
            insert(sync_runs).values(stream=name, direction=direction, started_at=started, status="running", counts={})
        ).inserted_primary_key
        assert key is not None
        return int(key[0])


def _finish_run(store: Store, run_id: int, result: RunResult) -> None:
    with store.begin() as conn:
        conn.execute(
            update(sync_runs)
            .where(sync_runs.c.id == run_id)
            .values(
                finished_at=result.finished_at,
                status=result.status,
                counts=dict(result.counts),
                error="; ".join(result.errors)[:4000] or None,
            )
        )


def describe_error(exc: BaseException) -> str:
    """One line for the user: our own errors as they are, HTTP failures without URLs' query strings."""
    if isinstance(exc, VwfundError):
        return str(exc)
    if isinstance(exc, requests.RequestException):
        req = exc.request
        where = f" ({req.method} {str(req.url).split('?')[0]})" if req is not None and req.url else ""
        return f"connection failed{where}: {type(exc).__name__}"
    return f"unexpected {type(exc).__name__}: {exc}"


def _guarded(result: RunResult, work: Callable[[], None]) -> None:
    """Run ``work``; a run that cannot start (locked, store unusable) is reported, not raised."""
    try:
        work()
    except LockedError as exc:
        result.status, result.errors = "locked", [str(exc)]
    except Exception as exc:
        result.status = "failed"
        result.errors.append(describe_error(exc))
        log.debug("run %s could not start:\n%s", result.stream, traceback.format_exc())


def _logged_run(store: Store, name: str, direction: str, body: Callable[[RunResult], None]) -> RunResult:
    """Run ``body`` under the stream's lock with a run-log row; a failure is recorded, not raised."""
    started = utcnow()
    result = RunResult(name, direction, started_at=started)

    def work() -> None:
        with store.lock(f"{'sync' if direction == 'pull' else direction}:{name}"):
            run_id = _start_run(store, name, direction, started)
            try:
                body(result)
            except Exception as exc:  # recorded in the run log; the next step of a nightly run still goes
                result.status = "failed"
                result.errors.append(describe_error(exc))
                log.debug("run %s failed:\n%s", name, traceback.format_exc())
            finally:
                result.finished_at = utcnow()
                _finish_run(store, run_id, result)

    _guarded(result, work)
    result.finished_at = result.finished_at or utcnow()
    return result


def run_stream(
    store: Store,
    stream: Stream,
    *,
    full: bool = False,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Pull one stream: each page and its cursor are saved in one transaction."""

    def body(result: RunResult) -> None:
        with store.read() as conn:
            cursor = None if full or since else load_cursor(conn, stream.name)
        assert result.started_at is not None
        ctx = StreamContext(cursor=cursor, started_at=result.started_at, full=full, since=since, notes=result.notes)
        for page in stream.fetch(ctx):

            def save_page(conn: Connection, page: Page = page) -> Counter[str]:
                counts = save_records(conn, page.records)
                if page.cursor is not None:
                    save_cursor(conn, stream.name, page.cursor)
                return counts

            result.counts.update(store.write(save_page))
            if progress:
                progress(len(page.records))

    return _logged_run(store, stream.name, "pull", body)


def record_pushed(conn: Connection, target: str, items: Sequence[PushedItem]) -> None:
    """Keep push state: what each target holds now (one row per target, scope and item), in bulk."""
    latest: dict[tuple[str, str], PushedItem] = {(it.scope, it.item): it for it in items}  # the last word wins
    now = utcnow()
    kept = [{"target": target, "scope": s, "item": i, "digest": it.digest, "pushed_at": now}
            for (s, i), it in latest.items() if not it.removed]
    gone = [key for key, it in latest.items() if it.removed]
    for start in range(0, len(kept), 1000):
        upsert(conn, push_state, kept[start : start + 1000], ["target", "scope", "item"])
    for start in range(0, len(gone), 500):
        conn.execute(delete(push_state).where(
            (push_state.c.target == target)
            & tuple_(push_state.c.scope, push_state.c.item).in_(gone[start : start + 500])
        ))


def pushed_items(conn: Connection, target: str, scope: str) -> dict[str, str | None]:
    """What was last pushed to a target in a scope: item -> digest."""
    rows = conn.execute(
        select(push_state.c.item, push_state.c.digest).where(
            (push_state.c.target == target) & (push_state.c.scope == scope)
        )
    )
    return {r.item: r.digest for r in rows}


def run_push(store: Store, push: Push, *, progress: Progress | None = None) -> RunResult:
    """Run a push: each batch's accepted items are recorded in push state as soon as it is answered."""

    def body(result: RunResult) -> None:
        with store.read() as conn:
            batches = list(push.batches(conn))
        for batch in batches:
            outcome = push.send(batch)
            with store.begin() as conn:
                record_pushed(conn, push.target, outcome.pushed)
            result.counts.update(outcome.counts)
            result.counts["pushed"] += len(outcome.pushed)
            result.errors.extend(outcome.errors)
            if progress:
                progress(len(outcome.pushed))
        if result.errors:
            result.status = "partial"

    return _logged_run(store, push.name, "push", body)


def run_status(store: Store) -> list[dict[str, Any]]:
    """The last run of every stream and push, newest first."""
    with store.read() as conn:
        rows = conn.execute(select(sync_runs).order_by(sync_runs.c.id.desc()).limit(1000)).all()
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = f"{r.direction}:{r.stream}"
        if key not in seen:
            seen[key] = {
                "stream": r.stream,
                "direction": r.direction,
                "status": r.status,
                "counts": r.counts,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "error": r.error,
            }
    return list(seen.values())


def apply_records(
    store: Store, records: Sequence[Any], also: Callable[[Connection], None] | None = None
) -> Counter[str]:
    """Save records outside a paged run (a webhook delivery) through the same save path as a sync.

    ``also`` runs inside the same transaction (e.g. to mark a webhook event as applied), so the records
    and that mark are committed together or not at all.
    """
    def work(conn: Connection) -> Counter[str]:
        counts = save_records(conn, records)
        if also is not None:
            also(conn)
        return counts

    return store.write(work)
