"""The store's counted_gifts table stays equal to the counting rule, whatever writes the donations."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError

from vwfund.models import Contact, Donation
from vwfund.store.amounts import is_counted_expr
from vwfund.store.donor_keys import donor_key
from vwfund.store.records import save_records
from vwfund.store.schema import contacts, counted_gifts, donations

START = datetime(2024, 12, 31, 22, 59, 59, 750_000, tzinfo=UTC)  # a quarter second before 2025 in Amsterdam


def expected(conn) -> set[tuple[int, int, str, int, int, int]]:
    """The counted, linked gifts computed from donations by the rule of vwfund.store.amounts, each with
    its donor key."""
    d = donations.c
    rows = conn.execute(select(d.id, d.contact_id, d.currency, d.received_at, d.amount_minor - d.refunded_minor)
                        .where(is_counted_expr(donations), d.contact_id.is_not(None)))
    return {(i, cid, cur, int(at.timestamp()), net, donor_key(cid, cur)) for i, cid, cur, at, net in rows}


def ledger(conn) -> set[tuple[int, int, str, int, int, int]]:
    g = counted_gifts.c
    return {tuple(r) for r in conn.execute(select(g.donation_id, g.contact_id, g.currency, g.received_epoch,
                                                  g.net_minor, g.donor_key))}


def gift(ext: str, **kw) -> Donation:
    values = {"amount_minor": 1000, "currency": "EUR", "status": "succeeded", "received_at": START,
              "contact_source": "stripe", "contact_external_id": "cus_1", **kw}
    return Donation(source="stripe", external_id=ext, **values)


def test_every_kind_of_change_to_a_gift_is_followed(store):
    with store.begin() as conn:
        save_records(conn, [Contact(source="stripe", external_id="cus_1", email="a@example.org"),
                            Contact(source="stripe", external_id="cus_2", email="b@example.org")])
        save_records(conn, [gift("ch_1"), gift("ch_2", status="pending"), gift("ch_3", is_test=True),
                            gift("ch_4", currency="GBP", amount_minor=500), gift("ch_5", contact_external_id=None,
                                                                                contact_source=None)])
    with store.read() as conn:
        rows = ledger(conn)
        assert rows == expected(conn) and len(rows) == 2
        assert {r[3] for r in rows} == {int(datetime(2024, 12, 31, 22, 59, 59, tzinfo=UTC).timestamp())}
    with store.begin() as conn:  # a refund, a settled payment, a lost dispute, a partial refund
        save_records(conn, [gift("ch_1", refunded_minor=1000, status="refunded"), gift("ch_2", status="succeeded"),
                            gift("ch_4", currency="GBP", amount_minor=500, status="disputed")])
    with store.read() as conn:
        assert ledger(conn) == expected(conn) == {(r[0], r[1], "EUR", r[3], 1000, r[1] * 32768 + 3241)
                                                  for r in expected(conn)}
    with store.begin() as conn:  # moved to another contact, unlinked, deleted
        d = donations.c
        two = conn.execute(select(contacts.c.id).where(contacts.c.email == "b@example.org")).scalar_one()
        conn.execute(update(donations).where(d.external_id == "ch_2").values(contact_id=two, refunded_minor=250,
                                                                           status="partially_refunded"))
        conn.execute(update(donations).where(d.external_id == "ch_4").values(status="succeeded"))
        conn.execute(update(donations).where(d.external_id == "ch_3").values(is_test=False, contact_id=None))
        conn.execute(delete(donations).where(d.external_id == "ch_1"))
    with store.read() as conn:
        rows = ledger(conn)
        assert rows == expected(conn)
        assert sorted((r[2], r[4]) for r in rows) == [("EUR", 750), ("GBP", 500)]


def test_a_contact_removed_takes_its_gifts_out_of_the_counted_ones(store):
    with store.begin() as conn:
        save_records(conn, [Contact(source="stripe", external_id="cus_1", email="a@example.org"), gift("ch_1")])
        conn.execute(delete(contacts))  # donations.contact_id is set to NULL by the foreign key
    with store.read() as conn:
        assert ledger(conn) == expected(conn) == set()


def test_random_bulk_writes_keep_the_counted_gifts_exact(store):
    rnd = random.Random(20261122)
    statuses = ["succeeded", "pending", "failed", "refunded", "partially_refunded", "disputed"]
    with store.begin() as conn:
        conn.execute(insert(contacts), [{"id": i, "email": f"c{i}@example.org"} for i in range(1, 6)])
        conn.execute(insert(donations), [{
            "source": "csv", "external_id": f"g{i}", "contact_id": rnd.choice([None, 1, 2, 3, 4, 5]),
            "amount_minor": rnd.randint(1, 5000), "currency": rnd.choice(["EUR", "GBP"]),
            "status": rnd.choice(statuses), "is_test": rnd.random() < 0.1,
            "received_at": START + timedelta(seconds=rnd.randint(-86400, 86400), microseconds=rnd.randint(0, 999_999)),
        } for i in range(300)])
    for _ in range(5):
        with store.begin() as conn:
            d = donations.c
            for _ in range(40):
                ext = f"g{rnd.randrange(300)}"
                change = rnd.choice([{"status": rnd.choice(statuses)}, {"contact_id": rnd.choice([None, 1, 2, 3])},
                                     {"refunded_minor": d.amount_minor - rnd.randint(0, 1)}, {"is_test": False},
                                     {"received_at": START + timedelta(hours=rnd.randint(-30, 30))},
                                     {"currency": rnd.choice(["EUR", "GBP"])}, {"campaign": "unrelated"}])
                conn.execute(update(donations).where(d.external_id == ext).values(**change))
            conn.execute(delete(donations).where(d.external_id == f"g{rnd.randrange(300)}"))
        with store.read() as conn:
            rows = ledger(conn)
            assert rows == expected(conn)
    assert len(rows) > 50


def test_a_counted_gift_in_no_currency_code_is_refused_and_changes_nothing(store):
    with store.begin() as conn:
        save_records(conn, [Contact(source="stripe", external_id="cus_1", email="a@example.org"), gift("ch_1")])
    d = donations.c
    for change in ({"currency": "eur"}, {"currency": "E1"}):
        with pytest.raises(DBAPIError, match="currency must be three capital letters"), store.begin() as conn:
            conn.execute(update(donations).where(d.external_id == "ch_1").values(**change))
    with pytest.raises(DBAPIError, match="currency must be three capital letters"), store.begin() as conn:
        conn.execute(insert(donations).values(source="csv", external_id="g1", contact_id=1, amount_minor=100,
                                              currency="eu", status="succeeded", received_at=START))
    with store.begin() as conn:  # a gift that does not count is not in the table, so its code is not needed
        conn.execute(insert(donations).values(source="csv", external_id="g2", contact_id=1, amount_minor=100,
                                              currency="eu", status="failed", received_at=START))
    with store.read() as conn:
        assert ledger(conn) == expected(conn)
        assert [r[2] for r in ledger(conn)] == ["EUR"]
