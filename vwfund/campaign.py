"""The campaign-job interface: one plugin per fundraising job, pure logic over the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vwfund.app import App
    from vwfund.demo.world import DemoWorld
    from vwfund.sync import RunResult


@dataclass
class DemoSection:
    """A campaign job's part of the ``vwfund demo`` report."""

    title: str
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


class CampaignJob:
    """Base class: a job with a name, an optional nightly step, and an optional demo part."""

    name: str = ""
    title: str = ""
    #: Order among nightly steps (lower first); pulls run before and pushes after every job.
    order: int = 100

    def nightly(self, app: App) -> RunResult | None:
        """The step ``vwfund sync`` runs between pulls and pushes; None when the job has none."""
        return None

    def demo(self, app: App, world: DemoWorld, out_dir: Path) -> DemoSection | None:
        """Seed this job's own demo data from ``world``, run the job, and describe the result."""
        return None
