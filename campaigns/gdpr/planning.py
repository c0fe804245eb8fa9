"""Making a clean-up plan: the rules over every contact's situation; nothing outside the plan tables changes."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from vwfund.campaigns.gdpr.policy import Policy
from vwfund.campaigns.gdpr.rules import ACTION_WORDS, decide
from vwfund.campaigns.gdpr.situation import inactivity_windows, load_situations
from vwfund.campaigns.gdpr.tables import gdpr_plan_rows, gdpr_plans
from vwfund.errors import InputError
from vwfund.store.database import Store
from vwfund.store.schema import mailing_members
from vwfund.timeutil import utcnow


@dataclass(frozen=True)
class PlanRow:
    """One action for one contact. ``email`` is for the steward's review file only."""

    row: int
    contact_id: int
    action: str
    rules: tuple[str, ...]
    reason: str
    facts: dict[str, Any]
    digest: str
    email: str | None = None


@dataclass
class Plan:
    """A reviewable plan: its id, when and by whom it was made, the policy, and its rows."""

    id: str
    created_at: datetime
    as_of: datetime
    actor: str
    policy: dict[str, Any]
    rows: list[PlanRow] = field(default_factory=list)
    #: Subscribed newsletter members linked to no contact: the plan cannot name them.
    unlinked_members: int = 0

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per action and per rule."""
        actions = Counter(r.action for r in self.rows)
        rules = Counter(rule for r in self.rows for rule in r.rules)
        return {"actions": dict(sorted(actions.items())), "rules": dict(sorted(rules.items()))}

    def summary(self) -> dict[str, Any]:
        """What ``vwfund gdpr plan`` prints: the plan id, counts per action (in words) and per rule."""
        counts = self.counts()
        return {
            "plan_id": self.id, "as_of": self.as_of, "rows": len(self.rows),
            "actions": {ACTION_WORDS.get(a, a): n for a, n in counts["actions"].items()},
            "rules": counts["rules"], "unlinked_members": self.unlinked_members,
        }


def build_plan(conn: Connection, policy: Policy, as_of: datetime | None = None) -> Plan:
    """Apply the policy to every live contact; returns the plan (not yet saved)."""
    now = as_of or utcnow()
    situations = load_situations(conn, policy)
    windows = inactivity_windows(conn, policy, now)
    plan = Plan(str(uuid.uuid4()), utcnow(), now, policy.steward, policy.to_json())
    unlinked = select(func.count()).select_from(mailing_members).where(
        mailing_members.c.contact_id.is_(None), mailing_members.c.status == "subscribed")
    if policy.audiences:
        unlinked = unlinked.where(mailing_members.c.audience.in_(policy.audiences))
    plan.unlinked_members = int(conn.execute(unlinked).scalar_one())
    for contact_id in sorted(situations):
        situation = situations[contact_id]
        for decision in decide(situation, policy, windows, now):
            plan.rows.append(PlanRow(
                row=len(plan.rows) + 1, contact_id=contact_id, action=decision.action, rules=decision.rules,
                reason=decision.reason, facts=situation.facts(), digest=situation.digest, email=situation.email,
            ))
    return plan


def save_plan(conn: Connection, plan: Plan) -> None:
    """Record the plan and its rows (contact ids, actions, rules, facts' digest; no emails)."""
    conn.execute(insert(gdpr_plans).values(
        id=plan.id, created_at=plan.created_at, as_of=plan.as_of, actor=plan.actor, policy=plan.policy,
        counts=plan.counts(),
    ))
    rows = [
        {"plan_id": plan.id, "row": r.row, "contact_id": r.contact_id, "action": r.action, "rules": list(r.rules),
         "digest": r.digest, "facts": r.facts, "state": "planned", "note": None}
        for r in plan.rows
    ]
    for i in range(0, len(rows), 5000):
        conn.execute(insert(gdpr_plan_rows), rows[i : i + 5000])


def make_plan(store: Store, policy: Policy, as_of: datetime | None = None) -> Plan:
    """Build the plan from a consistent snapshot and record it; changes nothing else."""
    with store.read() as conn:
        plan = build_plan(conn, policy, as_of)
    with store.begin() as conn:
        save_plan(conn, plan)
    return plan


@dataclass(frozen=True)
class StoredRow:
    """A plan row as recorded when the plan was made, with its state."""

    row: int
    contact_id: int
    action: str
    rules: tuple[str, ...]
    digest: str
    facts: dict[str, Any]
    state: str


def stored_plan(conn: Connection, plan_id: str) -> tuple[Any, dict[int, StoredRow]]:
    """The recorded plan and its rows by row number; an unknown plan is an InputError."""
    plan = conn.execute(select(gdpr_plans).where(gdpr_plans.c.id == plan_id)).first()
    if plan is None:
        raise InputError(f"plan {plan_id} is not in this store: make one with `vwfund gdpr plan`")
    rows = {
        r.row: StoredRow(r.row, r.contact_id, r.action, tuple(r.rules), r.digest, dict(r.facts or {}), r.state)
        for r in conn.execute(select(gdpr_plan_rows).where(gdpr_plan_rows.c.plan_id == plan_id))
    }
    return plan, rows
