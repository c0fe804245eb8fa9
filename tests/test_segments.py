"""Segments on small hand-computed ledgers, on SQLite and PostgreSQL (the ``app`` fixture).

The reference date is 30 June 2025 in Europe/Amsterdam: "this year" is 2025 up to that day, "last year"
2024, and the RFM window the 365 days from 1 July 2024 to 30 June 2025. Every expected set below is
worked out by hand from the gifts in ``LEDGER``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select

from vwfund.campaigns.segments.compute import quintile_scores
from vwfund.campaigns.segments.runs import compute, run_segments
from vwfund.campaigns.segments.settings import load_settings
from vwfund.config import Config
from vwfund.models import Contact, Donation, RecurringPlan
from vwfund.store.records import save_records
from vwfund.store.schema import contacts, segment_members, segment_runs

AMS = ZoneInfo("Europe/Amsterdam")
AS_OF = date(2025, 6, 30)


def local(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=AMS)


def gift(who: str, at: datetime, euros: int, *, n: int = 0, currency: str = "EUR", status: str = "succeeded",
         refunded: int = 0, plan: str | None = None, is_test: bool = False) -> Donation:
    return Donation(source="offline", external_id=f"{who}-{at:%Y%m%d%H%M}-{n}", contact_source="offline",
                    contact_external_id=who, amount_minor=euros * 100, currency=currency, status=status,
                    refunded_minor=refunded * 100, received_at=at, recurring_plan=plan, is_test=is_test)


def monthly_payments(who: str, plan: str, first: date, last: date) -> list[Donation]:
    out, day = [], first
    while day <= last:
        out.append(gift(who, local(day.year, day.month, 15), 10, plan=plan))
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 15)
    return out


LEDGER = [
    gift("new", local(2025, 3, 1), 50),
    gift("up", local(2023, 6, 1), 10), gift("up", local(2024, 5, 1), 20), gift("up", local(2025, 5, 1), 30),
    gift("down", local(2024, 5, 1), 50), gift("down", local(2025, 2, 1), 20),
    gift("same", local(2024, 5, 1), 25), gift("same", local(2025, 5, 1), 25),
    gift("recaptured", local(2022, 5, 1), 10), gift("recaptured", local(2025, 1, 10), 10),
    gift("lybunt", local(2024, 3, 1), 40),
    # 31 December 23:30 in Amsterdam is still 2024; 1 January 00:30 is 2025 although it is 2024 in UTC
    gift("nye24", local(2024, 12, 31, 23, 30), 30),
    gift("nye25", local(2025, 1, 1, 0, 30), 30),
    # refunded in full after the year end: the 2024 gift counts as none
    gift("refund_after", local(2024, 11, 20), 100, status="refunded", refunded=100),
    gift("refund_after", local(2025, 2, 1), 10),
    # partly refunded: counts 40 in 2024
    gift("partial", local(2024, 6, 1), 100, status="partially_refunded", refunded=60),
    gift("partial", local(2025, 4, 1), 40),
    gift("dispute", local(2024, 9, 1), 80, status="disputed"),
    gift("tester", local(2025, 1, 5), 500, is_test=True),
    gift("failed", local(2025, 1, 5), 20, status="failed"),
    gift("sybunt", local(2023, 4, 1), 15),
    gift("major", local(2025, 6, 1), 1500),
    gift("future", local(2025, 7, 5), 60),
    gift("gone", local(2025, 1, 2), 20),
    gift("gbp", local(2024, 5, 1), 30, currency="GBP"), gift("gbp", local(2025, 5, 1), 50, currency="GBP"),
    *monthly_payments("monthly", "sub_active", date(2024, 1, 15), date(2025, 6, 15)),
    *monthly_payments("paused", "sub_paused", date(2024, 1, 15), date(2025, 3, 15)),
]
PLANS = [
    RecurringPlan(source="offline", external_id="sub_active", contact_source="offline", contact_external_id="monthly",
                  amount_minor=1000, currency="EUR", status="active", started_at=local(2024, 1, 1)),
    RecurringPlan(source="offline", external_id="sub_paused", contact_source="offline", contact_external_id="paused",
                  amount_minor=1000, currency="EUR", status="paused", started_at=local(2024, 1, 1)),
]
PEOPLE = sorted({g.contact_external_id for g in LEDGER if g.contact_external_id})


def seed(store) -> dict[str, int]:
    """Save the ledger; return contact ids by name."""
    people = [Contact(source="offline", external_id=p, email=f"{p}@example.org", first_name=p,
                      is_opt_out=p == "paused", is_deleted=p == "gone") for p in PEOPLE]
    with store.begin() as conn:
        save_records(conn, people)
        save_records(conn, PLANS)
        save_records(conn, LEDGER)
    with store.read() as conn:
        return {r.email.split("@")[0]: r.id for r in conn.execute(select(contacts.c.id, contacts.c.email))}


def names(ids: dict[str, int], members: list[int]) -> set[str]:
    by_id = {v: k for k, v in ids.items()}
    return {by_id[m] for m in members}


SETTINGS = {"segments": {"custom": {
    "big_last_year": "total_last_year >= 40 and not opted_out",
    "old_lybunt": "segment.lybunt and recency_days > 200",
    "loyal": "(gifts >= 3 or rfm.frequency = 5) and first_gift_year <= 2024",
}}}


def test_standard_segments_match_the_hand_computed_ledger(app):
    ids = seed(app.store)
    report = compute(app.store, load_settings(Config(SETTINGS, env={})), AS_OF)
    got = {name: names(ids, members) for name, members in report.computed.members.items()}
    assert got["new"] == {"new", "nye25", "refund_after", "major"}
    assert got["first_time"] == {"new", "nye24", "nye25", "refund_after", "major"}
    assert got["retained"] == {"up", "down", "same", "partial", "monthly", "paused", "gbp"}
    assert got["recaptured"] == {"recaptured"}
    # monthly and paused gave 12 x 10 last year and 6 (3) x 10 so far this year
    assert got["upgraded"] == {"up", "gbp"}
    assert got["downgraded"] == {"down", "monthly", "paused"}
    assert got["same"] == {"same", "partial"}
    assert got["lybunt"] == {"lybunt", "nye24"}
    assert got["sybunt"] == {"sybunt"}
    assert got["lapsed"] == {"lybunt", "sybunt"}
    assert got["monthly"] == {"monthly"}
    assert got["major"] == {"major"}
    # never in any segment: a lost dispute, a test gift, a failed gift, a gift after the reference date,
    # and a deleted contact
    everyone = set().union(*got.values())
    assert everyone.isdisjoint({"dispute", "tester", "failed", "future", "gone"})
    assert got["big_last_year"] == {"down", "partial", "lybunt", "monthly"}  # paused opted out
    assert got["old_lybunt"] == {"lybunt"}  # nye24's gift is 181 days old
    # gifts >= 3: up, monthly, paused; frequency 5 needs the most gifts in the window (monthly, paused)
    assert got["loyal"] == {"up", "monthly", "paused"}


def test_retention_per_year_overall_new_and_repeat(app):
    seed(app.store)
    report = compute(app.store, load_settings(Config({}, env={})), AS_OF)
    by_year = {r["year"]: r for r in report.computed.retention}
    # 2024 donors: up down same partial lybunt nye24 monthly paused gbp (9); 7 gave again in 2025.
    # Only "up" gave before 2024 (repeat); the other 8 were new in 2024, 6 of them came back.
    y25 = by_year[2025]
    assert y25["partial"] is True
    assert (y25["all"]["donors_year_before"], y25["all"]["retained"], y25["all"]["rate_percent"]) == (9, 7, "77.8")
    assert (y25["new"]["donors_year_before"], y25["new"]["retained"], y25["new"]["rate_percent"]) == (8, 6, "75.0")
    assert (y25["repeat"]["donors_year_before"], y25["repeat"]["rate_percent"]) == (1, "100.0")
    # 2023 donors: up and sybunt, both new in 2023; only up gave in 2024
    y24 = by_year[2024]
    assert (y24["all"]["donors_year_before"], y24["all"]["retained"], y24["all"]["rate_percent"]) == (2, 1, "50.0")
    assert y24["repeat"]["rate_percent"] is None
    # 22 people; dispute, tester, failed and future have no counted gift by then; "gone" does
    assert report.computed.donors == 16


def test_reference_date_is_explicit_not_the_newest_gift(app):
    ids = seed(app.store)
    settings = load_settings(Config({}, env={}))
    # on 31 Dec 2024 the year is 2024: nye24 (23:30 local) is in it, nye25 (00:30 on 1 Jan) is not yet
    report = compute(app.store, settings, date(2024, 12, 31))
    got = {name: names(ids, m) for name, m in report.computed.members.items()}
    assert "nye24" in got["new"] and "nye25" not in set().union(*got.values())
    assert "refund_after" not in set().union(*got.values())


def test_monthly_needs_a_recent_payment_on_a_running_plan(app):
    ids = seed(app.store)
    settings = load_settings(Config({}, env={}))
    # the 45 days end with the reference day: on 28 April the last payment (15 March) is 44 days old and
    # inside; on 29 April it is 45 days old and outside, so the paused plan no longer counts
    got = names(ids, compute(app.store, settings, date(2025, 4, 28)).computed.members["monthly"])
    assert got == {"monthly", "paused"}
    got = names(ids, compute(app.store, settings, date(2025, 4, 29)).computed.members["monthly"])
    assert got == {"monthly"}


def test_quintile_ties_share_a_score_and_follow_the_rule():
    # 1 + floor(5 * (number strictly worse) / n)
    assert quintile_scores([10, 20, 20, 30, 40]) == [1, 2, 2, 4, 5]
    assert quintile_scores([7] * 6) == [1] * 6
    # ten values: the four 2s have one worse value -> 1 + 5*1//10 = 1; 3 has 5 worse -> 3
    assert quintile_scores([1, 2, 2, 2, 2, 3, 4, 5, 6, 7]) == [1, 1, 1, 1, 1, 3, 4, 4, 5, 5]
    # recency: fewer days is better
    assert quintile_scores([0, 400, 30, 30, 90], higher_is_better=False) == [5, 1, 3, 3, 2]
    # the same values in another order get the same scores
    assert quintile_scores([30, 0, 90, 400, 30], higher_is_better=False) == [3, 5, 2, 1, 3]


def test_a_run_is_stored_per_segment_with_its_members(app):
    ids = seed(app.store)
    settings = load_settings(Config({}, env={}))
    run_segments(app.store, settings, AS_OF)
    run_segments(app.store, settings, date(2024, 12, 31))
    with app.store.read() as conn:
        runs = conn.execute(select(segment_runs).where(segment_runs.c.name == "lybunt")
                            .order_by(segment_runs.c.id)).all()
        assert [r.definition["as_of"] for r in runs] == ["2025-06-30", "2024-12-31"]
        assert runs[0].as_of == datetime(2025, 6, 30, 22, 0, tzinfo=UTC)  # end of the local day
        members = conn.execute(select(segment_members.c.contact_id)
                               .where(segment_members.c.run_id == runs[0].id)).scalars().all()
    assert names(ids, list(members)) == {"lybunt", "nye24"} and runs[0].member_count == 2


def test_amounts_per_currency_are_never_added(app):
    ids = seed(app.store)
    settings = load_settings(Config({"segments": {"major_minimum": {"GBP": "40", "EUR": "1000"}}}, env={}))
    report = compute(app.store, settings, AS_OF)
    assert names(ids, report.computed.members["major"]) == {"gbp", "major"}
    # a EUR filter does not see GBP money
    settings = load_settings(Config({"segments": {"custom": {"x": "total_this_year >= 50"}}}, env={}))
    got = names(ids, compute(app.store, settings, AS_OF).computed.members["x"])
    assert "gbp" not in got and got == {"new", "monthly", "major"}


def test_window_for_rfm_starts_365_local_days_before(app):
    ids = seed(app.store)
    settings = load_settings(Config({"segments": {"window_days": "10"}}, env={}))
    report = compute(app.store, settings, AS_OF)
    # the last 10 days are 21-30 June 2025: no gift at all (the monthly payment was on 15 June)
    assert names(ids, report.computed.members["first_time"]) == set()
    assert "major" in names(ids, report.computed.members["lapsed"])  # 1 June is outside 10 days
    assert timedelta(days=10) == report.period.cutoff - report.period.window_start


def test_local_days_of_stored_instants_even_in_half_hour_zones():
    from vwfund.campaigns.segments.calendar import LocalDays
    from vwfund.campaigns.segments.period import epoch

    ams = LocalDays("Europe/Amsterdam")
    assert ams(epoch(datetime(2024, 12, 31, 22, 30, tzinfo=UTC))) == date(2024, 12, 31).toordinal()  # 23:30 local
    assert ams(epoch(datetime(2024, 12, 31, 23, 30, tzinfo=UTC))) == date(2025, 1, 1).toordinal()  # 00:30 local
    assert ams(epoch(datetime(2024, 12, 31, 22, 59, 59, 999_999, tzinfo=UTC))) == date(2024, 12, 31).toordinal()
    assert ams.many(np.array([epoch(datetime(2025, 3, 30, 0, 30, tzinfo=UTC)),  # clocks go forward that day
                              epoch(datetime(2025, 3, 30, 22, 30, tzinfo=UTC))])).tolist() == [
        date(2025, 3, 30).toordinal(), date(2025, 3, 31).toordinal()]
    ktm = LocalDays("Asia/Kathmandu")  # UTC+5:45: local midnight is at 18:15 UTC
    assert ktm(epoch(datetime(2025, 3, 1, 18, 10, tzinfo=UTC))) == date(2025, 3, 1).toordinal()
    assert ktm(epoch(datetime(2025, 3, 1, 18, 20, tzinfo=UTC))) == date(2025, 3, 2).toordinal()
    assert ktm(epoch(datetime(2025, 3, 1, 18, 14, 59, tzinfo=UTC))) == date(2025, 3, 1).toordinal()


def test_the_ledger_query_walks_the_covering_index_without_sorting(sqlite_store):
    from vwfund.campaigns.segments.ledger import _aggregate_query
    from vwfund.campaigns.segments.period import make_period

    settings = load_settings(Config({}, env={}))
    query = _aggregate_query(make_period(AS_OF, settings)).compile(sqlite_store.engine,
                                                                   compile_kwargs={"literal_binds": True})
    with sqlite_store.read() as conn:
        plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
    assert "COVERING INDEX ix_counted_gifts_donor" in plan and "TEMP B-TREE" not in plan, plan


def test_a_giver_too_large_for_the_packed_year_counts_is_counted_exactly(app, monkeypatch):
    from vwfund.campaigns.segments import ledger

    ids = seed(app.store)
    settings = load_settings(Config({}, env={}))
    packed = compute(app.store, settings, AS_OF)
    # pretend a packed field holds at most 1 gift: every donor with 2 or more gifts takes the exact path
    monkeypatch.setattr(ledger, "FIELD_MASK", 1)
    exact = compute(app.store, settings, AS_OF)
    assert exact.computed.members == packed.computed.members
    assert exact.computed.retention == packed.computed.retention
    assert names(ids, exact.computed.members["downgraded"]) == {"down", "monthly", "paused"}


def test_a_run_read_in_parts_by_helper_processes_equals_one_read(app, monkeypatch):
    from vwfund.campaigns.segments import reading
    from vwfund.store.parts import can_fork

    ids = seed(app.store)
    one = compute(app.store, load_settings(Config({"segments": {**SETTINGS["segments"], "workers": 1}}, env={})),
                  AS_OF)
    monkeypatch.setattr(reading, "PARALLEL_MIN_GIFTS", 0)  # split even this small ledger
    assert can_fork(), "a thread left running by another test keeps helper processes from being forked"
    split = compute(app.store, load_settings(Config({"segments": {**SETTINGS["segments"], "workers": 3}}, env={})),
                    AS_OF)
    assert (one.parts, split.parts) == (1, 3) and (one.processes, split.processes) == (1, 4)
    assert split.to_json()["read_in_parts"] == 3
    assert split.computed.members == one.computed.members
    assert split.computed.retention == one.computed.retention
    assert split.computed.rfm_distribution == one.computed.rfm_distribution
    assert names(ids, split.computed.members["upgraded"]) == {"up", "gbp"}


def test_a_donor_in_two_currencies_is_one_donor_with_each_currency_kept_apart(app, monkeypatch):
    from vwfund.campaigns.segments import reading

    gifts = [gift("two", local(2024, 5, 1), 20), gift("two", local(2025, 5, 1), 30),
             gift("two", local(2024, 6, 1), 50, currency="GBP"), gift("two", local(2025, 6, 1), 10, currency="GBP"),
             gift("solo", local(2025, 2, 1), 10)]
    with app.store.begin() as conn:
        save_records(conn, [Contact(source="offline", external_id=p, email=f"{p}@example.org") for p in ("two", "solo")])
        save_records(conn, gifts)
    config = {"segments": {"custom": {"four": "gifts >= 4 and gifts_this_year = 2 and total_this_year = 30"}}}
    monkeypatch.setattr(reading, "PARALLEL_MIN_GIFTS", 0)
    for workers in (1, 2):
        report = compute(app.store, load_settings(Config({"segments": {**config["segments"], "workers": workers}},
                                                         env={})), AS_OF)
        got = {name: len(members) for name, members in report.computed.members.items() if members}
        assert report.computed.donors == 2
        # up in EUR and down in GBP: retained, but neither upgraded, downgraded nor the same
        assert got == {"retained": 1, "new": 1, "first_time": 1, "four": 1}, (workers, got)
