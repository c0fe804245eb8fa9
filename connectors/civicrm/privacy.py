"""GDPR actions in CiviCRM: anonymise, remove consent, tag, and export what CiviCRM holds about a person.

Anonymise keeps the contact and its contributions (fiscal retention: 7 years in the Netherlands, up to 10
in Belgium; GDPR art. 17(3)(b)) but blanks names, deletes emails, phones, addresses, IMs and websites,
blanks the contact's notes and the details of its activities, and sets every privacy flag. Running it
again changes nothing more (idempotent). A contact that cannot be found answers ``not_found``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vwfund.connectors.civicrm.client import CallError, CiviClient
from vwfund.connectors.civicrm.segments import civi_ids
from vwfund.sync import PushedItem, PushOutcome
from vwfund.targets import ANONYMISE, REMOVE_CONSENT, ActionAnswer, TargetContact

ANONYMOUS_NAME = "Anonymised"
PRIVACY_FLAGS = ("do_not_email", "do_not_mail", "do_not_phone", "do_not_sms", "do_not_trade", "is_opt_out")
BLANKED_CONTACT = {"first_name": "", "middle_name": "", "last_name": "", "nick_name": "", "legal_name": "",
                   "job_title": "", "birth_date": None, "preferred_language": None, "image_URL": None,
                   "display_name": ANONYMOUS_NAME, "sort_name": ANONYMOUS_NAME, "external_identifier": None}
DELETED_DETAILS = ("Email", "Phone", "Address", "IM", "Website")


class CiviPrivacyTarget:
    """Carries out GDPR actions on one CiviCRM contact."""

    name = "civicrm"
    supported_actions = frozenset({ANONYMISE, REMOVE_CONSENT})

    def __init__(self, client: CiviClient) -> None:
        self.client = client

    def find(self, contact: TargetContact) -> tuple[int | None, str | None]:
        """The contact's CiviCRM id (link, else email; trashed contacts included); or why it cannot be told."""
        outcome = PushOutcome()
        ids = civi_ids(self.client, [contact], outcome, trashed=True)
        return ids.get(contact.contact_id), "; ".join(outcome.errors) or None

    def perform(self, action: str, contact: TargetContact) -> ActionAnswer:
        """Anonymise, or remove consent; idempotent."""
        if action not in self.supported_actions:
            return ActionAnswer(False, f"CiviCRM does not support {action!r} here")
        civi_id, problem = self.find(contact)
        if problem:
            return ActionAnswer(False, problem)
        if civi_id is None:
            return ActionAnswer(True, "no CiviCRM contact", not_found=True)
        flags = dict.fromkeys(PRIVACY_FLAGS, True)
        if action == REMOVE_CONSENT:
            self.client.call("Contact", "update", {"where": [["id", "=", civi_id]],
                                                   "values": {"is_opt_out": True, "do_not_email": True}})
            return ActionAnswer(True, f"CiviCRM contact {civi_id}: opted out of email")
        activities = [int(r["activity_id"]) for r in self.client.get(
            "ActivityContact", {"select": ["activity_id"], "where": [["contact_id", "=", civi_id]]})]
        calls: dict[str, tuple[str, str, dict[str, Any]]] = {
            "contact": ("Contact", "update", {"where": [["id", "=", civi_id]],
                                              "values": {**BLANKED_CONTACT, **flags}}),
            "notes": ("Note", "update", {"where": [["entity_table", "=", "civicrm_contact"],
                                                   ["entity_id", "=", civi_id]],
                                         "values": {"subject": "", "note": ""}}),
        }
        for entity in DELETED_DETAILS:
            calls[entity] = (entity, "delete", {"where": [["contact_id", "=", civi_id]]})
        if activities:
            calls["activities"] = ("Activity", "update", {"where": [["id", "IN", sorted(set(activities))]],
                                                          "values": {"details": "", "location": ""}})
        failed = [answer.describe(f"{name} of contact {civi_id}") for name, answer in self.client.multi(calls).items()
                  if isinstance(answer, CallError)]
        if failed:
            return ActionAnswer(False, "; ".join(failed))
        return ActionAnswer(True, f"CiviCRM contact {civi_id}: anonymised ({len(set(activities))} activities "
                                  "blanked, contributions kept)")

    def tag(self, contacts: Sequence[TargetContact], tag: str) -> PushOutcome:
        """Tag contacts (EntityTag on a Tag of that name, created when missing); never creates contacts."""
        outcome = PushOutcome()
        ids = civi_ids(self.client, contacts, outcome)
        if not ids:
            return outcome
        rows = self.client.get("Tag", {"select": ["id"], "where": [["name", "=", tag]]})
        tag_id = int(rows[0]["id"]) if rows else int(self.client.call("Tag", "create", {"values": {
            "name": tag, "used_for": ["civicrm_contact"]}})["values"][0]["id"])
        have = {int(r["entity_id"]) for r in self.client.get("EntityTag", {"select": ["entity_id"], "where": [
            ["tag_id", "=", tag_id], ["entity_table", "=", "civicrm_contact"],
            ["entity_id", "IN", sorted(ids.values())]]})}
        new = [{"tag_id": tag_id, "entity_table": "civicrm_contact", "entity_id": c}
               for c in sorted(set(ids.values()) - have)]
        if new:
            self.client.call("EntityTag", "save", {"records": new})
        outcome.counts["tagged"] += len(new)
        outcome.pushed += [PushedItem(f"tag:{tag}", str(c)) for c in sorted(ids)]
        return outcome

    def export(self, contact: TargetContact) -> dict[str, Any]:
        """What CiviCRM holds about the contact: the contact, emails, phones, addresses, contributions, activities."""
        civi_id, problem = self.find(contact)
        if civi_id is None:
            return {"system": "civicrm", "found": False, "problem": problem}
        mine = [["contact_id", "=", civi_id]]
        found = self.client.multi_strict({
            "contact": ("Contact", "get", {"where": [["id", "=", civi_id], ["is_deleted", "IN", [True, False]]]}),
            "emails": ("Email", "get", {"where": mine}),
            "phones": ("Phone", "get", {"where": mine}),
            "addresses": ("Address", "get", {"where": mine}),
            "contributions": ("Contribution", "get", {"where": mine, "select": [
                "id", "receive_date", "total_amount", "fee_amount", "currency", "contribution_status_id:name",
                "financial_type_id:name", "source", "trxn_id"]}),
            "activities": ("ActivityContact", "get", {"where": mine, "select": [
                "activity_id", "activity_id.subject", "activity_id.activity_date_time", "activity_id.details"]}),
        })
        return {"system": "civicrm", "found": True, "contact_id": civi_id,
                "contact": found["contact"][0] if found["contact"] else None,
                **{k: v for k, v in found.items() if k != "contact"}}
