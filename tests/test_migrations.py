"""Migrations: from empty to head on both databases, equal to the tables the code declares."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, text

import vwfund.campaigns
import vwfund.connectors
from vwfund.errors import StoreError
from vwfund.store import migrate
from vwfund.store.database import create_store_engine, open_store
from vwfund.store.donor_keys import donor_key
from vwfund.store.schema import contacts, donations, metadata

AT = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def import_all_table_modules() -> None:
    """Plugins declare their tables in a `tables` module: load them all onto the shared metadata."""
    for package in (vwfund.connectors, vwfund.campaigns):
        for info in pkgutil.iter_modules(package.__path__):
            try:
                importlib.import_module(f"{package.__name__}.{info.name}.tables")
            except ModuleNotFoundError as exc:
                if not exc.name or not exc.name.endswith(".tables"):
                    raise


def test_migrating_from_empty_yields_exactly_the_declared_schema(store):
    import_all_table_modules()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    assert diff == [], f"migrations and tables differ: {diff}"
    assert migrate.current_revision(store.engine) == migrate.head_revision()


def test_sqlite_store_migrates_on_open_after_copying_itself_aside(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_store_engine(url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO store_meta (key, value) VALUES ('kept', 'yes')"))
    engine.dispose()
    store = open_store(url)
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision()
        assert store.get_meta("kept") == "yes"
    finally:
        store.dispose()
    backups = list(Path(tmp_path).glob("old.db.before-*.bak"))
    assert len(backups) == 1 and (backups[0].stat().st_mode & 0o077) == 0


def test_store_file_is_readable_by_its_owner_only(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'private' / 'vwfund.db'}")
    store.dispose()
    assert (tmp_path / "private" / "vwfund.db").stat().st_mode & 0o077 == 0
    assert (tmp_path / "private").stat().st_mode & 0o077 == 0


@pytest.mark.postgres
def test_postgresql_store_is_migrated_only_by_db_upgrade(pg_url, builtin_plugins):
    store_url = pg_url
    with pytest.raises(StoreError, match="vwfund db upgrade"):
        open_store(store_url)
    from conftest import Cli

    from vwfund.app import App
    from vwfund.config import Config

    cli = Cli(App(Config({}, env={}), db_url=store_url, plugins=builtin_plugins))
    assert "-> " + migrate.head_revision() in cli("db", "upgrade").stdout
    open_store(store_url).dispose()


def test_a_newer_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    store = open_store(url)
    with store.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    with pytest.raises(StoreError, match="newer than this vwfund"):
        open_store(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database, not migrated: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    yield request.getfixturevalue("pg_url")


def test_donor_keys_are_added_to_the_counted_gifts_of_an_older_store_and_taken_away_again(empty_url):
    engine = create_store_engine(empty_url)
    try:
        migrate.upgrade(engine, "0012")
        with engine.begin() as conn:  # contacts and donations are as they were at 0012
            conn.execute(insert(contacts).values(id=7, email="a@example.org"))
            conn.execute(insert(donations), [
                {"source": "csv", "external_id": f"g{number}", "contact_id": 7, "amount_minor": 1000,
                 "refunded_minor": 400 if status == "refunded" else 0, "currency": currency, "status": status,
                 "received_at": AT}
                for number, currency, status in ((1, "EUR", "succeeded"), (2, "GBP", "refunded"),
                                                 (3, "usd", "succeeded"), (4, "xx", "failed"))])
        with pytest.raises(StoreError, match=r"1 stored gift.*three capital letters.*donation id 3"):
            migrate.upgrade(engine)
        assert migrate.current_revision(engine) == "0012"
        with engine.begin() as conn:
            conn.execute(text("UPDATE donations SET currency = 'USD' WHERE external_id = 'g3'"))
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rows = set(conn.execute(text("SELECT donation_id, currency, donor_key, net_minor FROM counted_gifts")))
        assert rows == {(1, "EUR", donor_key(7, "EUR"), 1000), (2, "GBP", donor_key(7, "GBP"), 600),
                        (3, "USD", donor_key(7, "USD"), 1000)}
        command.downgrade(migrate.alembic_config(engine), "0012")
        with engine.begin() as conn:  # revision 0012's triggers are back: they follow a change
            conn.execute(text("UPDATE donations SET status = 'failed' WHERE external_id = 'g1'"))
        with engine.connect() as conn:
            rows = set(conn.execute(text("SELECT donation_id, currency, net_minor FROM counted_gifts")))
        assert rows == {(2, "GBP", 600), (3, "USD", 1000)}
    finally:
        engine.dispose()
