"""What the segments plugin adds to the schema: one covering index on donations.

A segments run reads every gift grouped by contact and currency. With this index (its columns are all the
run reads) SQLite and PostgreSQL can walk the gifts already in that order without touching the table or
sorting ten million rows; without it SQLite either sorts the whole table or jumps through it row by row.
It costs disk space and a little time on every insert of a gift.
"""

from __future__ import annotations

from sqlalchemy import Index

from vwfund.store.schema import donations

LEDGER_COLUMNS = ("contact_id", "currency", "received_at", "status", "is_test", "amount_minor", "refunded_minor")

donations_ledger_index = Index("ix_donations_segments_ledger", *(donations.c[name] for name in LEDGER_COLUMNS))
