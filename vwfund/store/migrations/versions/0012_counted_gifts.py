"""Counted gifts: a narrow copy of every counted, linked gift, kept by database triggers.

One row per gift that counts (``vwfund.store.amounts``: succeeded or partly refunded, not a test,
something left after refunds) and is linked to a contact: its contact, currency, UTC instant in whole
seconds since 1970 and its counted minor units. Triggers on ``donations`` keep it exact on every insert,
update and delete, whatever writes them (the sync, an import, a contact merge, a bulk load). Per-contact
reports (segments) read this instead of the wide donations table; it replaces revision 0006's index.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: The counting rule as it stands at this revision (a later change of the rule needs a new revision).
COUNTED_STATUSES = "('succeeded', 'partially_refunded', 'refunded')"
LEDGER_COLUMNS = ["contact_id", "currency", "received_at", "status", "is_test", "amount_minor", "refunded_minor"]
OLD_INDEX = "ix_donations_segments_ledger"


def _counted(row: str, false: str) -> str:
    return (f"{row}.contact_id IS NOT NULL AND {row}.status IN {COUNTED_STATUSES} AND {row}.is_test = {false} "
            f"AND {row}.amount_minor > {row}.refunded_minor")


# Whole seconds, the fraction cut off as text first (SQLite would round it to milliseconds, and up).
SQLITE_EPOCH = "CAST(strftime('%s', substr({row}.received_at, 1, 19)) AS INTEGER)"
POSTGRES_EPOCH = "floor(extract(epoch FROM {row}.received_at))::bigint"


def _sqlite_triggers() -> list[str]:
    values = (f"NEW.id, NEW.contact_id, NEW.currency, {SQLITE_EPOCH.format(row='NEW')}, "
              "NEW.amount_minor - NEW.refunded_minor")
    insert = f"INSERT INTO counted_gifts (donation_id, contact_id, currency, received_epoch, net_minor) SELECT {values}"
    return [
        f"""CREATE TRIGGER tr_counted_gifts_insert AFTER INSERT ON donations
            WHEN {_counted('NEW', '0')}
            BEGIN {insert}; END""",
        f"""CREATE TRIGGER tr_counted_gifts_update AFTER UPDATE OF {', '.join(LEDGER_COLUMNS)} ON donations
            BEGIN
              DELETE FROM counted_gifts WHERE donation_id = OLD.id;
              {insert} WHERE {_counted('NEW', '0')};
            END""",
        """CREATE TRIGGER tr_counted_gifts_delete AFTER DELETE ON donations
            BEGIN DELETE FROM counted_gifts WHERE donation_id = OLD.id; END""",
    ]


def _postgres_triggers() -> list[str]:
    return [
        f"""CREATE FUNCTION vwfund_counted_gifts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP <> 'INSERT' THEN
                DELETE FROM counted_gifts WHERE donation_id = OLD.id;
              END IF;
              IF TG_OP <> 'DELETE' AND {_counted('NEW', 'false')} THEN
                INSERT INTO counted_gifts (donation_id, contact_id, currency, received_epoch, net_minor)
                VALUES (NEW.id, NEW.contact_id, NEW.currency, {POSTGRES_EPOCH.format(row='NEW')},
                        NEW.amount_minor - NEW.refunded_minor);
              END IF;
              RETURN NULL;
            END $$""",
        f"""CREATE TRIGGER tr_counted_gifts AFTER INSERT OR DELETE OR UPDATE OF {', '.join(LEDGER_COLUMNS)}
            ON donations FOR EACH ROW EXECUTE FUNCTION vwfund_counted_gifts_sync()""",
    ]


def create_counted_gifts(sqlite: bool) -> None:
    """The table as at this revision, its index, the gifts already stored, and the triggers."""
    op.create_table(
        "counted_gifts",
        sa.Column("donation_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_epoch", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("donation_id", name=op.f("pk_counted_gifts")),
    )
    op.create_index("ix_counted_gifts_contact", "counted_gifts",
                    ["contact_id", "currency", "received_epoch", "net_minor"])
    epoch = (SQLITE_EPOCH if sqlite else POSTGRES_EPOCH).format(row="d")
    op.execute(f"""INSERT INTO counted_gifts (donation_id, contact_id, currency, received_epoch, net_minor)
                   SELECT d.id, d.contact_id, d.currency, {epoch}, d.amount_minor - d.refunded_minor
                   FROM donations d WHERE {_counted('d', '0' if sqlite else 'false')}""")
    for statement in _sqlite_triggers() if sqlite else _postgres_triggers():
        op.execute(statement)


def drop_counted_gifts(sqlite: bool) -> None:
    """The triggers (and PostgreSQL's trigger function), then the table with its index."""
    if sqlite:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER tr_counted_gifts_{name}")
    else:
        op.execute("DROP TRIGGER tr_counted_gifts ON donations")
        op.execute("DROP FUNCTION vwfund_counted_gifts_sync()")
    op.drop_table("counted_gifts")


def upgrade() -> None:
    """Apply this revision: the table, its index, the triggers, and the gifts already stored."""
    create_counted_gifts(op.get_bind().dialect.name == "sqlite")
    op.drop_index(OLD_INDEX, table_name="donations")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index(OLD_INDEX, "donations", LEDGER_COLUMNS)
    drop_counted_gifts(op.get_bind().dialect.name == "sqlite")
