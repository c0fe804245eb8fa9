"""``vwfund doctor``: is the store usable, and does each configured connector answer?"""

from __future__ import annotations

from dataclasses import dataclass

from vwfund.app import App
from vwfund.store.database import describe_url
from vwfund.sync import describe_error


@dataclass(frozen=True)
class Check:
    """One check: what, whether it passed, and what to do."""

    name: str
    ok: bool
    detail: str


def run_checks(app: App) -> list[Check]:
    """Check config, the store and every connector (one cheap call each); never raises."""
    checks: list[Check] = []
    try:
        checks.append(
            Check(
                "config",
                True,
                f"timezone {app.config.timezone}, currency {app.config.currency}, file {app.config.path or '(none)'}",
            )
        )
    except Exception as exc:
        checks.append(Check("config", False, describe_error(exc)))
    try:
        store = app.store
        with store.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        checks.append(Check("store", True, f"{describe_url(store.url)} ({store.dialect})"))
    except Exception as exc:
        checks.append(Check("store", False, describe_error(exc)))
    for plugin in app.plugins.failures:
        checks.append(Check(f"plugin {plugin.name}", False, f"did not load: {plugin.error}"))
    for connector in app.connectors.values():
        if not connector.is_configured(app.config):
            checks.append(Check(connector.name, True, "not configured (skipped by `vwfund sync`)"))
            continue
        try:
            checks.append(Check(connector.name, True, connector.check(app)))
        except Exception as exc:
            checks.append(Check(connector.name, False, describe_error(exc)))
    return checks
