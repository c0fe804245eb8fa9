"""Dialect-aware bulk upsert (SQLite and PostgreSQL both speak ON CONFLICT)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, or_
from sqlalchemy.dialects import postgresql, sqlite


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    *,
    keep: Sequence[str] = (),
    coalesce: Sequence[str] = (),
    newer: str | None = None,
) -> None:
    """Insert ``rows``; where ``keys`` exist already, update the other given columns.

    ``keep`` columns are never overwritten on update (created_at); ``coalesce`` columns keep their
    stored value when the new one is NULL (a contact link found earlier is not forgotten).
    With every column kept, existing rows are left as they are. With ``newer`` (a timestamp column), an
    existing row is updated only when the new row's value is at least as recent (or the stored one unknown).
    """
    if not rows:
        return
    insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
    stmt = insert(table)
    set_: dict[str, Any] = {}
    for column in rows[0]:
        if column in keys or column in keep:
            continue
        new = stmt.excluded[column]
        set_[column] = func.coalesce(new, table.c[column]) if column in coalesce else new
    if set_:
        where = None
        if newer is not None:
            where = or_(table.c[newer].is_(None), stmt.excluded[newer] >= table.c[newer])
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_, where=where)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, [dict(r) for r in rows])
