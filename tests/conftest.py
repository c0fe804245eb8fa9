"""Shared fixtures: isolated user directories, a store on SQLite and (when available) PostgreSQL, an App,
and a CLI runner.

PostgreSQL tests use the server named by ``VWFUND_TEST_PG_URL`` (a URL to a database the tests may create
databases from, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). Without it they are skipped
with that reason, unless ``VWFUND_REQUIRE_SERVICES=1`` (as in CI), which turns the skip into a failure.
The same variable makes browser tests fail rather than skip when Chromium is missing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from vwfund.app import App
from vwfund.config import Config
from vwfund.plugins import load_plugins
from vwfund.store import migrate
from vwfund.store.database import Store, open_store

REQUIRE_SERVICES = os.environ.get("VWFUND_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip with a visible reason, or fail when CI requires the service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing (VWFUND_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own home, config and data directories, and no VWFUND_* settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for name in list(os.environ):
        if name.startswith("VWFUND_") and name not in {"VWFUND_TEST_PG_URL", "VWFUND_REQUIRE_SERVICES"}:
            monkeypatch.delenv(name)
    monkeypatch.setenv("VWFUND_HTTP_BACKOFF", "0.01")  # retries stay, their waits shrink (Retry-After still honoured)


@pytest.fixture(scope="session")
def pg_admin_url() -> str | None:
    """The PostgreSQL server URL for tests, if any."""
    return os.environ.get("VWFUND_TEST_PG_URL")


def _fresh_pg_database(admin_url: str, template: str | None = None) -> tuple[str, Any]:
    name = f"vwfund_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str | None) -> Iterator[str | None]:
    """A PostgreSQL database migrated once per session; each test's store is a copy of it (fast)."""
    if not pg_admin_url:
        yield None
        return
    url, drop = _fresh_pg_database(pg_admin_url)
    from vwfund.store.database import create_store_engine

    engine = create_store_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield make_url(url).database
    finally:
        drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_admin_url: str | None, pg_template: str | None
) -> Iterator[str]:
    """A URL to an empty, migrated store: a SQLite file, and a fresh PostgreSQL database (same tests, both)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not pg_admin_url:
        skip_or_fail("no PostgreSQL server: set VWFUND_TEST_PG_URL")
    assert pg_admin_url is not None
    url, drop = _fresh_pg_database(pg_admin_url, template=pg_template)
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def pg_url(pg_admin_url: str | None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for tests about PostgreSQL only)."""
    if not pg_admin_url:
        skip_or_fail("no PostgreSQL server: set VWFUND_TEST_PG_URL")
    assert pg_admin_url is not None
    url, drop = _fresh_pg_database(pg_admin_url)
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL to an empty SQLite store (for tests that are about SQLite only)."""
    return f"sqlite:///{tmp_path / 'store.db'}"


def migrated_store(url: str) -> Store:
    """Open a store, migrating a PostgreSQL one first (as `vwfund db upgrade` would)."""
    if url.startswith("postgresql"):
        from vwfund.store.database import create_store_engine

        engine = create_store_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
    return open_store(url)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated, empty store on each database."""
    s = migrated_store(store_url)
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    """A migrated, empty SQLite store."""
    s = open_store(sqlite_url)
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture(scope="session")
def builtin_plugins() -> Any:
    """The plugins this distribution installs (third-party plugins in the environment are ignored)."""
    return load_plugins(only_distribution="vwfund")


def make_app(store: Store, plugins: Any, settings: dict[str, dict[str, Any]] | None = None) -> App:
    """An App on ``store`` with the given config sections and no environment."""
    return App(Config(settings or {}, env={}), db_url=store.url, plugins=plugins)


def point_at_mailchimp(app: App, fake: Any, list_id: str = "list0001", **extra: Any) -> App:
    """Point ``app``'s ``[mailchimp]`` settings at a local fake audience, with short waits."""
    settings = {"api_key": fake.api_key, "list_id": list_id, "api_base": fake.url, "retries": 2, "backoff": 0.01,
                "timeout": 5, "poll_interval": 0.01, **extra}
    for key, value in settings.items():
        app.config.override("mailchimp", key, value)
    return app


@pytest.fixture
def app(store: Store, builtin_plugins: Any) -> Iterator[App]:
    """An App on the parametrised store (SQLite and PostgreSQL)."""
    a = make_app(store, builtin_plugins)
    yield a
    a.close()


@pytest.fixture
def sqlite_app(sqlite_store: Store, builtin_plugins: Any) -> Iterator[App]:
    """An App on a SQLite store."""
    a = make_app(sqlite_store, builtin_plugins)
    yield a
    a.close()


def command_paths(group: Any, prefix: str = "vwfund") -> list[tuple[str, Any]]:
    """Every command and group under ``group``, as ("vwfund sub cmd", click command) pairs."""
    import click

    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None:
            continue
        path = f"{prefix} {name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found += command_paths(command, path)
    return found


class Cli:
    """Runs ``vwfund`` commands in-process against an App."""

    def __init__(self, app: App) -> None:
        from vwfund.cli.main import build_cli

        self.app = app
        self.group = build_cli()
        self.runner = CliRunner()

    def __call__(self, *args: str, expect: int | None = 0, input: str | None = None) -> Result:
        """Invoke; assert the exit code unless ``expect`` is None."""
        result = self.runner.invoke(self.group, list(args), obj=self.app, input=input, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, f"exit {result.exit_code}: {result.output}"
        return result


@pytest.fixture
def cli(sqlite_app: App) -> Cli:
    """Run vwfund commands against a SQLite store."""
    return Cli(sqlite_app)
