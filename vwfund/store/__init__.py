"""The store: SQLAlchemy Core tables, Alembic migrations, and the functions that save records."""

from vwfund.store.database import Store, default_url, open_store

__all__ = ["Store", "default_url", "open_store"]
