"""Benchmark of ``vwfund segments run`` on generated SQLite stores, against a floor and two baselines.

    python benchmarks/bench_segments.py            # 100,000 contacts / 1,000,000 gifts
    python benchmarks/bench_segments.py --large    # 1,000,000 contacts / 10,000,000 gifts

Prints, in one run: the time of computing the segments and of storing their memberships (apart), the peak
memory of each phase, the floor (reading every gift row once with the plain sqlite3 driver, nothing else),
a plain pandas groupby computing the same RFM, and the PyPI package ``rfm`` (it needs pandas<2, so it runs
in its own virtualenv, ``--rfm-python``; it parses amounts as floats and measures recency from the newest
gift, so its scores differ), with the ratios. Every phase runs in its own process, so its peak memory
(ru_maxrss) is its own. Stores are generated once in SQL and kept in ``--dir`` for the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

AS_OF = "2026-06-30"
CUTOFF_UTC = "2026-06-30 22:00:00.000000"  # end of 30 June 2026 in Europe/Amsterdam
START_EPOCH = 1546300800  # 2019-01-01 UTC
END_EPOCH = 1782856800  # 2026-06-30 22:00 UTC
COUNTED_SQL = ("status IN ('succeeded', 'partially_refunded', 'refunded') AND is_test = 0 "
               "AND amount_minor > refunded_minor AND contact_id IS NOT NULL")


def peak_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM: unlike ru_maxrss, not inherited over exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(db: Path, contacts: int, gifts: int) -> dict[str, Any]:
    """Create a migrated store and fill it in SQL: contacts, monthly plans, gifts over 2019-2026."""
    from vwfund.store.database import open_store

    started = time.perf_counter()
    open_store(f"sqlite:///{db}").dispose()
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-300000")
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'donations' "
                          "AND sql IS NOT NULL").fetchall()
    for name, _sql in indexes:  # filled faster without them; rebuilt below with the same definitions
        con.execute(f'DROP INDEX "{name}"')
    con.execute("BEGIN")
    con.execute(f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {contacts})
        INSERT INTO contacts (id, email, do_not_email, is_opt_out, do_not_mail, is_deceased, is_deleted, restricted,
                              created_at, updated_at)
        SELECT i, 'c' || i || '@example.org', 0, abs(random()) % 50 = 0, 0, 0, abs(random()) % 1000 = 0, 0,
               '2019-01-01 00:00:00.000000', '2019-01-01 00:00:00.000000' FROM n""")
    con.execute("""
        INSERT INTO recurring_plans (source, external_id, contact_id, amount_minor, currency, interval, status,
                                     started_at, ended_at, updated_at)
        SELECT 'stripe', 'sub_' || id, id, 1000, 'EUR', 'month', CASE WHEN id % 70 = 0 THEN 'cancelled' ELSE 'active'
               END, '2019-01-01 00:00:00.000000', CASE WHEN id % 70 = 0 THEN '2025-01-01 00:00:00.000000' END,
               '2019-01-01 00:00:00.000000'
        FROM contacts WHERE id % 10 = 0""")
    con.execute(f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {gifts}),
        g AS (SELECT i, 1 + abs(random()) % {contacts} AS cid, (1 + abs(random()) % 40) * 250 AS amount,
                     abs(random()) % 1000 AS roll, abs(random()) % 50 AS cur,
                     {START_EPOCH} + abs(random()) % {END_EPOCH + 86400 * 60 - START_EPOCH} AS at FROM n)
        INSERT INTO donations (source, external_id, contact_id, amount_minor, currency, fee_minor, refunded_minor,
                               status, received_at, recurring_plan, anonymous, matched, is_test, created_at,
                               updated_at)
        SELECT 'stripe', 'ch_' || i, cid, amount, CASE WHEN cur = 0 THEN 'GBP' ELSE 'EUR' END, 35,
               CASE WHEN roll < 5 THEN amount WHEN roll < 10 THEN amount / 2 ELSE 0 END,
               CASE WHEN roll < 5 THEN 'refunded' WHEN roll < 10 THEN 'partially_refunded' WHEN roll < 15 THEN 'failed'
                    WHEN roll < 17 THEN 'disputed' ELSE 'succeeded' END,
               datetime(at, 'unixepoch') || '.000000', CASE WHEN cid % 10 = 0 THEN 'sub_' || cid END, 0, 0,
               roll = 999, '2019-01-01 00:00:00.000000', '2019-01-01 00:00:00.000000'
        FROM g""")
    con.execute("COMMIT")
    for _name, sql in indexes:
        con.execute(sql)
    con.execute("ANALYZE")
    con.close()
    return {"seconds": time.perf_counter() - started}


def floor(db: Path) -> dict[str, Any]:
    """Read every gift row once into Python with the plain driver, nothing else."""
    started, cpu = time.perf_counter(), time.process_time()
    con = sqlite3.connect(db)
    cur = con.execute("SELECT contact_id, currency, amount_minor, refunded_minor, status, is_test, received_at "
                      "FROM donations")
    rows = 0
    while batch := cur.fetchmany(20_000):
        rows += len(batch)
    con.close()
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "rows": rows,
            "peak_mb": peak_mb()}


def segments(db: Path) -> dict[str, Any]:
    """`vwfund segments run --as-of AS_OF`: compute, then store, timed apart (helper processes included)."""
    from datetime import date

    from vwfund.campaigns.segments.runs import compute, store_report
    from vwfund.campaigns.segments.settings import load_settings
    from vwfund.config import Config
    from vwfund.store.database import open_store

    store = open_store(f"sqlite:///{db}")
    settings = load_settings(Config({"segments": {"custom": {
        "loyal": "rfm.recency >= 4 and total_last_year >= 50 and not opted_out"}}}, env={}))
    mine, helpers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    report = compute(store, settings, date.fromisoformat(AS_OF))
    mine_after, helpers_after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    compute_cpu = sum(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
                      for before, after in ((mine, mine_after), (helpers, helpers_after)))
    compute_peak = peak_mb()
    helper_peak = helpers_after.ru_maxrss / 1024  # the largest helper's peak (kB on Linux)
    store_report(store, report)
    store.dispose()
    return {"compute_seconds": report.compute_seconds, "compute_cpu": compute_cpu, "store_seconds": report.store_seconds,
            "donors": report.computed.donors, "members": sum(len(m) for m in report.computed.members.values()),
            "segments": {n: len(m) for n, m in report.computed.members.items()}, "parts": report.parts,
            "workers": settings.workers, "compute_peak_mb": compute_peak, "helper_peak_mb": helper_peak,
            "peak_mb": peak_mb(), "timing": report.timing}


def pandas_rfm(db: Path) -> dict[str, Any]:
    """The same RFM by hand in pandas: read counted gifts, group by contact, quintile scores."""
    import pandas as pd

    started = time.perf_counter()
    con = sqlite3.connect(db)
    df = pd.read_sql(f"SELECT contact_id, currency, amount_minor - refunded_minor AS v, received_at FROM donations "
                     f"WHERE {COUNTED_SQL} AND received_at < '{CUTOFF_UTC}'", con)
    con.close()
    local = pd.to_datetime(df["received_at"], utc=True).dt.tz_convert("Europe/Amsterdam")
    df["day"] = local.dt.tz_localize(None).dt.normalize()
    as_of = pd.Timestamp(AS_OF)
    df["in_window"] = df["day"] > as_of - pd.Timedelta(days=365)
    df["vw"] = df["v"].where(df["in_window"], 0)
    per = df.groupby("contact_id").agg(last=("day", "max"), freq=("in_window", "sum"))
    per["recency"] = (as_of - per["last"]).dt.days
    money = df.groupby(["contact_id", "currency"])["vw"].sum().reset_index()
    n = len(money.groupby("currency"))

    def score(s: pd.Series, higher_better: bool = True) -> pd.Series:
        worse = (s if higher_better else -s).rank(method="min") - 1
        return 1 + (5 * worse // len(s)).astype(int)

    money["m"] = money.groupby("currency")["vw"].transform(score)
    per["r"] = score(per["recency"], higher_better=False)
    per["f"] = score(per["freq"])
    per["m"] = money.groupby("contact_id")["m"].max()
    return {"seconds": time.perf_counter() - started, "donors": len(per), "currencies": n, "peak_mb": peak_mb()}


def rfm_package(db: Path) -> dict[str, Any]:
    """The PyPI package ``rfm`` (run with a pandas<2 interpreter) on the counted gifts."""
    import pandas as pd
    from rfm import RFM

    started = time.perf_counter()
    con = sqlite3.connect(db)
    df = pd.read_sql(f"SELECT contact_id, received_at AS transaction_date, "
                     f"(amount_minor - refunded_minor) / 100.0 AS amount FROM donations "
                     f"WHERE {COUNTED_SQL} AND received_at < '{CUTOFF_UTC}'", con)
    con.close()
    result = RFM(df, customer_id="contact_id", transaction_date="transaction_date", amount="amount")
    return {"seconds": time.perf_counter() - started, "donors": len(result.rfm_table), "peak_mb": peak_mb()}


PHASES = {"generate": None, "floor": floor, "segments": segments, "pandas": pandas_rfm, "rfm": rfm_package}


def run_phase(python: str, phase: str, db: Path, timeout: float) -> dict[str, Any]:
    """Run one phase in a fresh process; returns its JSON, or {"not_run": reason}."""
    try:
        proc = subprocess.run([python, __file__, "--phase", phase, "--db", str(db)], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"not_run": f"did not finish within {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"not_run": f"failed: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Generate (or reuse) the store, run every phase, print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="1,000,000 contacts / 10,000,000 gifts")
    parser.add_argument("--contacts", type=int)
    parser.add_argument("--gifts", type=int)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/vwfund-bench"))
    parser.add_argument("--rfm-python", default=os.environ.get("RFM_PYTHON", "/tmp/rfm-venv/bin/python"),
                        help="a Python with pandas<2 and the rfm package")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per phase")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        func = PHASES[args.phase]
        assert func is not None and args.db is not None
        print(json.dumps(func(args.db)))
        return
    contacts = args.contacts or (1_000_000 if args.large else 100_000)
    gifts = args.gifts or (10_000_000 if args.large else 1_000_000)
    args.dir.mkdir(parents=True, exist_ok=True)
    db = args.dir / f"segments-{contacts}-{gifts}.db"
    if not db.exists():
        print(f"generating {contacts:,} contacts / {gifts:,} gifts in {db} ...", flush=True)
        print(f"  generated in {generate(db, contacts, gifts)['seconds']:.1f} s", flush=True)
    work = args.dir / f"work-{contacts}-{gifts}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    import shutil

    shutil.copy(db, work)  # each run stores its memberships into a fresh copy
    os.sync()  # written out now, not by the kernel in the background while the phases are timed
    me = sys.executable
    fl = run_phase(me, "floor", work, args.timeout)
    seg = run_phase(me, "segments", work, args.timeout)
    pdx = run_phase(me, "pandas", work, args.timeout)
    rfm = (run_phase(args.rfm_python, "rfm", work, args.timeout) if Path(args.rfm_python).exists()
           else {"not_run": f"no interpreter at {args.rfm_python} (pip install 'pandas<2' 'numpy<2' rfm there)"})
    print(f"\nstore: {contacts:,} contacts, {gifts:,} gifts (SQLite), as of {AS_OF}")
    if "not_run" in seg:
        print(f"segments run: not run: {seg['not_run']}")
        return
    print("(wall-clock seconds; CPU seconds of the process in brackets, steadier on a shared machine)")
    print(f"floor (sqlite3, every gift row once): {fl.get('seconds', 0):8.2f} s [{fl.get('cpu', 0):6.2f}]  peak "
          f"{fl.get('peak_mb', 0):7.0f} MB  ({fl.get('rows', 0):,} rows)")
    print(f"segments run, computing:              {seg['compute_seconds']:8.2f} s [{seg['compute_cpu']:6.2f}]  peak "
          f"{seg['compute_peak_mb']:7.0f} MB  ({seg['donors']:,} donors, {len(seg['segments'])} segments)")
    print(f"  read in {seg['parts']} part(s) ({seg['workers']} workers allowed); CPU in brackets includes the helper "
          f"processes; largest helper's peak {seg['helper_peak_mb']:.0f} MB")
    print("  of which: " + ", ".join(f"{k} {v:.2f} s" for k, v in seg["timing"].items()))
    print(f"segments run, storing memberships:    {seg['store_seconds']:8.2f} s           peak {seg['peak_mb']:7.0f} MB"
          f"  ({seg['members']:,} rows)")
    for label, res in (("pandas groupby (hand RFM)", pdx), ("PyPI rfm package", rfm)):
        if "not_run" in res:
            print(f"{label + ':':38s}not run: {res['not_run']}")
        else:
            print(f"{label + ':':38s}{res['seconds']:8.2f} s           peak {res['peak_mb']:7.0f} MB  "
                  f"({res['donors']:,} donors)")
    print("\nratios")
    if "seconds" in fl:
        ratio = seg["compute_seconds"] / fl["seconds"]
        cpu_ratio = seg["compute_cpu"] / max(fl["cpu"], 1e-9)
        print(f"  computing / floor:      {ratio:6.2f}x wall, {cpu_ratio:.2f}x CPU   (target <= 1.5x: "
              f"{'met' if max(ratio, cpu_ratio) <= 1.5 else 'NOT met'})")
    if "seconds" in pdx:
        print(f"  pandas / computing:     {pdx['seconds'] / seg['compute_seconds']:6.2f}x")
    if "seconds" in rfm:
        ratio = rfm["seconds"] / seg["compute_seconds"]
        print(f"  rfm / computing:        {ratio:6.1f}x   (target >= 20x: {'met' if ratio >= 20 else 'NOT met'})")
    else:
        print(f"  rfm / computing:        not run: {rfm['not_run']}")
    helpers = seg["parts"]  # the donors' parts but one, and one more helper for the monthly donors and flags
    together = seg["peak_mb"] + (helpers * seg["helper_peak_mb"] if seg["parts"] > 1 else 0)
    print(f"  peak memory (compute+store): {seg['peak_mb']:.0f} MB in this process; with its helpers at most "
          f"{together:.0f} MB (target < 1024 MB at the large size: {'met' if together < 1024 else 'NOT met'})")


if __name__ == "__main__":
    main()
