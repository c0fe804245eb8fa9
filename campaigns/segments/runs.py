"""Running the segments and keeping each run (segment_runs, segment_members), and reading runs back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, insert, select, text

from vwfund.campaigns.segments.period import Period, make_period
from vwfund.campaigns.segments.settings import STANDARD_RULES, SegmentSettings
from vwfund.errors import InputError
from vwfund.money import Money
from vwfund.store.amounts import counted_expr, is_counted_expr
from vwfund.store.database import Store
from vwfund.store.schema import contacts, donations, segment_members, segment_runs
from vwfund.timeutil import local_date, utcnow

if TYPE_CHECKING:
    from vwfund.campaigns.segments.compute import Computed

INSERT_CHUNK = 50_000


@dataclass
class RunReport:
    """One run of every segment: its period, the members, and how long computing and storing took."""

    period: Period
    computed: Computed
    definitions: dict[str, dict[str, Any]]
    compute_seconds: float = 0.0
    store_seconds: float = 0.0
    run_ids: dict[str, int] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    parts: int = 1
    processes: int = 1

    def to_json(self) -> dict[str, Any]:
        """Counts per segment, retention and RFM distribution (no member lists)."""
        return {
            "as_of": self.period.as_of.isoformat(),
            "donors": self.computed.donors,
            "segments": {name: len(ids) for name, ids in self.computed.members.items()},
            "retention": self.computed.retention,
            "rfm_distribution": self.computed.rfm_distribution,
            "compute_seconds": round(self.compute_seconds, 3),
            "store_seconds": round(self.store_seconds, 3),
            "read_in_parts": self.parts,
            "processes": self.processes,
        }


def definitions(settings: SegmentSettings, period: Period) -> dict[str, dict[str, Any]]:
    """What each segment means in this run, as stored with it."""
    common = {"as_of": period.as_of.isoformat(), "settings": settings.describe()}
    out = {name: {"kind": "standard", "rule": rule, **common} for name, rule in STANDARD_RULES.items()}
    for seg in settings.custom:
        out[seg.name] = {"kind": "custom", "expression": seg.expression, **common}
    return out


def compute(store: Store, settings: SegmentSettings, as_of: date, only: Sequence[str] = ()) -> RunReport:
    """Compute every segment (or only the named ones) at ``as_of`` without storing anything."""
    period = make_period(as_of, settings)
    defs = definitions(settings, period)
    unknown = [n for n in only if n not in defs]
    if unknown:
        raise InputError(f"unknown segment {unknown[0]!r} (known: {', '.join(defs)})")
    # numpy and the readers load here, when a run is computed, not when the command line starts
    from vwfund.campaigns.segments.compute import compute_segments
    from vwfund.campaigns.segments.reading import read_inputs

    started = time.perf_counter()
    inputs = read_inputs(store, period, settings.timezone, settings.workers)
    computed_at = time.perf_counter()
    computed = compute_segments(inputs.table, inputs.monthly, inputs.flags, settings)
    if only:
        computed.members = {n: computed.members[n] for n in only}
        defs = {n: defs[n] for n in only}
    done = time.perf_counter()
    timing = {**inputs.timing, "segments": done - computed_at}
    return RunReport(period, computed, defs, compute_seconds=done - started, timing=timing, parts=inputs.parts,
                     processes=inputs.processes)


#: Members go in as one bound array per statement (a JSON array on SQLite, an integer[] on PostgreSQL),
#: unpacked by the database: several times faster than a row of parameters per member.
_MEMBERS_SQLITE = text("INSERT INTO segment_members (run_id, contact_id) SELECT :run_id, value FROM json_each(:ids)")
_MEMBERS_POSTGRES = text("INSERT INTO segment_members (run_id, contact_id) SELECT :run_id, unnest(CAST(:ids AS integer[]))")


def insert_members(conn: Connection, run_id: int, ids: Sequence[int]) -> None:
    """Add the members of one run (contact ids, each once)."""
    sqlite = conn.dialect.name == "sqlite"
    for start in range(0, len(ids), INSERT_CHUNK):
        chunk = [int(cid) for cid in ids[start : start + INSERT_CHUNK]]
        if sqlite:
            conn.execute(_MEMBERS_SQLITE, {"run_id": run_id, "ids": json.dumps(chunk)})
        else:
            conn.execute(_MEMBERS_POSTGRES, {"run_id": run_id, "ids": chunk})


def store_report(store: Store, report: RunReport) -> dict[str, int]:
    """Keep one run per segment with its members, all in one transaction; returns run ids by segment."""
    started = time.perf_counter()
    ran_at = utcnow()
    with store.begin() as conn:
        for name, ids in report.computed.members.items():
            run_id = int(conn.execute(insert(segment_runs).values(
                name=name, as_of=report.period.cutoff, ran_at=ran_at, definition=report.definitions[name],
                member_count=len(ids))).inserted_primary_key[0])  # type: ignore[index]
            insert_members(conn, run_id, ids)
            report.run_ids[name] = run_id
    report.store_seconds = time.perf_counter() - started
    return report.run_ids


def run_segments(store: Store, settings: SegmentSettings, as_of: date, only: Sequence[str] = ()) -> RunReport:
    """Compute and store every segment (or the named ones) at ``as_of``."""
    with store.lock("segments:run"):
        report = compute(store, settings, as_of, only)
        store_report(store, report)
    return report


def latest_run(conn: Connection, name: str) -> Any | None:
    """The newest run of a segment (highest id), or None."""
    return conn.execute(
        select(segment_runs).where(segment_runs.c.name == name).order_by(segment_runs.c.id.desc()).limit(1)
    ).first()


def require_latest_run(conn: Connection, name: str) -> Any:
    """The newest run of a segment, or an InputError saying to run the segments first."""
    run = latest_run(conn, name)
    if run is None:
        raise InputError(f"segment {name!r} has never been run: run `vwfund segments run` first")
    return run


def run_members(conn: Connection, run_id: int) -> list[int]:
    """Contact ids of one run, sorted."""
    return list(conn.execute(
        select(segment_members.c.contact_id).where(segment_members.c.run_id == run_id)
        .order_by(segment_members.c.contact_id)).scalars())


def list_segments(store: Store, settings: SegmentSettings) -> list[dict[str, Any]]:
    """Every configured segment with its latest run (date and size), if any."""
    names = list(STANDARD_RULES) + [s.name for s in settings.custom]
    with store.read() as conn:
        newest = select(segment_runs.c.name, func.max(segment_runs.c.id).label("id")).group_by(segment_runs.c.name)
        runs = {r.name: r for r in conn.execute(
            select(segment_runs).where(segment_runs.c.id.in_(select(newest.subquery().c.id))))}
    rows = []
    for name in names + sorted(set(runs) - set(names)):
        run = runs.get(name)
        rule = STANDARD_RULES.get(name) or next((s.expression for s in settings.custom if s.name == name), None)
        rows.append({"name": name, "definition": rule or "(no longer configured)",
                     "as_of": run.definition.get("as_of") if run else None,
                     "members": run.member_count if run else None})
    return rows


def _totals(conn: Connection, run: Any, settings: SegmentSettings) -> dict[str, Money]:
    """Money the members gave in the run's RFM window, per currency."""
    as_of = date.fromisoformat(run.definition["as_of"])
    period = make_period(as_of, settings)
    d = donations.c
    stmt = (
        select(d.currency, func.sum(counted_expr(donations)))
        .select_from(donations.join(segment_members, and_(segment_members.c.contact_id == d.contact_id,
                                                          segment_members.c.run_id == run.id)))
        .where(d.received_at >= period.window_start, d.received_at < period.cutoff, is_counted_expr(donations))
        .group_by(d.currency)
    )
    return {cur: Money(int(total), cur) for cur, total in conn.execute(stmt)}


