"""The store on SQLite and PostgreSQL: upserts, identity, transactions, migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from vwfund.models import Contact, Donation
from vwfund.store.contacts import open_conflicts, resolve_conflict
from vwfund.store.records import save_records
from vwfund.store.schema import contacts, donations


def gift(ext: str, amount: int = 1000, **kw) -> Donation:
    values = {"status": "succeeded", "received_at": datetime(2024, 6, 1, tzinfo=UTC), **kw}
    return Donation(source="stripe", external_id=ext, amount_minor=amount, currency="EUR", **values)


def test_reimported_donation_updates_never_duplicates(store):
    with store.begin() as conn:
        save_records(conn, [gift("ch_1"), gift("ch_2")])
    with store.begin() as conn:
        save_records(conn, [gift("ch_1", refunded_minor=400, amount=1000)])
    with store.read() as conn:
        rows = {r.external_id: r for r in conn.execute(select(donations))}
    assert len(rows) == 2 and rows["ch_1"].refunded_minor == 400
    assert rows["ch_1"].received_at == datetime(2024, 6, 1, tzinfo=UTC)


def test_contacts_link_by_id_then_email_and_gifts_follow(store):
    with store.begin() as conn:
        save_records(conn, [gift("ch_1", contact_source="stripe", contact_external_id="cus_1")])
        save_records(conn, [Contact(source="civicrm", external_id="7", email="An@Example.org", first_name="An")])
        save_records(conn, [Contact(source="stripe", external_id="cus_1", email="an@example.org")])
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar() == 1
        assert conn.execute(select(donations.c.contact_id)).scalar() is not None


def test_one_email_on_two_contacts_is_reported_not_guessed(store):
    with store.begin() as conn:
        save_records(
            conn,
            [
                Contact(source="civicrm", external_id="1", email="x@example.org"),
                Contact(source="civicrm", external_id="2", email="x@example.org"),
            ],
        )
        save_records(
            conn,
            [
                Contact(source="stripe", external_id="cus_9", email="x@example.org"),
                gift("ch_9", contact_source="stripe", contact_external_id="cus_9"),
            ],
        )
    with store.read() as conn:
        conflicts = open_conflicts(conn)
    assert [c["external_id"] for c in conflicts] == ["2", "cus_9"]
    stripe_conflict = conflicts[1]
    chosen = stripe_conflict["candidate_ids"][0]
    with store.begin() as conn:
        resolve_conflict(conn, stripe_conflict["id"], chosen)
    with store.read() as conn:
        assert conn.execute(select(donations.c.contact_id)).scalar() == chosen
        assert len(open_conflicts(conn)) == 1


def test_failed_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.begin() as conn:
        save_records(conn, [gift("ch_1")])
        raise RuntimeError("crash")
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(donations)).scalar() == 0


def test_an_opt_out_from_one_system_is_never_cleared_by_another(store):
    with store.begin() as conn:
        save_records(conn, [Contact(source="civicrm", external_id="5", email="o@example.org", is_opt_out=True,
                                    do_not_email=True)])
        save_records(conn, [Contact(source="mailchimp", external_id="h1", email="o@example.org")])
        save_records(conn, [Contact(source="civicrm", external_id="5", email="o@example.org", is_deleted=True)])
    with store.read() as conn:
        row = conn.execute(select(contacts)).one()
    assert row.is_opt_out and row.do_not_email and row.is_deleted


def test_an_older_state_of_a_gift_never_overwrites_a_newer_one(store):
    from datetime import timedelta

    read_early = datetime(2024, 6, 2, 10, 0, tzinfo=UTC)
    read_late = read_early + timedelta(seconds=3)
    refunded = gift("ch_1", amount=1000, refunded_minor=200, status="partially_refunded", observed_at=read_late)
    stale = gift("ch_1", amount=1000, observed_at=read_early)  # a list page read before the refund
    with store.begin() as conn:
        save_records(conn, [refunded])  # the refund's webhook lands first
        save_records(conn, [stale])  # the sync saves its older page afterwards
    with store.read() as conn:
        row = conn.execute(select(donations)).one()
    assert row.refunded_minor == 200 and row.status == "partially_refunded"
    with store.begin() as conn:
        save_records(conn, [gift("ch_1", amount=1000, refunded_minor=1000, status="refunded",
                                 observed_at=read_late + timedelta(seconds=1))])
    with store.read() as conn:
        assert conn.execute(select(donations.c.refunded_minor)).scalar() == 1000


def test_concurrent_writers_of_the_same_new_contact_end_with_one(store):
    import threading

    from vwfund.sync import apply_records

    records = [Contact(source="stripe", external_id="cus_new", email="new@example.org"),
               gift("ch_new", contact_source="stripe", contact_external_id="cus_new")]
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def deliver() -> None:
        start.wait()
        try:
            apply_records(store, records)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(donations)).scalar() == 1
        assert conn.execute(select(donations.c.contact_id)).scalar() is not None
