"""CiviCRM ids the pushes need by name: the financial type, payment instruments, campaigns (read once, cached)."""

from __future__ import annotations

from collections.abc import Iterable

from vwfund.connectors.civicrm.client import CiviClient
from vwfund.connectors.civicrm.settings import CiviSettings
from vwfund.errors import ConfigError


class References:
    """Looks up and caches the ids of named things in CiviCRM."""

    def __init__(self, client: CiviClient, settings: CiviSettings) -> None:
        self.client = client
        self.settings = settings
        self._ids: dict[str, int] | None = None
        self._campaigns: dict[str, int | None] = {}

    def ids(self) -> dict[str, int]:
        """``financial_type`` and ``instrument:<source>`` ids (one request, the first time)."""
        if self._ids is None:
            s = self.settings
            found = self.client.multi_strict({
                "types": ("FinancialType", "get", {"select": ["id", "name"],
                                                   "where": [["name", "=", s.financial_type]]}),
                "instruments": ("OptionValue", "get", {"select": ["value", "name"], "where": [
                    ["option_group_id:name", "=", "payment_instrument"],
                    ["name", "IN", [s.instrument_stripe, s.instrument_offline]]]}),
            })
            if not found["types"]:
                raise ConfigError(f"[civicrm] financial_type {s.financial_type!r} does not exist in CiviCRM")
            ids = {"financial_type": int(found["types"][0]["id"])}
            by_name = {str(r["name"]): int(r["value"]) for r in found["instruments"]}
            for source, name in (("stripe", s.instrument_stripe), ("offline", s.instrument_offline)):
                if name in by_name:
                    ids[f"instrument:{source}"] = by_name[name]
            self._ids = ids
        return self._ids

    def instrument(self, source: str) -> int | None:
        """The payment instrument id for gifts from ``source``, if CiviCRM has it."""
        return self.ids().get(f"instrument:{source}")

    def unknown_campaigns(self, names: Iterable[str | None]) -> list[str]:
        """Campaign names not looked up yet (to add to a batch's read request)."""
        return sorted({n for n in names if n and n not in self._campaigns})

    def learn_campaigns(self, asked: Iterable[str], rows: Iterable[dict[str, object]]) -> list[str]:
        """Remember campaign ids from a ``Campaign.get``; returns the names CiviCRM does not have."""
        for row in rows:
            self._campaigns[str(row["name"])] = int(str(row["id"]))
        missing = [n for n in asked if n not in self._campaigns]
        for name in missing:
            self._campaigns[name] = None
        return missing

    def campaign(self, name: str | None) -> int | None:
        """A known campaign's id."""
        return self._campaigns.get(name or "")
