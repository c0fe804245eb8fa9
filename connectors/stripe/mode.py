"""Test-mode and live-mode Stripe data never mix in one store: the mode is recorded once and checked."""

from __future__ import annotations

from vwfund.errors import StoreError
from vwfund.store.database import Store

MODE_KEY = "stripe.livemode"


def mode_name(livemode: bool) -> str:
    """``live`` or ``test``."""
    return "live" if livemode else "test"


def ensure_mode(store: Store, livemode: bool) -> None:
    """Record the mode on first use; raise StoreError when the store already holds the other mode."""
    stored = store.get_meta(MODE_KEY)
    wanted = "true" if livemode else "false"
    if stored is None:
        with store.begin() as conn:
            store.set_meta(conn, MODE_KEY, wanted)
        return
    if stored != wanted:
        raise StoreError(
            f"this store holds Stripe {mode_name(stored == 'true')}-mode data and the key is {mode_name(livemode)}-mode: "
            "test and live data never mix; use another store (--db) for the other mode"
        )
