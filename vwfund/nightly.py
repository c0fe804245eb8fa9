"""Pulls, campaign steps and pushes: one connector at a time, or the whole nightly run.

Order of a full run: every configured connector's pulls (by connector order), then every campaign job's
nightly step (by job order, so segments are fresh), then every configured connector's pushes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vwfund.app import App
from vwfund.sync import Progress, RunResult, run_push, run_stream
from vwfund.timeutil import utcnow


def pull(
    app: App, name: str, *, full: bool = False, since: datetime | None = None, progress: Progress | None = None
) -> list[RunResult]:
    """Run every pull stream of one connector; each stream is reported, a failed one does not stop the next."""
    connector = app.connector(name)
    return [
        run_stream(app.store, stream, full=full, since=since, progress=progress)
        for stream in connector.pull_streams(app)
    ]


def push(app: App, name: str, *, progress: Progress | None = None) -> list[RunResult]:
    """Run every push of one connector."""
    connector = app.connector(name)
    return [run_push(app.store, p, progress=progress) for p in connector.pushes(app)]


@dataclass
class NightlySummary:
    """The whole run: every step's result, and whether all succeeded."""

    started_at: datetime
    finished_at: datetime | None = None
    steps: list[RunResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every step succeeded."""
        return all(s.ok for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary for monitoring."""
        return {
            "ok": self.ok,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "steps": [s.to_json() for s in self.steps],
            "skipped": self.skipped,
        }


def run_nightly(app: App, progress: Progress | None = None) -> NightlySummary:
    """Every configured pull, then every campaign job's nightly step, then every configured push."""
    summary = NightlySummary(started_at=utcnow())
    configured = [c for c in app.connectors.values() if c.is_configured(app.config)]
    summary.skipped = [f"{c.name}: not configured" for c in app.connectors.values() if c not in configured]
    for connector in configured:
        summary.steps.extend(pull(app, connector.name, progress=progress))
    for job in app.campaigns.values():
        try:
            step = job.nightly(app)
        except Exception as exc:  # a failing job is reported; pushes still run
            from vwfund.sync import describe_error

            step = RunResult(job.name, "job", status="failed", errors=[describe_error(exc)])
        if step is not None:
            summary.steps.append(step)
    for connector in configured:
        summary.steps.extend(push(app, connector.name, progress=progress))
    summary.finished_at = utcnow()
    return summary
