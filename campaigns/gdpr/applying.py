"""Applying a reviewed plan: exactly its rows, dry run unless asked, idempotent and resumable.

For each row the outside systems that support the action go first (Mailchimp for archive and permanent
deletion, CiviCRM and Mailchimp for anonymisation and consent removal), the store last. Each step is recorded
with its audit entry in one transaction once the system answered, so a re-run after a crash skips what
was done. A row whose contact gave, clicked or consented since the plan was made is dropped and reported,
unless its first step was already taken (then it is finished).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from vwfund.campaigns.gdpr import erasure
from vwfund.campaigns.gdpr.planfile import FileRow, read_plan_file
from vwfund.campaigns.gdpr.planning import StoredRow, stored_plan
from vwfund.campaigns.gdpr.policy import Policy
from vwfund.campaigns.gdpr.rules import (
    ANONYMISE,
    ARCHIVE,
    DELETE_PERMANENTLY,
    INACTIVITY_RULES,
    KEEP,
    REMOVE_CONSENT,
)
from vwfund.campaigns.gdpr.situation import Situation, load_situations
from vwfund.campaigns.gdpr.steps import STORE, Audit, answer_digest, audit, perform, targets_for, writing_run
from vwfund.campaigns.gdpr.tables import gdpr_plan_rows, gdpr_repermission, gdpr_steps
from vwfund.errors import InputError
from vwfund.store.database import Store
from vwfund.targets import PrivacyTarget, TargetContact, target_contacts
from vwfund.timeutil import utcnow

#: Actions that only make sense when an outside system carries them out.
NEEDS_TARGET = (ARCHIVE, DELETE_PERMANENTLY)


@dataclass
class ApplyReport:
    """What apply did (or, in a dry run, would do)."""

    plan_id: str
    dry_run: bool
    done: Counter[str] = field(default_factory=Counter)
    would: Counter[str] = field(default_factory=Counter)
    already_done: int = 0
    kept: int = 0
    dropped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary (contact ids only)."""
        return {
            "plan_id": self.plan_id, "dry_run": self.dry_run, "done": dict(self.done), "would": dict(self.would),
            "already_done": self.already_done, "kept": self.kept, "dropped": self.dropped, "failed": self.failed,
        }


def is_inactivity_row(row: StoredRow) -> bool:
    """Whether a row's action comes from an inactivity rule (and so waits for re-permission)."""
    return row.action != KEEP and bool(INACTIVITY_RULES & set(row.rules))


def match_file_rows(stored: dict[int, StoredRow], rows: Sequence[FileRow]) -> list[tuple[FileRow, StoredRow]]:
    """Pair each file row with the recorded one: same contact, same digest, the planned action or keep."""
    pairs = []
    for r in rows:
        s = stored.get(r.row)
        if s is None or s.contact_id != r.contact_id:
            raise InputError(f"{r.where}: row {r.row} for contact {r.contact_id} is not part of this plan")
        if r.action not in (s.action, KEEP):
            raise InputError(f"{r.where}: the action may only be left as {s.action!r} or set to 'keep'")
        if r.digest != s.digest:
            raise InputError(f"{r.where}: the digest was changed; it must stay as the plan wrote it")
        pairs.append((r, s))
    return sorted(pairs, key=lambda pair: pair[1].row)  # the plan's order, however the file was sorted


def check_waiting_period(conn: Connection, plan_id: str, policy: Policy, rows: Sequence[StoredRow], now: datetime) -> None:
    """Refuse inactivity actions before the re-permission period of their contacts has ended."""
    if not policy.require_repermission:
        return
    pending = [r for r in rows if is_inactivity_row(r)]
    if not pending:
        return
    ends = {
        r.contact_id: r.ends_at
        for r in conn.execute(select(gdpr_repermission).where(gdpr_repermission.c.plan_id == plan_id))
    }
    untagged = [r.contact_id for r in pending if r.contact_id not in ends]
    if untagged:
        raise InputError(
            f"plan {plan_id}: {len(untagged)} inactivity actions have had no re-permission mailing "
            f"(first: contact {untagged[0]}): run `vwfund gdpr repermission PLAN --apply` first, "
            "or remove those rows"
        )
    waiting = [ends[r.contact_id] for r in pending if ends[r.contact_id] > now]
    if waiting:
        raise InputError(
            f"plan {plan_id}: the re-permission period ends {max(waiting):%Y-%m-%d %H:%M} UTC; "
            f"{len(waiting)} inactivity actions cannot be applied before then"
        )


