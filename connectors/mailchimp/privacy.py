"""GDPR actions in Mailchimp for the GDPR job: archive, permanent delete, consent removal, tags, export.

Each action is idempotent: a member that is already gone answers 404, reported as ``not_found`` (ok).
A permanent delete cannot be undone and blocks the address from being added again; the GDPR job keeps
the address in the core suppression list, which every push respects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vwfund.connectors.mailchimp.client import MailchimpClient
from vwfund.connectors.mailchimp.tags import Tagger
from vwfund.errors import InputError, RemoteError
from vwfund.identity import email_hash
from vwfund.sync import PushOutcome
from vwfund.targets import ARCHIVE, DELETE_PERMANENTLY, REMOVE_CONSENT, ActionAnswer, TargetContact

ACTIONS = frozenset({ARCHIVE, DELETE_PERMANENTLY, REMOVE_CONSENT})


def member_hash(contact: TargetContact) -> str | None:
    """The contact's member id: its Mailchimp link, else the hash of its email."""
    linked = contact.external_ids.get("mailchimp")
    if linked:
        return linked
    return email_hash(contact.email) if contact.email else None


@dataclass
class MailchimpPrivacyTarget:
    """Carries out GDPR actions on members of the configured audience (a PrivacyTarget)."""

    client: MailchimpClient
    list_id: str
    tagger: Tagger
    name: str = "mailchimp"
    supported_actions: frozenset[str] = ACTIONS

    def perform(self, action: str, contact: TargetContact) -> ActionAnswer:
        """Archive (DELETE), delete permanently, or unsubscribe with every marketing permission off."""
        if action not in ACTIONS:
            raise InputError(f"Mailchimp cannot {action!r}: it supports {', '.join(sorted(ACTIONS))}")
        h = member_hash(contact)
        if h is None:
            return ActionAnswer(True, "no email address: not in Mailchimp", not_found=True)
        path = f"lists/{self.list_id}/members/{h}"
        if action == ARCHIVE:
            answer = self.client.request("DELETE", path, missing_ok=True)
            return _answer(answer, f"member {h} archived")
        if action == DELETE_PERMANENTLY:
            answer = self.client.request("POST", f"{path}/actions/delete-permanent", missing_ok=True)
            return _answer(answer, f"member {h} permanently deleted")
        member = self.client.request("GET", path, missing_ok=True)
        if member is None:
            return _answer(None, "")
        body: dict[str, Any] = {"marketing_permissions": [
            {"marketing_permission_id": p["marketing_permission_id"], "enabled": False}
            for p in member.get("marketing_permissions") or [] if p.get("marketing_permission_id")]}
        if member.get("status") in ("subscribed", "pending"):
            body["status"] = "unsubscribed"
        if len(body) == 1 and not body["marketing_permissions"]:
            return ActionAnswer(True, f"member {h} holds no consent (status {member.get('status')})")
        self.client.request("PATCH", path, body=body)
        return ActionAnswer(True, f"member {h} unsubscribed, marketing permissions off")

    def tag(self, contacts: Sequence[TargetContact], tag: str) -> PushOutcome:
        """Tag members (for a re-permission mailing); accepted ones are reported by contact id."""
        return self.tagger.change(tag, f"tag:{tag}", contacts, ())

    def export(self, contact: TargetContact) -> dict[str, Any]:
        """What Mailchimp holds on the member: profile, status, consent, tags, and its last 50 events."""
        h = member_hash(contact)
        if h is None:
            return {"system": "mailchimp", "found": False}
        path = f"lists/{self.list_id}/members/{h}"
        member = self.client.request("GET", path, missing_ok=True)
        if member is None:
            return {"system": "mailchimp", "audience": self.list_id, "found": False}
        activity = self.client.request("GET", f"{path}/activity", missing_ok=True) or {}
        keep = ("id", "email_address", "status", "merge_fields", "language", "timestamp_signup", "ip_signup",
                "timestamp_opt", "ip_opt", "last_changed", "member_rating", "stats", "location",
                "marketing_permissions", "tags", "vip", "email_client", "source")
        return {"system": "mailchimp", "audience": self.list_id, "found": True,
                "member": {k: member[k] for k in keep if k in member},
                "activity": list(activity.get("activity") or [])}


def _answer(answer: Any, done: str) -> ActionAnswer:
    if answer is None:
        return ActionAnswer(True, "not in Mailchimp (already removed)", not_found=True)
    if not isinstance(answer, dict):
        raise RemoteError("Mailchimp gave an unexpected answer")
    return ActionAnswer(True, done)
