"""Opening the store: SQLite by default (WAL, owner-only file), PostgreSQL by URL; migrations; locks."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import socket
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from vwfund.errors import LockedError, StoreError
from vwfund.store import migrate
from vwfund.store.schema import locks, store_meta
from vwfund.store.upsert import upsert

T = TypeVar("T")


def default_url() -> str:
    """The embedded default: a SQLite file in the user's data directory."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('vwfund')) / 'vwfund.db'}"


def describe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL is shown as nothing rather than leaking it
        return "<unreadable database URL>"


def _prepare_sqlite_file(path: Path) -> None:
    """Create the directory (0700) and the file (0600) before SQLite does, so no one else can read it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    else:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)


def _backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (WAL included), readable by its owner only."""
    target.unlink(missing_ok=True)
    os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


class Store:
    """A handle on one organisation's store: ``with store.begin() as conn`` writes in one transaction."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite store."""
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (on SQLite ``BEGIN IMMEDIATE``, so writers queue instead of failing)."""
        with self.engine.begin() as conn:
            yield conn

    def write(self, work: Callable[[Connection], T], attempts: int = 5) -> T:
        """Run ``work`` in one write transaction, again from the start if a concurrent writer made it collide.

        Two writers can both find a contact or an event new and both insert it (PostgreSQL, read committed);
        the loser's unique-key error, or a deadlock, rolls its transaction back and it runs again, now seeing
        the other's row. ``work`` must be safe to repeat: every save of the store is an upsert.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self.begin() as conn:
                    return work(conn)
            except (IntegrityError, OperationalError) as exc:
                if attempt == attempts or not _is_collision(exc):
                    raise
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: a consistent snapshot that does not block writers."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(vwfund_read=True)
            with conn.begin():
                yield conn

    def get_meta(self, key: str) -> str | None:
        """Read a store-wide setting (e.g. the Stripe mode this store holds)."""
        with self.read() as conn:
            return conn.execute(select(store_meta.c.value).where(store_meta.c.key == key)).scalar()

    def set_meta(self, conn: Connection, key: str, value: str) -> None:
        """Write a store-wide setting inside the caller's transaction (an upsert: safe when writers race)."""
        upsert(conn, store_meta, [{"key": key, "value": value}], ["key"])

    @contextlib.contextmanager
    def lock(self, name: str, wait: float = 0.0) -> Iterator[None]:
        """Hold a named lock for one run (one sync of a stream at a time), or raise LockedError."""
        if self.is_sqlite:
            with _sqlite_lock(self, name):
                yield
        else:
            with _pg_advisory_lock(self, name):
                yield

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _is_collision(exc: DBAPIError) -> bool:
    """A unique-key clash, a deadlock or a serialisation failure between concurrent writers."""
    if isinstance(exc, IntegrityError):
        return "unique" in str(exc.orig).lower() or "duplicate" in str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "diag", None), "sqlstate", None)
    return code in {"40001", "40P01"} or "database is locked" in str(exc.orig)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _sqlite_lock(store: Store, name: str) -> Iterator[None]:
    host, pid = socket.gethostname(), os.getpid()
    now = datetime.now(UTC)
    with store.begin() as conn:
        row = conn.execute(select(locks).where(locks.c.name == name)).first()
        if row is not None:
            stale = (row.host == host and not _pid_alive(row.pid)) or now - row.acquired_at > timedelta(hours=12)
            if not stale:
                raise LockedError(
                    f"{name} is already running (process {row.pid} on {row.host} since "
                    f"{row.acquired_at:%Y-%m-%d %H:%M} UTC); wait for it to finish"
                )
            conn.execute(delete(locks).where(locks.c.name == name))
        conn.execute(insert(locks).values(name=name, host=host, pid=pid, acquired_at=now))
    try:
        yield
    finally:
        with store.begin() as conn:
            conn.execute(delete(locks).where((locks.c.name == name) & (locks.c.pid == pid)))


@contextlib.contextmanager
def _pg_advisory_lock(store: Store, name: str) -> Iterator[None]:
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with store.engine.connect() as conn:
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        conn.commit()
        if not got:
            raise LockedError(f"{name} is already running on this database; wait for it to finish")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("vwfund_read"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_store_engine(url: str) -> Engine:
    """Build the engine for a store URL (SQLite file or PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if not db or db == ":memory:":
            raise StoreError("an in-memory SQLite store cannot be shared between runs; give a file path")
        _prepare_sqlite_file(Path(db))
        engine = create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=False, connect_args={"timeout": 60})
        _install_sqlite_hooks(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise StoreError(f"unsupported store URL {describe_url(url)}: use sqlite:///PATH or postgresql+psycopg://...")


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (and on SQLite create and migrate) the store at ``url`` (default: the embedded SQLite file).

    A SQLite store is copied aside before it is migrated. A PostgreSQL store is never migrated here:
    an older schema is refused with a message naming ``vwfund db upgrade``.
    """
    url = url or default_url()
    engine = create_store_engine(url)
    store = Store(url, engine)
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current == head:
        return store
    if current is not None and not migrate.is_known(current):
        raise StoreError(f"the store's schema ({current}) is newer than this vwfund; upgrade vwfund")
    if store.is_sqlite and upgrade:
        db_path = Path(make_url(url).database or "")
        if current is not None and db_path.stat().st_size > 0:
            _backup_sqlite(db_path, db_path.with_name(f"{db_path.name}.before-{head}.bak"))
        migrate.upgrade(engine)
        return store
    engine.dispose()
    raise StoreError(
        f"the store at {describe_url(url)} has schema {current or 'none'}, this vwfund needs {head}: "
        "run `vwfund db upgrade` (after a backup)"
    )
