"""The segments' demo part, and a cross-check of the SQL aggregation against a row-by-row count.

The oracle below reads every gift one by one and applies the core rule (``counted_minor``) and the local
calendar (``local_year``); the SQL path must find exactly the same donors per segment.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from conftest import make_app
from sqlalchemy import select

from vwfund.campaigns.segments.job import SegmentsJob
from vwfund.campaigns.segments.runs import compute
from vwfund.campaigns.segments.settings import load_settings
from vwfund.config import Config
from vwfund.demo.generate import build_world, generate
from vwfund.plugins import load_plugins
from vwfund.store.amounts import counted_minor
from vwfund.store.schema import contacts, donations
from vwfund.timeutil import local_date, local_year

TZ = "Europe/Amsterdam"


def read_years(store, cutoff):
    """Donor years and money per (contact, currency, year), counted row by row; and the contacts left out."""
    years: dict[int, set[int]] = defaultdict(set)
    money: dict[tuple[int, str, int], int] = defaultdict(int)
    with store.read() as conn:
        gone = {r.id for r in conn.execute(select(contacts.c.id).where(
            contacts.c.is_deleted | contacts.c.is_deceased | contacts.c.restricted
            | contacts.c.anonymised_at.is_not(None)))}
        for d in conn.execute(select(donations)):
            value = counted_minor(d.status, d.amount_minor, d.refunded_minor, d.is_test)
            if d.contact_id is None or value <= 0 or d.received_at >= cutoff:
                continue
            y = local_year(d.received_at, TZ)
            years[d.contact_id].add(y)
            money[(d.contact_id, d.currency, y)] += value
    return years, money, gone


def oracle(years, money, gone, year):
    """The FEP segments by their definitions, from the row-by-row years."""
    expected = {
        "retained": {c for c, ys in years.items() if year in ys and year - 1 in ys},
        "lybunt": {c for c, ys in years.items() if year - 1 in ys and year not in ys},
        "new": {c for c, ys in years.items() if min(ys) == year},
        "recaptured": {c for c, ys in years.items() if year in ys and year - 1 not in ys and min(ys) < year - 1},
        "sybunt": {c for c, ys in years.items() if year not in ys and year - 1 not in ys},
    }
    expected["upgraded"] = {c for c in expected["retained"]
                            if money[(c, "EUR", year)] > money[(c, "EUR", year - 1)]}
    return {name: ids - gone for name, ids in expected.items()}


def test_sql_aggregation_matches_a_row_by_row_count_on_the_demo_world(sqlite_store):
    world = build_world(2024, 0.01, TZ)
    generate(sqlite_store, world)
    as_of = local_date(world.as_of, TZ)
    report = compute(sqlite_store, load_settings(Config({}, env={})), as_of)
    expected = oracle(*read_years(sqlite_store, report.period.cutoff), as_of.year)
    for name, ids in expected.items():
        assert set(report.computed.members[name]) == ids, name
    assert expected["retained"] and expected["lybunt"] and expected["new"] and expected["upgraded"]


def test_demo_section_reports_counts_and_retention(sqlite_store, tmp_path):
    world = build_world(2024, 0.01, TZ)
    generate(sqlite_store, world)
    app = make_app(sqlite_store, load_plugins(only_distribution="vwfund"))
    section = SegmentsJob().demo(app, world, tmp_path)
    app.close()
    as_of = local_date(world.as_of, TZ)
    assert section.data["as_of"] == as_of.isoformat()
    cutoff = compute(sqlite_store, load_settings(Config({}, env={})), as_of).period.cutoff
    years, money, gone = read_years(sqlite_store, cutoff)
    assert section.data["segments"]["lybunt"] == len(oracle(years, money, gone, as_of.year)["lybunt"])
    # retention of the reference year: last year's donors (left-out contacts too) who gave again
    before = {c for c, ys in years.items() if as_of.year - 1 in ys}
    again = {c for c in before if as_of.year in years[c]}
    row = next(r for r in section.data["retention"] if r["year"] == as_of.year)
    assert (row["all"]["donors_year_before"], row["all"]["retained"]) == (len(before), len(again))
    assert any(line.startswith(f"retention {as_of.year} (to date)") for line in section.lines)


def test_demo_retention_looks_like_a_charitys(sqlite_store, tmp_path):
    """The sector's shape (Fundraising Effectiveness Project): about 40-45% of last year's donors give again,
    a fifth to a quarter of the new ones, well over half of the repeat donors."""
    world = build_world(2024, 0.01, TZ)
    generate(sqlite_store, world)
    app = make_app(sqlite_store, load_plugins(only_distribution="vwfund"))
    section = SegmentsJob().demo(app, world, tmp_path)
    app.close()
    last_full_year = local_date(world.as_of, TZ).year - 1
    row = next(r for r in section.data["retention"] if r["year"] == last_full_year)
    assert not row["partial"]
    rate = {kind: Decimal(row[kind]["rate_percent"]) for kind in ("all", "new", "repeat")}
    assert 35 <= rate["all"] <= 55, rate
    assert 15 <= rate["new"] <= 35 and rate["repeat"] >= 55, rate
    assert row["all"]["donors_year_before"] >= 800  # the year's size at this scale: 87,100 x 0.01
