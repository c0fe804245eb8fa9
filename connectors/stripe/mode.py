"""Test-mode and live-mode Stripe data never mix in one store: the mode is recorded once and checked."""

from __future__ import annotations

from sqlalchemy import select

from vwfund.errors import StoreError
from vwfund.store.database import Store
from vwfund.store.schema import store_meta
from vwfund.store.upsert import upsert

MODE_KEY = "stripe.livemode"


def mode_name(livemode: bool) -> str:
    """``live`` or ``test``."""
    return "live" if livemode else "test"


def ensure_mode(store: Store, livemode: bool) -> None:
    """Record the mode on first use; raise StoreError when the store already holds the other mode."""
    wanted = "true" if livemode else "false"
    stored = store.get_meta(MODE_KEY)
    if stored is None:  # first use: the first mode recorded stands, even when deliveries race to record it
        with store.begin() as conn:
            upsert(conn, store_meta, [{"key": MODE_KEY, "value": wanted}], ["key"], keep=["value"])
            stored = conn.execute(select(store_meta.c.value).where(store_meta.c.key == MODE_KEY)).scalar()
    if stored != wanted:
        raise StoreError(
            f"this store holds Stripe {mode_name(stored == 'true')}-mode data and the key is {mode_name(livemode)}-mode: "
            "test and live data never mix; use another store (--db) for the other mode"
        )