def _store_change(action: str, policy: Policy, now: datetime) -> Callable[[Connection, int], None]:
    audiences = policy.audiences
    changes: dict[str, Callable[[Connection, int], None]] = {
        ARCHIVE: lambda conn, cid: erasure.archive_in_store(conn, cid, audiences),
        DELETE_PERMANENTLY: lambda conn, cid: erasure.delete_memberships_in_store(conn, cid, audiences),
        ANONYMISE: lambda conn, cid: erasure.anonymise_contact(conn, cid, now),
        REMOVE_CONSENT: lambda conn, cid: erasure.remove_consent_in_store(conn, cid, audiences),
    }
    return changes[action]


def _change_words(row: StoredRow, now: Situation | None) -> str | None:
    """Why a row no longer holds, or None when the situation is as planned."""
    if now is None:
        return "the contact is no longer in the store (or was anonymised)"
    if now.held and row.action in (ANONYMISE, DELETE_PERMANENTLY):
        return "an erasure hold was opened"
    if now.digest == row.digest:
        return None
    planned, current = row.facts, now.facts()
    words = {"last_gift": "gave", "last_click": "clicked", "last_consent": "consented",
             "active_recurring": "started monthly giving"}
    changed = [words[k] for k in words if current.get(k) != planned.get(k)] or ["changed"]
    return "since the plan was made the contact " + " and ".join(changed)


class PlanRunner:
    """Carries out the rows of one plan against the store and the privacy targets."""

    def __init__(self, store: Store, policy: Policy, targets: Sequence[PrivacyTarget], plan_id: str,
                 now: datetime, report: ApplyReport) -> None:
        self.store, self.policy, self.targets, self.plan_id = store, policy, targets, plan_id
        self.now, self.report = now, report
        self.who = Audit(policy.steward, {"plan": plan_id})

    def _set_state(self, conn: Connection, row: int, state: str, note: str | None = None) -> None:
        conn.execute(update(gdpr_plan_rows).where(
            (gdpr_plan_rows.c.plan_id == self.plan_id) & (gdpr_plan_rows.c.row == row)
        ).values(state=state, note=note))

    def _record_step(self, conn: Connection, s: StoredRow, system: str, state: str, answer: str) -> None:
        conn.execute(insert(gdpr_steps).values(
            plan_id=self.plan_id, row=s.row, system=system, contact_id=s.contact_id, action=s.action,
            state=state, answer=answer[:2000], at=utcnow(),
        ))

    def keep(self, s: StoredRow) -> None:
        """A keep row (an exception, or the steward's decision): record it, change nothing else."""
        by = "the policy" if s.action == KEEP else "the steward"
        with self.store.begin() as conn:
            self._set_state(conn, s.row, "kept", f"kept by {by}")
            audit(conn, self.who, "keep", s.contact_id, rule=" ".join(s.rules), before=s.digest,
                  answer=f"kept by {by}", row=s.row, planned=s.action)

    def drop(self, s: StoredRow, why: str) -> None:
        """The situation changed: leave the contact alone, and say so."""
        with self.store.begin() as conn:
            self._set_state(conn, s.row, "dropped", why)
            audit(conn, self.who, "dropped", s.contact_id, rule=" ".join(s.rules), before=s.digest, row=s.row,
                  planned=s.action, why=why)

    def run(self, s: StoredRow, contact: TargetContact, done: set[str]) -> bool:
        """Carry out the row's remaining steps; True when the row is finished."""
        rule = " ".join(s.rules)
        for target in targets_for(self.targets, s.action):
            if target.name in done:
                continue
            answer = perform(target, s.action, contact)
            with self.store.begin() as conn:
                if answer.ok or answer.not_found:
                    self._record_step(conn, s, target.name, "not_found" if answer.not_found else "done", answer.answer)
                    audit(conn, self.who, s.action, s.contact_id, rule=rule, system=target.name, before=s.digest,
                          after=answer_digest(target.name, s.action, answer), answer=answer.answer, row=s.row)
                else:
                    audit(conn, self.who, "failed", s.contact_id, rule=rule, system=target.name, before=s.digest,
                          answer=answer.answer, row=s.row, planned=s.action)
            if not (answer.ok or answer.not_found):
                self.report.failed.append({"row": s.row, "contact_id": s.contact_id, "system": target.name,
                                           "answer": answer.answer})
                return False
        with self.store.begin() as conn:
            before = erasure.contact_digest(conn, s.contact_id)
            _store_change(s.action, self.policy, self.now)(conn, s.contact_id)
            after = erasure.contact_digest(conn, s.contact_id)
            self._record_step(conn, s, STORE, "done", "changed in the store")
            self._set_state(conn, s.row, "done")
            audit(conn, self.who, s.action, s.contact_id, rule=rule, system=STORE, before=before, after=after,
                  answer="changed in the store", row=s.row, plan_digest=s.digest)
        return True


