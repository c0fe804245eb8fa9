"""Counted gifts get a donor key: contact and currency in one integer, which their index now leads with.

``donor_key = contact_id * 32768 + the currency read as a base-26 number`` (``vwfund.store.donor_keys``).
A per-donor read groups by one integer instead of a contact and a text currency. The table is filled again
from the donations by the same counting rule, and the triggers now write the key too. A counted gift whose
currency is not three capital letters is refused with a message saying so (the code never stores one: it
normalises every currency to its ISO 4217 code), and so is this migration while such a gift is stored.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

from vwfund.errors import StoreError

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_previous = importlib.import_module("vwfund.store.migrations.versions.0012_counted_gifts")
LEDGER_COLUMNS = _previous.LEDGER_COLUMNS
BAD_CURRENCY = "a counted gift's currency must be three capital letters (an ISO 4217 code)"
SQLITE_CODE = "{row}.currency GLOB '[A-Z][A-Z][A-Z]'"
POSTGRES_CODE = "{row}.currency ~ '^[A-Z]{{3}}$'"
_QUOTED = BAD_CURRENCY.replace("'", "''")
COLUMNS = "donation_id, contact_id, currency, donor_key, received_epoch, net_minor"


def _key(row: str, sqlite: bool) -> str:
    letter = "unicode(substr({row}.currency, {k}, 1)) - 65" if sqlite else "ascii(substr({row}.currency, {k}, 1)) - 65"
    contact = f"{row}.contact_id" if sqlite else f"{row}.contact_id::bigint"
    first, second, third = (letter.format(row=row, k=k) for k in (1, 2, 3))
    return f"{contact} * 32768 + ({first}) * 676 + ({second}) * 26 + ({third})"


def _values(row: str, sqlite: bool) -> str:
    epoch = (_previous.SQLITE_EPOCH if sqlite else _previous.POSTGRES_EPOCH).format(row=row)
    return (f"{row}.id, {row}.contact_id, {row}.currency, {_key(row, sqlite)}, {epoch}, "
            f"{row}.amount_minor - {row}.refunded_minor")


def _sqlite_triggers() -> list[str]:
    counted = _previous._counted("NEW", "0")
    refuse = f"SELECT RAISE(ABORT, '{_QUOTED}') WHERE {counted} AND NOT {SQLITE_CODE.format(row='NEW')}"
    insert = f"INSERT INTO counted_gifts ({COLUMNS}) SELECT {_values('NEW', True)}"
    return [
        f"""CREATE TRIGGER tr_counted_gifts_insert AFTER INSERT ON donations
            WHEN {counted}
            BEGIN {refuse}; {insert}; END""",
        f"""CREATE TRIGGER tr_counted_gifts_update AFTER UPDATE OF {', '.join(LEDGER_COLUMNS)} ON donations
            BEGIN
              DELETE FROM counted_gifts WHERE donation_id = OLD.id;
              {refuse};
              {insert} WHERE {counted};
            END""",
        """CREATE TRIGGER tr_counted_gifts_delete AFTER DELETE ON donations
            BEGIN DELETE FROM counted_gifts WHERE donation_id = OLD.id; END""",
    ]


def _postgres_triggers() -> list[str]:
    function = f"""CREATE FUNCTION vwfund_counted_gifts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP <> 'INSERT' THEN
                DELETE FROM counted_gifts WHERE donation_id = OLD.id;
              END IF;
              IF TG_OP <> 'DELETE' AND {_previous._counted('NEW', 'false')} THEN
                IF NOT {POSTGRES_CODE.format(row='NEW')} THEN
                  RAISE EXCEPTION '{_QUOTED} (donation %, currency %)', NEW.id, NEW.currency;
                END IF;
                INSERT INTO counted_gifts ({COLUMNS}) VALUES ({_values('NEW', False)});
              END IF;
              RETURN NULL;
            END $$"""
    return [function, _previous._postgres_triggers()[1]]  # the trigger itself is as it was


def _refuse_stored_bad_currencies(sqlite: bool) -> None:
    counted = _previous._counted("d", "0" if sqlite else "false")
    code = (SQLITE_CODE if sqlite else POSTGRES_CODE).format(row="d")
    bad = op.get_bind().execute(sa.text(
        f"SELECT count(*), min(d.id) FROM donations d WHERE {counted} AND NOT {code}")).one()
    if bad[0]:
        raise StoreError(f"{bad[0]} stored gift(s) break the rule that {BAD_CURRENCY}, the first is donation "
                         f"id {bad[1]}: correct their currency, then upgrade the store again")


def upgrade() -> None:
    """Apply this revision: the table again with its key, filled from the donations, and the triggers."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    _refuse_stored_bad_currencies(sqlite)
    _previous.drop_counted_gifts(sqlite)
    op.create_table(
        "counted_gifts",
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("donor_key", sa.BigInteger(), nullable=False),
        sa.Column("received_epoch", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("donation_id", name=op.f("pk_counted_gifts")),
    )
    op.create_index("ix_counted_gifts_donor", "counted_gifts", ["donor_key", "received_epoch", "net_minor"])
    op.execute(f"""INSERT INTO counted_gifts ({COLUMNS}) SELECT {_values('d', sqlite)} FROM donations d
                   WHERE {_previous._counted('d', '0' if sqlite else 'false')}""")
    for statement in _sqlite_triggers() if sqlite else _postgres_triggers():
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision: revision 0012's table, index and triggers, filled again."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    _previous.drop_counted_gifts(sqlite)  # this revision's triggers and function bear the same names
    _previous.create_counted_gifts(sqlite)
