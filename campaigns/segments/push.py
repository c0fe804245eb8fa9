"""Pushing a segment's latest run to a target (Mailchimp tags, CiviCRM groups): plan first, then apply.

Push state is shared with the connectors' own pushes: target = the connector's name, scope
``segment:NAME``, item = the contact id as text. Planning compares the latest run with that state;
applying sends the difference in batches through the connector's SegmentTarget and records what the
target accepted (via the sync engine's push run, which also logs the run).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert

from vwfund.campaigns.segments.runs import require_latest_run, run_members
from vwfund.errors import ConfigError
from vwfund.store.schema import audit_log
from vwfund.sync import Push, PushOutcome, RunResult, pushed_items, run_push
from vwfund.targets import SegmentTarget, TargetContact, target_contacts

if TYPE_CHECKING:
    from vwfund.app import App

BATCH = 500


def push_scope(segment: str) -> str:
    """The push-state scope of a segment."""
    return f"segment:{segment}"


@dataclass
class PushPlan:
    """What a push would change at a target: contact ids to add and to remove."""

    segment: str
    target: str
    as_of: str
    add: list[int] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)
    applied: bool = False
    result: RunResult | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary (ids, never emails)."""
        return {"segment": self.segment, "target": self.target, "as_of": self.as_of, "add": self.add,
                "remove": self.remove, "applied": self.applied,
                "result": self.result.to_json() if self.result else None}


def plan_push(conn: Connection, segment: str, target: str) -> PushPlan:
    """Compare the segment's latest run with what the target was last given."""
    run = require_latest_run(conn, segment)
    members = set(run_members(conn, run.id))
    pushed = {int(item) for item in pushed_items(conn, target, push_scope(segment)) if item.isdigit()}
    return PushPlan(segment, target, run.definition.get("as_of", ""), sorted(members - pushed),
                    sorted(pushed - members))


def segment_target(app: App, target: str) -> SegmentTarget:
    """The connector's segment target, or a ConfigError when it has none."""
    found = app.connector(target).segment_target(app)
    if found is None:
        raise ConfigError(f"connector {target!r} cannot hold segments (no segment target); "
                          "check that it is configured")
    return found


def _contacts(conn: Connection, ids: list[int]) -> list[TargetContact]:
    """TargetContacts for ids; a contact gone from the store is still passed (by id) so it can be removed."""
    found = {tc.contact_id: tc for tc in target_contacts(conn, ids)}
    return [found.get(cid) or TargetContact(cid, None) for cid in ids]


def _batches(plan: PushPlan) -> Iterator[tuple[list[int], list[int]]]:
    for start in range(0, max(len(plan.add), len(plan.remove)), BATCH):
        yield plan.add[start : start + BATCH], plan.remove[start : start + BATCH]


def push_segment(app: App, segment: str, target: str, *, apply: bool = False) -> PushPlan:
    """Plan a segment's push to ``target``; with ``apply``, send it and record what was accepted."""
    store = app.store
    chosen = segment_target(app, target)
    with store.read() as conn:
        plan = plan_push(conn, segment, target)
    if not apply:
        return plan

    def batches(conn: Connection) -> Iterator[tuple[list[TargetContact], list[TargetContact]]]:
        for add, remove in _batches(plan):
            yield _contacts(conn, add), _contacts(conn, remove)

    def send(batch: tuple[list[TargetContact], list[TargetContact]]) -> PushOutcome:
        return chosen.apply_segment(segment, batch[0], batch[1])

    plan.result = run_push(store, Push(f"segments:{segment}", target, batches, send))
    plan.applied = True
    with store.begin() as conn:
        conn.execute(insert(audit_log).values(
            actor="segments", action="segment_push", system=target,
            details={"segment": segment, "as_of": plan.as_of, "planned_add": len(plan.add),
                     "planned_remove": len(plan.remove), "status": plan.result.status,
                     "accepted": plan.result.counts.get("pushed", 0)}))
    return plan
