"""Push members: contacts with email consent become audience members, 500 per ``POST /lists/{id}``.

Never resubscribing anyone is enforced in three places:

1. Only contacts with a granted latest email consent, not opted out, not suppressed (the core list of
   erased addresses) and not refused before as permanently deleted are read from the store.
2. Addresses the store knows as unsubscribed, cleaned or archived are never sent. Just before sending,
   the members changed in Mailchimp since the last pull are read again (usually one short page), so an
   unsubscribe of the last hours is seen too.
3. Addresses the store does not know are sent with ``update_existing: false``: if Mailchimp has them in any
   status, it refuses them (``ERROR_CONTACT_EXISTS``) and nothing changes. Only known, subscribed (or
   pending) members are sent with ``update_existing: true``, and with the status they already have.

Per-member errors are reported by email hash; transient ones are retried once, a permanently deleted
address is remembered in push state (scope ``forgotten``) so it is never sent again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from vwfund.connectors.mailchimp.audience import (
    FORGOTTEN_SCOPE,
    MEMBERS_SCOPE,
    TARGET,
    Candidate,
    push_candidates,
)
from vwfund.connectors.mailchimp.client import MailchimpClient, is_forgotten, scrub
from vwfund.connectors.mailchimp.mapping import NEVER_RESUBSCRIBE
from vwfund.connectors.mailchimp.pull import MEMBERS_STREAM, OVERLAP, iso
from vwfund.identity import email_hash
from vwfund.sync import Push, PushedItem, PushOutcome, load_cursor, pushed_items
from vwfund.timeutil import parse_instant

BULK_SIZE = 500
_TRANSIENT = ("try again", "temporarily", "timed out", "timeout", "unavailable")


@dataclass(frozen=True)
class MemberBatch:
    """Up to 500 members for one bulk call; ``update_existing`` only for members known as subscribed."""

    update_existing: bool
    members: tuple[Candidate, ...]
    since_pull: str | None = None


@dataclass
class FreshStatuses:
    """Statuses read from Mailchimp at push time (members changed since the last pull)."""

    loaded: bool = False
    by_hash: dict[str, str] = field(default_factory=dict)


def classify(candidate: Candidate, pushed: dict[str, str | None]) -> str:
    """``never_resubscribed`` (left or archived), ``unchanged`` (since the last push, or as last pulled),
    ``new`` or ``update``."""
    if candidate.known_status in NEVER_RESUBSCRIBE:
        return "never_resubscribed"
    if candidate.digest in (pushed.get(candidate.email_hash), candidate.held_digest):
        return "unchanged"
    return "new" if candidate.known_status is None else "update"


def plan_member_batches(conn: Connection, list_id: str) -> Iterator[MemberBatch]:
    """The member batches to send: changed or new candidates only, new ones apart from known ones."""
    pushed = pushed_items(conn, TARGET, MEMBERS_SCOPE)
    since_pull = load_cursor(conn, MEMBERS_STREAM)
    known: list[Candidate] = []
    new: list[Candidate] = []
    for c in push_candidates(conn, list_id):
        kind = classify(c, pushed)
        if kind == "new":
            new.append(c)
        elif kind == "update":
            known.append(c)
    for update, group in ((False, new), (True, known)):
        for i in range(0, len(group), BULK_SIZE):
            yield MemberBatch(update, tuple(group[i : i + BULK_SIZE]), since_pull)


class MemberSender:
    """Sends member batches and turns Mailchimp's answers into a PushOutcome."""

    def __init__(self, client: MailchimpClient, list_id: str) -> None:
        self.client = client
        self.list_id = list_id
        self.fresh = FreshStatuses()

    def refresh(self, since_pull: str | None) -> None:
        """Read the members changed since the last pull once per push (unsubscribes of the last hours)."""
        if self.fresh.loaded:
            return
        self.fresh.loaded = True
        if since_pull is None:
            return
        since = parse_instant(since_pull, "UTC") - OVERLAP
        params = {"since_last_changed": iso(since), "fields": "members.id,members.status,total_items"}
        for items, _ in self.client.pages(f"lists/{self.list_id}/members", "members", params):
            self.fresh.by_hash.update({str(m["id"]): str(m["status"]) for m in items if m.get("id")})

    def send(self, batch: MemberBatch) -> PushOutcome:
        """Send one batch (and its transient failures once more); never an unsubscribed member."""
        outcome = PushOutcome()
        self.refresh(batch.since_pull)
        members = []
        for c in batch.members:
            status = self.fresh.by_hash.get(c.email_hash, c.known_status)
            if status in NEVER_RESUBSCRIBE:
                outcome.counts[f"skipped_{status}"] += 1
                continue
            if status != c.known_status and c.known_status is not None:
                c = Candidate(c.contact_id, c.email, c.email_hash, c.first_name, c.last_name, c.language, status,
                              c.held_digest)
            members.append(c)
        retry = self._post(members, batch.update_existing, outcome, final=False)
        if retry:
            outcome.counts["retried"] += len(retry)
            self._post(retry, batch.update_existing, outcome, final=True)
        return outcome

    def _post(self, members: Sequence[Candidate], update: bool, outcome: PushOutcome, *, final: bool
              ) -> list[Candidate]:
        """One bulk call; returns the members to try again (transient errors), records the rest."""
        if not members:
            return []
        by_hash = {c.email_hash: c for c in members}
        answer = self.client.post(f"lists/{self.list_id}",
                                  {"members": [c.payload() for c in members], "update_existing": update})
        for kind in ("new_members", "updated_members"):
            for m in answer.get(kind) or []:
                h = str(m.get("id") or email_hash(str(m.get("email_address", ""))))
                if h in by_hash:
                    outcome.pushed.append(PushedItem(MEMBERS_SCOPE, h, by_hash[h].digest))
                    outcome.counts["created" if kind == "new_members" else "updated"] += 1
        retry: list[Candidate] = []
        for err in answer.get("errors") or []:
            h = email_hash(str(err.get("email_address", "")))
            message = str(err.get("error") or "")
            code = str(err.get("error_code") or "")
            if code == "ERROR_CONTACT_EXISTS":
                outcome.counts["already_member"] += 1  # in Mailchimp, not yet pulled: left exactly as it is
            elif is_forgotten(message):
                outcome.pushed.append(PushedItem(FORGOTTEN_SCOPE, h))
                outcome.counts["forgotten"] += 1
                outcome.errors.append(f"member {h}: permanently deleted in Mailchimp, so never added again; "
                                      "withdraw its email consent or suppress the address in the store")
            elif not final and h in by_hash and any(t in message.lower() for t in _TRANSIENT):
                retry.append(by_hash[h])
            else:
                outcome.counts["failed"] += 1
                field_note = f" ({err['field']}: {err.get('field_message', '')})" if err.get("field") else ""
                outcome.errors.append(f"member {h}: {scrub(message)}{field_note}")
        return retry


def member_push(client: MailchimpClient, list_id: str) -> Push:
    """The ``mailchimp.members`` push."""
    sender = MemberSender(client, list_id)
    return Push("mailchimp.members", TARGET, lambda conn: plan_member_batches(conn, list_id), sender.send)


def summarise_push(conn: Connection, list_id: str) -> dict[str, int]:
    """What the next member push would do, without sending anything: counts per kind of member."""
    pushed = pushed_items(conn, TARGET, MEMBERS_SCOPE)
    summary = {"new": 0, "update": 0, "unchanged": 0, "never_resubscribed": 0}
    for c in push_candidates(conn, list_id):
        summary[classify(c, pushed)] += 1
    summary["forgotten"] = len(pushed_items(conn, TARGET, FORGOTTEN_SCOPE))
    return summary