def show_segment(store: Store, settings: SegmentSettings, name: str, sample: int = 10) -> dict[str, Any]:
    """A segment's latest run: size, money given by its members in the window, a sample, and its history."""
    with store.read() as conn:
        run = require_latest_run(conn, name)
        history = [{"as_of": r.definition.get("as_of"), "ran_at": r.ran_at, "members": r.member_count}
                   for r in conn.execute(select(segment_runs).where(segment_runs.c.name == name)
                                         .order_by(segment_runs.c.id))]
        sample_rows = conn.execute(
            select(contacts.c.id, contacts.c.display_name, contacts.c.first_name, contacts.c.last_name)
            .join(segment_members, segment_members.c.contact_id == contacts.c.id)
            .where(segment_members.c.run_id == run.id).order_by(contacts.c.id).limit(max(0, sample))).all()
        totals = _totals(conn, run, settings)
    return {
        "name": name, "definition": run.definition, "as_of": run.definition.get("as_of"), "ran_at": run.ran_at,
        "members": run.member_count, "window_totals": totals, "history": history,
        "sample": [{"contact_id": r.id, "name": r.display_name or " ".join(p for p in (r.first_name, r.last_name)
                                                                            if p) or None} for r in sample_rows],
    }


EXPORT_COLUMNS = ("contact_id", "email", "first_name", "last_name", "language", "do_not_email", "is_opt_out")


def export_rows(store: Store, name: str) -> Iterator[tuple[Any, ...]]:
    """The members of a segment's latest run with their contact details, in contact id order (streamed)."""
    with store.read() as conn:
        run = require_latest_run(conn, name)
        c = contacts.c
        stmt = (select(c.id, c.email, c.first_name, c.last_name, c.language, c.do_not_email, c.is_opt_out)
                .join(segment_members, segment_members.c.contact_id == c.id)
                .where(segment_members.c.run_id == run.id).order_by(c.id))
        yield from (tuple(r) for r in conn.execute(stmt.execution_options(yield_per=5000)))


def default_as_of(tz: str, now: datetime | None = None) -> date:
    """Today in the organisation's calendar."""
    return local_date(now or utcnow(), tz)
