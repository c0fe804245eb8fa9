"""Carrying out one action in one outside system, and recording it: the audit entry and the step's state
are committed in one transaction, after the system answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from vwfund.errors import VwfundError
from vwfund.identity import digest
from vwfund.models import AuditEntry
from vwfund.store.database import Store
from vwfund.store.records import write_audit
from vwfund.targets import ActionAnswer, PrivacyTarget, TargetContact
from vwfund.timeutil import utcnow

if TYPE_CHECKING:
    from vwfund.app import App

STORE = "store"
#: The lock every writing GDPR run holds (apply, re-permission, forget): one at a time.
LOCK = "gdpr"


def writing_run(store: Store, apply: bool) -> AbstractContextManager[None]:
    """The GDPR lock for a run that writes; nothing for a dry run."""
    return store.lock(LOCK) if apply else nullcontext()


def privacy_targets(app: App) -> list[PrivacyTarget]:
    """The privacy targets of every configured connector."""
    found: list[PrivacyTarget] = []
    for connector in app.connectors.values():
        if not connector.is_configured(app.config):
            continue
        target = connector.privacy_target(app)
        if target is not None:
            found.append(target)
    return found


def targets_for(targets: Sequence[PrivacyTarget], action: str) -> list[PrivacyTarget]:
    """The targets that support an action."""
    return [t for t in targets if action in t.supported_actions]


def perform(target: PrivacyTarget, action: str, contact: TargetContact) -> ActionAnswer:
    """Ask a system to carry out an action; an error it reports (RemoteError, ...) becomes a failed answer."""
    try:
        return target.perform(action, contact)
    except VwfundError as exc:
        return ActionAnswer(ok=False, answer=str(exc))


@dataclass(frozen=True)
class Audit:
    """Who does what under which rule: the fixed part of every audit entry of one run."""

    actor: str
    details: dict[str, Any]


def audit(
    conn: Connection, who: Audit, action: str, contact_id: int | None, *, rule: str | None = None,
    system: str | None = None, before: str | None = None, after: str | None = None, answer: str | None = None,
    **details: Any,
) -> None:
    """Write one audit entry (in the caller's transaction)."""
    write_audit(conn, AuditEntry(
        at=utcnow(), actor=who.actor, action=f"gdpr.{action}", contact_id=contact_id, rule=rule, system=system,
        before_digest=before, after_digest=after, answer=(answer or "")[:2000] or None,
        details={**who.details, **details},
    ))


def answer_digest(system: str, action: str, answer: ActionAnswer) -> str:
    """The after-digest of an outside step: what the system answered."""
    return digest(system, action, answer.ok, answer.not_found, answer.answer)
