"""What campaign jobs push to outside systems through: segment targets and privacy targets.

A connector offers these (``Connector.segment_target`` / ``Connector.privacy_target``); the segments
and GDPR jobs use them without knowing which system is behind. Contacts are passed as
:class:`TargetContact`: the store's id, the email, and the contact's id in each system.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, select

from vwfund.store.schema import contact_links, contacts
from vwfund.sync import PushOutcome

#: Actions a privacy target may support (see ``PrivacyTarget.supported_actions``).
ARCHIVE = "archive"
DELETE_PERMANENTLY = "delete_permanently"
ANONYMISE = "anonymise"
REMOVE_CONSENT = "remove_consent"


@dataclass(frozen=True)
class TargetContact:
    """A contact as a target needs it: store id, email, names, language, and ids per system."""

    contact_id: int
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    language: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionAnswer:
    """The outside system's answer to one action: ok, not found (already gone), and a short text."""

    ok: bool
    answer: str
    not_found: bool = False


class SegmentTarget(Protocol):
    """Holds segment memberships as tags or groups."""

    name: str

    def apply_segment(self, segment: str, add: Sequence[TargetContact], remove: Sequence[TargetContact]) -> PushOutcome:
        """Add and remove members; report the accepted ones as PushedItem(scope=segment, item=str(contact_id))."""
        ...


class PrivacyTarget(Protocol):
    """Carries out GDPR actions on one contact in one system."""

    name: str
    supported_actions: frozenset[str]

    def perform(self, action: str, contact: TargetContact) -> ActionAnswer:
        """Carry out one action; idempotent (an already-done action answers ok or not_found)."""
        ...

    def tag(self, contacts: Sequence[TargetContact], tag: str) -> PushOutcome:
        """Tag contacts (e.g. for a re-permission mailing)."""
        ...

    def export(self, contact: TargetContact) -> dict[str, Any]:
        """Everything this system holds about the contact (GDPR art. 15)."""
        ...


def target_contacts(conn: Connection, contact_ids: Sequence[int]) -> list[TargetContact]:
    """Load TargetContacts for store ids (in the given order; unknown ids are skipped)."""
    found: dict[int, TargetContact] = {}
    ids = list(contact_ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        links: dict[int, dict[str, str]] = {}
        for r in conn.execute(select(contact_links).where(contact_links.c.contact_id.in_(chunk))):
            links.setdefault(r.contact_id, {})[r.system] = r.external_id
        for r in conn.execute(select(contacts).where(contacts.c.id.in_(chunk))):
            found[r.id] = TargetContact(r.id, r.email, r.first_name, r.last_name, r.language, links.get(r.id, {}))
    return [found[i] for i in ids if i in found]
