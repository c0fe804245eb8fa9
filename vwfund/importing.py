"""Saving an import: every record of a file in one transaction, or none of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vwfund.store.database import Store
from vwfund.store.records import save_records
from vwfund.sync import Progress


@dataclass
class ImportResult:
    """What an import saved (counts per kind) from how many rows."""

    path: str
    rows: int
    counts: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary."""
        return {"path": self.path, "rows": self.rows, "counts": dict(self.counts)}


def save_import(
    store: Store, path: str, rows: int, records: Sequence[Any], progress: Progress | None = None, chunk: int = 2000
) -> ImportResult:
    """Save already-validated records in one transaction: a failure leaves the store as it was."""
    result = ImportResult(path, rows)
    with store.begin() as conn:
        for i in range(0, len(records), chunk):
            part = records[i : i + chunk]
            result.counts.update(save_records(conn, part))
            if progress:
                progress(len(part))
    return result
