"""Segments as CiviCRM groups: one group per segment, members added and removed since the last push.

The group's machine name is ``<group_prefix><segment>`` (letters, digits and ``_``), its title
``vwfund segment: <segment>``. Members are added with ``GroupContact.save`` (matched on group and contact,
status Added) and removed with ``GroupContact.update`` (status Removed, CiviCRM's history is kept), both in
one multi-call request. Store contacts not in CiviCRM are counted and not created: a segment never
creates contacts; they are tried again next push.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from vwfund.connectors.civicrm.client import CallError, CiviClient
from vwfund.connectors.civicrm.contacts import Person, resolve_contacts
from vwfund.store.schema import segment_members, segment_runs
from vwfund.sync import PushedItem, PushOutcome, pushed_items
from vwfund.targets import TargetContact, target_contacts

TARGET = "civicrm"


def scope_of(segment: str) -> str:
    """The push-state scope of a segment."""
    return f"segment:{segment}"


def person_of(contact: TargetContact) -> Person:
    """A TargetContact as the contact resolver takes it."""
    known = contact.external_ids.get("civicrm")
    return Person(contact.contact_id, contact.email, contact.first_name, contact.last_name,
                  civi_id=int(known) if known and known.isdigit() else None)


def civi_ids(
    client: CiviClient, contacts: Sequence[TargetContact], outcome: PushOutcome, trashed: bool = False
) -> dict[int, int]:
    """CiviCRM ids of the contacts that are in CiviCRM (never creating any); errors go to ``outcome``."""
    resolved = resolve_contacts(client, [person_of(c) for c in contacts], create=False, trashed=trashed)
    outcome.errors += resolved.errors
    outcome.pushed += resolved.pushed
    ids: dict[int, int] = resolved.ids
    return ids


class CiviSegmentTarget:
    """Keeps a CiviCRM group per segment."""

    name = "civicrm"

    def __init__(self, client: CiviClient, prefix: str = "vwfund_") -> None:
        self.client = client
        self.prefix = prefix
        self._groups: dict[str, int] = {}

    def group_id(self, segment: str) -> int:
        """The id of the segment's group, created when missing."""
        name = (self.prefix + re.sub(r"[^A-Za-z0-9_]+", "_", segment))[:64]
        if name not in self._groups:
            rows = self.client.get("Group", {"select": ["id"], "where": [["name", "=", name]]})
            if rows:
                self._groups[name] = int(rows[0]["id"])
            else:
                created = self.client.call("Group", "create", {"values": {
                    "name": name, "title": f"vwfund segment: {segment}"[:255], "is_active": True,
                    "description": "Kept by vwfund from its segment of the same name; edits here are overwritten."}})
                self._groups[name] = int(created["values"][0]["id"])
        return self._groups[name]

    def apply_segment(
        self, segment: str, add: Sequence[TargetContact], remove: Sequence[TargetContact]
    ) -> PushOutcome:
        """Add and remove members; report them as PushedItem(scope=segment:<name>, item=store contact id)."""
        outcome = PushOutcome()
        scope = scope_of(segment)
        group = self.group_id(segment)
        ids = civi_ids(self.client, [*add, *remove], outcome)
        adds = [c for c in add if c.contact_id in ids]
        outcome.counts["not_in_civicrm"] += len(add) - len(adds)
        removes = [c for c in remove if c.contact_id in ids]
        calls: dict[str, tuple[str, str, dict[str, Any]]] = {}
        if adds:
            calls["add"] = ("GroupContact", "save", {"match": ["group_id", "contact_id"], "records": [
                {"group_id": group, "contact_id": ids[c.contact_id], "status": "Added"} for c in adds]})
        if removes:
            calls["remove"] = ("GroupContact", "update", {"values": {"status": "Removed"}, "where": [
                ["group_id", "=", group], ["contact_id", "IN", [ids[c.contact_id] for c in removes]]]})
        answers = self.client.multi(calls)
        for key, members, removed in (("add", adds, False), ("remove", removes, True)):
            answer = answers.get(key)
            if isinstance(answer, CallError):
                outcome.errors.append(answer.describe(f"{key} members of group {group} (segment {segment})"))
                continue
            outcome.counts["added" if not removed else "removed"] += len(members)
            outcome.pushed += [PushedItem(scope, str(c.contact_id), removed=removed) for c in members]
        # Contacts to remove that CiviCRM never had: nothing to do there, forget them here.
        outcome.pushed += [PushedItem(scope, str(c.contact_id), removed=True) for c in remove
                           if c.contact_id not in ids]
        return outcome


@dataclass(frozen=True)
class SegmentBatch:
    """Members to add to and remove from one segment's group."""

    segment: str
    add: list[TargetContact]
    remove: list[TargetContact]


def plan_segment_batches(conn: Connection, batch_size: int) -> Iterator[SegmentBatch]:
    """The latest run of every segment against what was pushed: batches of additions and removals."""
    latest = conn.execute(select(segment_runs.c.name, func.max(segment_runs.c.id).label("run_id"))
                          .group_by(segment_runs.c.name).order_by(segment_runs.c.name)).all()
    for name, run_id in latest:
        members = {str(r.contact_id) for r in conn.execute(
            select(segment_members.c.contact_id).where(segment_members.c.run_id == run_id))}
        pushed = set(pushed_items(conn, TARGET, scope_of(name)))
        add = sorted(int(c) for c in members - pushed)
        remove = sorted(int(c) for c in pushed - members)
        for i in range(0, max(len(add), len(remove)), batch_size):
            add_part = target_contacts(conn, add[i : i + batch_size])
            remove_ids = remove[i : i + batch_size]
            known = {c.contact_id for c in target_contacts(conn, remove_ids)}
            remove_part = target_contacts(conn, remove_ids) + [TargetContact(c, None) for c in remove_ids
                                                               if c not in known]
            yield SegmentBatch(name, add_part, remove_part)
