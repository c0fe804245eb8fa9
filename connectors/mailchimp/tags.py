"""Segments as tags: a tag is a static segment in Mailchimp, changed for 500 members per call.

``POST /lists/{id}/segments/{segment_id}`` adds and removes up to 500 addresses each per call, so a segment
of N members costs about N/500 calls instead of one call per member. The segments job calls
:meth:`MailchimpSegmentTarget.apply_segment`; ``vwfund push mailchimp`` pushes the latest run of every
segment through the same function and the same push state (scope ``segment:NAME``, item = contact id).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from vwfund.connectors.mailchimp.audience import TARGET, taggable_hashes
from vwfund.connectors.mailchimp.client import MailchimpClient, scrub
from vwfund.identity import email_hash
from vwfund.store.database import Store
from vwfund.store.schema import segment_members, segment_runs
from vwfund.sync import Push, PushedItem, PushOutcome, pushed_items
from vwfund.targets import TargetContact, target_contacts

CHUNK = 500


def segment_scope(segment: str) -> str:
    """The push-state scope of a segment's tag."""
    return f"segment:{segment}"


class Tagger:
    """Sets one tag on many members through the tag's static segment (created when missing)."""

    def __init__(self, client: MailchimpClient, list_id: str) -> None:
        self.client = client
        self.list_id = list_id
        self._ids: dict[str, int] | None = None

    def segment_id(self, tag: str) -> int:
        """The id of the static segment behind a tag, creating it the first time."""
        if self._ids is None:
            self._ids = {}
            for items, _ in self.client.pages(f"lists/{self.list_id}/segments", "segments", {"type": "static"}):
                self._ids.update({str(s["name"]): int(s["id"]) for s in items})
        if tag not in self._ids:
            created = self.client.post(f"lists/{self.list_id}/segments", {"name": tag, "static_segment": []})
            self._ids[tag] = int(created["id"])
        return self._ids[tag]

    def change(self, tag: str, scope: str, add: Sequence[TargetContact], remove: Sequence[TargetContact]
               ) -> PushOutcome:
        """Make ``add`` carry the tag and ``remove`` not; accepted ones become PushedItems of ``scope``."""
        outcome = PushOutcome()
        adds = [c for c in add if c.email]
        removes = [c for c in remove if c.email]
        outcome.counts["no_email"] += len(add) + len(remove) - len(adds) - len(removes)
        for c in remove:  # nothing to remove in Mailchimp without an address: the tag cannot be there
            if not c.email:
                outcome.pushed.append(PushedItem(scope, str(c.contact_id), removed=True))
        if not adds and not removes:
            return outcome
        sid = self.segment_id(tag)
        for i in range(0, max(len(adds), len(removes)), CHUNK):
            self._send(sid, scope, adds[i : i + CHUNK], removes[i : i + CHUNK], outcome)
        return outcome

    def _send(self, sid: int, scope: str, adds: Sequence[TargetContact], removes: Sequence[TargetContact],
              outcome: PushOutcome) -> None:
        ids: dict[str, list[int]] = {}
        for c in [*adds, *removes]:
            ids.setdefault(email_hash(c.email or ""), []).append(c.contact_id)
        answer = self.client.post(f"lists/{self.list_id}/segments/{sid}", {
            "members_to_add": [c.email for c in adds], "members_to_remove": [c.email for c in removes]})
        for key, removed in (("members_added", False), ("members_removed", True)):
            for m in answer.get(key) or []:
                for cid in ids.get(str(m.get("id") or email_hash(str(m.get("email_address", "")))), []):
                    outcome.pushed.append(PushedItem(scope, str(cid), removed=removed))
                outcome.counts["tag_removed" if removed else "tag_added"] += 1
        removing = {email_hash(c.email or "") for c in removes}
        for err in answer.get("errors") or []:
            for email in err.get("email_addresses") or []:
                h = email_hash(str(email))
                if h in removing:  # not a member: it does not carry the tag, which is what we wanted
                    outcome.pushed += [PushedItem(scope, str(cid), removed=True) for cid in ids.get(h, [])]
                    outcome.counts["tag_removed"] += 1
                else:
                    outcome.counts["tag_failed"] += 1
                    outcome.errors.append(f"member {h}: tag not set: {scrub(str(err.get('error', '')))}")


@dataclass
class MailchimpSegmentTarget:
    """Segments as tags in the configured audience (a SegmentTarget)."""

    store: Store
    tagger: Tagger
    name: str = "mailchimp"

    def apply_segment(self, segment: str, add: Sequence[TargetContact], remove: Sequence[TargetContact]
                      ) -> PushOutcome:
        """Tag the added contacts that are members, untag the removed ones; report by contact id."""
        with self.store.read() as conn:
            members = taggable_hashes(conn, self.tagger.list_id, [email_hash(c.email) for c in add if c.email])
        taggable = [c for c in add if c.email and email_hash(c.email) in members]
        outcome = self.tagger.change(segment, segment_scope(segment), taggable, remove)
        outcome.counts["not_member"] += len([c for c in add if c.email]) - len(taggable)
        return outcome


@dataclass(frozen=True)
class SegmentChange:
    """One segment's tag changes since the last push (at most 500 adds and 500 removes)."""

    segment: str
    add: tuple[TargetContact, ...]
    remove: tuple[TargetContact, ...]


def latest_segment_runs(conn: Connection) -> dict[str, int]:
    """Segment name -> id of its latest run."""
    rows = conn.execute(select(segment_runs.c.name, func.max(segment_runs.c.id)).group_by(segment_runs.c.name))
    return {name: int(run_id) for name, run_id in rows}


def plan_segment_changes(conn: Connection, list_id: str) -> Iterator[SegmentChange]:
    """Per segment: members of its latest run not yet tagged (and members), and tagged ones no longer in it."""
    for segment, run_id in sorted(latest_segment_runs(conn).items()):
        wanted = {str(r) for r in conn.execute(
            select(segment_members.c.contact_id).where(segment_members.c.run_id == run_id)).scalars()}
        tagged = set(pushed_items(conn, TARGET, segment_scope(segment)))
        add = target_contacts(conn, sorted(int(i) for i in wanted - tagged))
        members = taggable_hashes(conn, list_id, [email_hash(c.email) for c in add if c.email])
        add = [c for c in add if c.email and email_hash(c.email) in members]
        remove_ids = sorted(int(i) for i in tagged - wanted)
        found = target_contacts(conn, remove_ids)
        gone = {c.contact_id for c in found}
        remove = found + [TargetContact(i, None) for i in remove_ids if i not in gone]
        for i in range(0, max(len(add), len(remove)), CHUNK):
            yield SegmentChange(segment, tuple(add[i : i + CHUNK]), tuple(remove[i : i + CHUNK]))


def segment_push(tagger: Tagger) -> Push:
    """The ``mailchimp.segments`` push: the latest run of every segment, as tags."""

    def send(change: SegmentChange) -> PushOutcome:
        return tagger.change(change.segment, segment_scope(change.segment), change.add, change.remove)

    return Push("mailchimp.segments", TARGET, lambda conn: plan_segment_changes(conn, tagger.list_id), send)
