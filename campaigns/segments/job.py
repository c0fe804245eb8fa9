"""The segments campaign job: the nightly run, and its part of the demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vwfund.campaign import CampaignJob, DemoSection
from vwfund.campaigns.segments.runs import default_as_of, run_segments
from vwfund.campaigns.segments.settings import load_settings
from vwfund.sync import RunResult, describe_error
from vwfund.timeutil import local_date, utcnow

if TYPE_CHECKING:
    from vwfund.app import App
    from vwfund.demo.world import DemoWorld


class SegmentsJob(CampaignJob):
    """Computes RFM, the standard fundraising segments and the custom ones, and keeps each run."""

    name = "segments"
    title = "Donor segments (RFM, new/retained/lapsed, LYBUNT/SYBUNT, monthly, major, custom)"
    order = 50

    def nightly(self, app: App) -> RunResult:
        """Run every segment at today's date; the counts per segment go in the result."""
        result = RunResult("segments", "job", started_at=utcnow())
        try:
            settings = load_settings(app.config)
            report = run_segments(app.store, settings, default_as_of(settings.timezone))
            result.counts.update({f"segment:{n}": len(ids) for n, ids in report.computed.members.items()})
            result.counts["donors"] = report.computed.donors
        except Exception as exc:  # reported in the nightly summary; pushes still run
            result.status = "failed"
            result.errors.append(describe_error(exc))
        result.finished_at = utcnow()
        return result

    def demo(self, app: App, world: DemoWorld, out_dir: Path) -> DemoSection:
        """Run the segments at the demo's reference date; report the counts and the retention rates."""
        settings = load_settings(app.config)
        report = run_segments(app.store, settings, local_date(world.as_of, settings.timezone))
        data = report.to_json()
        lines = [f"donors: {report.computed.donors} (reference date {report.period.as_of})"]
        lines += [f"{name}: {len(ids)}" for name, ids in report.computed.members.items()]
        for row in report.computed.retention:
            mark = " (to date)" if row["partial"] else ""
            rates = {k: _percent(row[k]["rate_percent"]) for k in ("all", "new", "repeat")}
            lines.append(f"retention {row['year']}{mark}: {rates['all']} overall, {rates['new']} new, "
                         f"{rates['repeat']} repeat")
        return DemoSection(title=self.title, lines=lines, data=data)


def _percent(rate: object) -> str:
    """A retention rate for a person: "n/a" when the year before had no such donors to retain."""
    return "n/a" if rate is None else f"{rate}%"
