"""What ``vwfund push mailchimp`` would do next, read from the store without calling Mailchimp."""

from __future__ import annotations

from dataclasses import dataclass, field

from vwfund.connectors.mailchimp.push import summarise_push
from vwfund.connectors.mailchimp.tags import plan_segment_changes
from vwfund.store.database import Store


@dataclass
class PushPlan:
    """Members per kind (new, update, unchanged, never resubscribed, forgotten) and tag changes per segment."""

    audience: str
    members: dict[str, int]
    segments: dict[str, dict[str, int]] = field(default_factory=dict)


def plan_push(store: Store, list_id: str) -> PushPlan:
    """Count what the next push would send; nothing is sent and nothing is written."""
    with store.read() as conn:
        plan = PushPlan(list_id, summarise_push(conn, list_id))
        for change in plan_segment_changes(conn, list_id):
            counts = plan.segments.setdefault(change.segment, {"add": 0, "remove": 0})
            counts["add"] += len(change.add)
            counts["remove"] += len(change.remove)
    return plan
