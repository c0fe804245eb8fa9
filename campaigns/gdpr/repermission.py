"""Re-permission before removal: tag the plan's inactive contacts for a re-permission mailing and start the
waiting period. Whoever clicks or consents in that time changes their situation and drops out at apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from vwfund.campaigns.gdpr.applying import is_inactivity_row, match_file_rows
from vwfund.campaigns.gdpr.planfile import read_plan_file
from vwfund.campaigns.gdpr.planning import stored_plan
from vwfund.campaigns.gdpr.policy import Policy
from vwfund.campaigns.gdpr.steps import Audit, audit, writing_run
from vwfund.campaigns.gdpr.tables import gdpr_repermission
from vwfund.errors import InputError, VwfundError
from vwfund.store.database import Store
from vwfund.sync import PushOutcome
from vwfund.targets import PrivacyTarget, TargetContact, target_contacts
from vwfund.timeutil import utcnow


@dataclass
class RepermissionReport:
    """Who was tagged (or would be), who already waits, and when the waiting period ends."""

    plan_id: str
    dry_run: bool
    tag: str
    to_tag: int = 0
    tagged: int = 0
    already_waiting: int = 0
    ends_at: datetime | None = None
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary."""
        return {
            "plan_id": self.plan_id, "dry_run": self.dry_run, "tag": self.tag, "to_tag": self.to_tag,
            "tagged": self.tagged, "already_waiting": self.already_waiting,
            "ends_at": self.ends_at.isoformat() if self.ends_at else None, "errors": self.errors,
        }


def _tag(target: PrivacyTarget, contacts: Sequence[Any], tag: str) -> PushOutcome | None:
    """Tag through one target; None when the target does not tag."""
    try:
        return target.tag(contacts, tag)
    except (NotImplementedError, AttributeError):
        return None
    except VwfundError as exc:
        return PushOutcome(errors=[f"{target.name}: {exc}"])


def start_repermission(
    store: Store, policy: Policy, targets: Sequence[PrivacyTarget], path: Path, *, apply: bool = False,
    now: datetime | None = None,
) -> RepermissionReport:
    """Tag the plan's inactivity rows for a re-permission mailing and start their waiting period."""
    with writing_run(store, apply):
        return _start(store, policy, targets, path, apply, now or utcnow())


def _start(
    store: Store, policy: Policy, targets: Sequence[PrivacyTarget], path: Path, apply: bool, now: datetime,
) -> RepermissionReport:
    plan_id, file_rows = read_plan_file(path)
    report = RepermissionReport(plan_id, dry_run=not apply, tag=policy.repermission_tag)
    with store.read() as conn:
        _plan, stored = stored_plan(conn, plan_id)
        rows = [s for r, s in match_file_rows(stored, file_rows) if r.action == s.action and is_inactivity_row(s)]
        waiting = set(conn.execute(select(gdpr_repermission.c.contact_id).where(
            gdpr_repermission.c.plan_id == plan_id)).scalars())
        ids = sorted({s.contact_id for s in rows} - waiting)
        contacts = target_contacts(conn, ids)
    report.already_waiting = len({s.contact_id for s in rows} & waiting)
    report.to_tag = len(ids)
    ends_at = now + timedelta(days=policy.repermission_days)
    report.ends_at = ends_at
    if not apply or not ids:
        return report
    _tag_and_wait(store, policy, targets, plan_id, contacts, ids, now, report)
    return report


def _tag_and_wait(
    store: Store, policy: Policy, targets: Sequence[PrivacyTarget], plan_id: str, contacts: list[TargetContact],
    ids: list[int], now: datetime, report: RepermissionReport,
) -> None:
    ends_at = now + timedelta(days=policy.repermission_days)
    tagged: set[int] = set()
    tagging = False
    for target in targets:
        outcome = _tag(target, contacts, policy.repermission_tag)
        if outcome is None:
            continue
        tagging = True
        report.errors += outcome.errors
        tagged |= {int(p.item) for p in outcome.pushed if not p.removed and p.item.isdigit()}
    if not tagging:
        raise InputError("no connected system can tag contacts for a re-permission mailing: configure Mailchimp")
    who = Audit(policy.steward, {"plan": plan_id, "tag": policy.repermission_tag})
    with store.begin() as conn:
        for contact_id in sorted(tagged & set(ids)):
            conn.execute(insert(gdpr_repermission).values(
                plan_id=plan_id, contact_id=contact_id, tag=policy.repermission_tag, tagged_at=now, ends_at=ends_at,
            ))
            audit(conn, who, "repermission", contact_id, rule="repermission", answer="tagged",
                  ends_at=ends_at.isoformat())
    report.tagged = len(tagged & set(ids))
