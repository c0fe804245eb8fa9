"""Run the demo: build (or reuse) the demo store, run every campaign job on it, and report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from vwfund.app import App
from vwfund.campaign import DemoSection
from vwfund.demo.generate import build_world, generate
from vwfund.demo.world import DemoWorld
from vwfund.money import format_minor
from vwfund.store.amounts import counted_expr
from vwfund.store.database import open_store
from vwfund.store.schema import contacts, donations, recurring_plans
from vwfund.sync import describe_error
from vwfund.timeutil import year_bounds

DEMO_DB = "vwfund-demo.db"


@dataclass
class DemoReport:
    """What the demo did: where, how big, each job's section, and how long it took."""

    out_dir: Path
    store: str
    reused: bool
    world: dict[str, Any]
    overview: dict[str, Any]
    sections: list[DemoSection] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe report."""
        return {
            "out_dir": str(self.out_dir),
            "store": self.store,
            "reused": self.reused,
            "world": self.world,
            "overview": self.overview,
            "seconds": round(self.seconds, 1),
            "sections": [
                {"title": s.title, "lines": s.lines, "data": s.data, "files": [str(f) for f in s.files]}
                for s in self.sections
            ],
        }


def _overview(demo_app: App, world: DemoWorld) -> dict[str, Any]:
    tz = demo_app.config.timezone
    counted = counted_expr(donations)
    per_year = {}
    with demo_app.store.read() as conn:
        for year in range(2021, world.as_of.year + 1):
            start, end = year_bounds(year, tz)
            row = conn.execute(
                select(func.coalesce(func.sum(counted), 0), func.count(func.distinct(donations.c.contact_id))).where(
                    donations.c.received_at >= start, donations.c.received_at < end, counted > 0
                )
            ).one()
            per_year[year] = {"raised_minor": int(row[0]), "donors": int(row[1])}
        n_contacts = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
        n_gifts = conn.execute(select(func.count()).select_from(donations)).scalar_one()
        monthly = conn.execute(
            select(func.count()).select_from(recurring_plans).where(recurring_plans.c.status == "active")
        ).scalar_one()
    return {"contacts": n_contacts, "gifts": n_gifts, "active_monthly_donors": monthly, "per_year": per_year}


def run_demo(app: App, out_dir: Path, scale: float = 0.1, seed: int = 2024, fresh: bool = False) -> DemoReport:
    """Create or reuse the demo store in ``out_dir``, run every campaign job's demo, and report."""
    started = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    db_path = out_dir / DEMO_DB
    marker = f"seed={seed};scale={scale}"
    world = build_world(seed, scale, app.config.timezone)
    url = f"sqlite:///{db_path.resolve()}"
    reused = False
    if db_path.exists() and not fresh:
        existing = open_store(url)
        try:
            reused = existing.get_meta("demo.world") == marker
        finally:
            existing.dispose()
    if not reused:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        store = open_store(url)
        world.counts = generate(store, world)
        with store.begin() as conn:
            store.set_meta(conn, "demo.world", marker)
        store.dispose()
    demo_app = App(app.config, db_url=url, plugins=app.plugins, json_output=app.json_output)
    try:
        report = DemoReport(
            out_dir,
            str(db_path),
            reused,
            {
                "seed": seed,
                "scale": scale,
                "as_of": world.as_of.isoformat(),
                "walk": world.walk.code,
                "crowdfunding": world.crowdfunding.code,
            },
            _overview(demo_app, world),
        )
        for job in demo_app.campaigns.values():
            try:
                section = job.demo(demo_app, world, out_dir)
            except Exception as exc:  # one job failing must not hide the others' results
                section = DemoSection(job.title or job.name, [f"failed: {describe_error(exc)}"])
            if section is not None:
                report.sections.append(section)
    finally:
        demo_app.close()
    report.seconds = time.monotonic() - started
    return report


def render_report(report: DemoReport) -> str:
    """The demo report as text for a person."""
    o = report.overview
    lines = [
        f"vwfund demo: a synthetic organisation (seed {report.world['seed']}, scale {report.world['scale']}), "
        f"as of {report.world['as_of'][:10]}",
        f"store: {report.store}" + (" (reused)" if report.reused else " (new)"),
        f"{o['contacts']:,} contacts, {o['gifts']:,} gifts, {o['active_monthly_donors']:,} active monthly donors",
        "",
        "Money raised per year (succeeded gifts, net of refunds):",
    ]
    for year, row in o["per_year"].items():
        lines.append(
            f"  {year}: {format_minor(row['raised_minor'], 'EUR', 'nl_NL'):>18}  from {row['donors']:,} donors"
        )
    for section in report.sections:
        lines += ["", f"== {section.title} =="]
        lines += [f"  {line}" for line in section.lines]
        lines += [f"  wrote {f}" for f in section.files]
    if not report.sections:
        lines += ["", "(no campaign jobs are installed)"]
    lines += ["", f"done in {report.seconds:.1f} s; everything is in {report.out_dir}/"]
    return "\n".join(lines)
