"""Benchmark the sponsored walk at its 2024 scale: 528 teams, 3,442 walkers, 17,820 sponsor gifts.

    python benchmarks/bench_walk.py [--size 1.0] [--donor-scale 0.01] [--repeat 200]

The core demo generator (which writes SQLite) writes the walk's gifts (and a donor history scaled by ``--donor-scale``); the walk's
teams and walkers are then seeded as ``vwfund demo`` does. ``--size`` < 1 keeps only that share of the walk's
teams, walkers and gifts (for quick runs while developing). Printed: seeding time, the time to build every
page (target < 5 s), the time to answer one team's total (target < 10 ms: median and 95th percentile of
``--repeat`` answers, through the same function ``vwfund walk totals --team`` calls), and peak memory.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import delete

from vwfund.app import App
from vwfund.campaigns.walk import service
from vwfund.campaigns.walk.editions import find_team
from vwfund.campaigns.walk.job import seed_walk
from vwfund.campaigns.walk.totals import team_totals
from vwfund.config import Config
from vwfund.demo.generate import build_world, generate
from vwfund.demo.world import DemoWalk
from vwfund.store.database import open_store
from vwfund.store.schema import donations


def _shrink(walk: DemoWalk, size: float) -> DemoWalk:
    """Keep a share of the teams (and their walkers) for a quick run."""
    if size >= 1:
        return walk
    teams = walk.teams[: max(1, round(len(walk.teams) * size))]
    kept = {t.slug for t in teams}
    return replace(walk, teams=teams, walkers=[w for w in walk.walkers if w.team_slug in kept])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=1.0, help="share of the 2024 walk to keep (default 1.0)")
    parser.add_argument("--donor-scale", type=float, default=0.01, help="scale of the rest of the demo world")
    parser.add_argument("--repeat", type=int, default=200, help="team-total answers to time")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-walk-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'walk.db'}"
        world = build_world(2024, args.donor_scale, "Europe/Brussels")
        store = open_store(url)
        started = time.perf_counter()
        generate(store, world)
        walk = _shrink(world.walk, args.size)
        if args.size < 1:
            kept_teams = {t.slug for t in walk.teams}
            with store.begin() as conn:
                conn.execute(delete(donations).where((donations.c.campaign == walk.code)
                                                     & donations.c.team.not_in(kept_teams)))
        generated = time.perf_counter() - started
        store.dispose()

        app = App(Config({}, env={}), db_url=url)
        started = time.perf_counter()
        seed_walk(app, walk)
        seeded = time.perf_counter() - started

        started, cpu = time.perf_counter(), time.process_time()
        site = service.build_pages(app, Path(tmp) / "site", locale="nl_BE", code=walk.code)
        built, built_cpu = time.perf_counter() - started, time.process_time() - cpu

        whole = service.totals(app, code=walk.code).totals
        board = service.standings(app, "team", None, walk.code)
        team = board[len(board) // 2].key  # a typical team, not the largest
        timings, cpu_timings = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            answer = service.totals(app, team=team, code=walk.code)
            timings.append((time.perf_counter() - t0) * 1000)
            cpu_timings.append((time.process_time() - c0) * 1000)
        timings.sort()
        edition = service.current_edition(app, walk.code)
        with app.store.read() as conn:  # as the pages and the live server answer: inside an open read
            found = find_team(conn, walk.code, team)
            assert found is not None
            in_tx = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                team_totals(conn, edition, found)
                in_tx.append((time.perf_counter() - t0) * 1000)
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        started = time.perf_counter()
        reconciled = service.reconcile_online(app, walk.code)
        reconcile_s = time.perf_counter() - started
        app.close()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(f"store: {url.split(':')[0]}  teams: {len(walk.teams)}  walkers: {len(walk.walkers)}  "
          f"walk gifts counted: {whole.gifts}, pending: {whole.pending_gifts}  "
          f"(machine load average {load:.1f} on {os.cpu_count()} CPUs: wall times include waiting for a CPU)")
    print(f"raised: {whole.raised.amount} {whole.currency}  sponsors: {whole.sponsors}")
    print(f"generate demo world: {generated:.2f} s   seed teams+walkers (+contacts): {seeded:.2f} s")
    print(f"build all pages: {built:.2f} s wall, {built_cpu:.2f} s CPU for {site.pages} pages "
          f"({site.pages / built:.0f} pages/s)  target < 5 s: {'OK' if built < 5 else 'MISSED'}")
    print(f"one team's total ({team}, {answer.totals.gifts} gifts): median {statistics.median(timings):.2f} ms wall "
          f"({statistics.median(cpu_timings):.2f} ms CPU), p95 {p95:.2f} ms over {args.repeat}  "
          f"target < 10 ms: {'OK' if statistics.median(timings) < 10 else 'MISSED'}")
    print(f"  of which opening the store connection is most; inside an open read: median "
          f"{statistics.median(in_tx):.2f} ms wall")
    print(f"reconcile {reconciled.charges} online gifts: {reconcile_s:.2f} s, {len(reconciled.differences)} differences")
    print(f"peak memory (max RSS): {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