def apply_plan(
    store: Store, policy: Policy, targets: Sequence[PrivacyTarget], path: Path, *, apply: bool = False,
    now: datetime | None = None,
) -> ApplyReport:
    """Apply the reviewed plan file at ``path`` (a dry run unless ``apply``); one writing run at a time."""
    with writing_run(store, apply):
        return _apply_plan(store, policy, targets, path, apply=apply, now=now)


def _apply_plan(
    store: Store, policy: Policy, targets: Sequence[PrivacyTarget], path: Path, *, apply: bool,
    now: datetime | None,
) -> ApplyReport:
    now = now or utcnow()
    plan_id, file_rows = read_plan_file(path)
    with store.read() as conn:
        _plan, stored = stored_plan(conn, plan_id)
        pairs = match_file_rows(stored, file_rows)
        to_act = [s for r, s in pairs if r.action != KEEP and s.state not in ("done", "dropped", "kept")]
        check_waiting_period(conn, plan_id, policy, to_act, now)
        ids = sorted({s.contact_id for s in to_act})
        situations = load_situations(conn, policy, ids)
        contacts = {c.contact_id: c for c in target_contacts(conn, ids)}
        started: dict[int, set[str]] = {}
        for step in conn.execute(select(gdpr_steps.c.row, gdpr_steps.c.system).where(gdpr_steps.c.plan_id == plan_id)):
            started.setdefault(step.row, set()).add(step.system)
    for action in sorted({s.action for s in to_act} & set(NEEDS_TARGET)):
        if not targets_for(targets, action):
            raise InputError(f"no connected system can {action.replace('_', ' ')}: configure the Mailchimp connector")
    report = ApplyReport(plan_id, dry_run=not apply)
    runner = PlanRunner(store, policy, targets, plan_id, now, report)
    for r, s in pairs:
        if s.state == "done":
            report.already_done += 1
            continue
        if s.state in ("dropped", "kept"):
            continue
        if r.action == KEEP:
            report.kept += 1
            if apply:
                runner.keep(s)
            continue
        begun = s.row in started
        why = None if begun else _change_words(s, situations.get(s.contact_id))
        if why is not None:
            report.dropped.append({"row": s.row, "contact_id": s.contact_id, "action": s.action, "why": why})
            if apply:
                runner.drop(s, why)
            continue
        if not apply:
            report.would[s.action] += 1
            continue
        contact = contacts.get(s.contact_id) or TargetContact(s.contact_id, None)
        if runner.run(s, contact, started.get(s.row, set())):
            report.done[s.action] += 1
    return report
