"""The GDPR campaign job: no nightly step (every action is reviewed first); its part of the demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vwfund.campaign import CampaignJob, DemoSection
from vwfund.campaigns.gdpr.planfile import write_plan_files
from vwfund.campaigns.gdpr.planning import build_plan
from vwfund.campaigns.gdpr.policy import load_policy

if TYPE_CHECKING:
    from vwfund.app import App
    from vwfund.demo.world import DemoWorld


class GdprJob(CampaignJob):
    """Opt-in clean-up: plan, review, re-permission, apply; erasure and access requests."""

    name = "gdpr"
    title = "GDPR clean-up"
    order = 200

    def demo(self, app: App, world: DemoWorld, out_dir: Path) -> DemoSection:
        """Plan the clean-up of the demo audience (never applied) and summarise it."""
        policy = load_policy(app.config)
        with app.store.read() as conn:
            plan = build_plan(conn, policy, world.as_of)
        csv_path, json_path = write_plan_files(plan, out_dir / "gdpr-plan")
        summary = plan.summary()
        lines = [f"clean-up plan for audience {world.audience!r} as of {world.as_of:%Y-%m-%d}: "
                 f"{summary['rows']} rows (nothing applied)"]
        lines += [f"  {action}: {n}" for action, n in summary["actions"].items()]
        lines += [f"  rule {rule}: {n}" for rule, n in summary["rules"].items()]
        return DemoSection(title=self.title, lines=lines, data=summary, files=[csv_path, json_path])
