"""What the store says about the audience: who may be pushed, what Mailchimp holds, what was pushed.

Read-only queries used by the push and the targets (connectors never write the store).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Integer, and_, case, func, select

from vwfund.identity import digest, email_hash
from vwfund.store.schema import consents, contacts, mailing_members, suppressions
from vwfund.sync import pushed_items

TARGET = "mailchimp"
MEMBERS_SCOPE = "members"
#: Push state of addresses Mailchimp refused as permanently deleted: never sent again.
FORGOTTEN_SCOPE = "forgotten"
#: Member statuses a tag can be given to.
TAGGABLE = frozenset({"subscribed", "pending", "transactional", "unsubscribed", "cleaned"})


@dataclass(frozen=True)
class Candidate:
    """A contact that may be a member: its fields as pushed, their digest, and its status in Mailchimp."""

    contact_id: int
    email: str
    email_hash: str
    first_name: str | None
    last_name: str | None
    language: str | None
    known_status: str | None
    held_digest: str | None = None

    @property
    def digest(self) -> str:
        """Hash of the fields as sent: unchanged members are not sent again (a new member, sent as subscribed,
        keeps its digest once a pull shows it subscribed)."""
        return digest(sorted(self.payload().items()))

    def payload(self) -> dict[str, object]:
        """The member as sent in a bulk upsert (only fields we hold, so nothing is blanked)."""
        merge = {k: v for k, v in (("FNAME", self.first_name), ("LNAME", self.last_name)) if v}
        body: dict[str, object] = {"email_address": self.email, "status": self.known_status or "subscribed"}
        if merge:
            body["merge_fields"] = merge
        if self.language:
            body["language"] = self.language
        return body


def consented_contact_ids(conn: Connection) -> set[int]:
    """Contacts whose latest email consent (by time) is granted (a withdrawal at the same time wins)."""
    latest = (
        select(consents.c.contact_id, func.max(consents.c.at).label("at"))
        .where((consents.c.channel == "email") & consents.c.contact_id.is_not(None))
        .group_by(consents.c.contact_id)
        .subquery()
    )
    granted_flag = func.min(case((consents.c.granted, 1), else_=0).cast(Integer))
    rows = conn.execute(
        select(consents.c.contact_id)
        .join(latest, and_(consents.c.contact_id == latest.c.contact_id, consents.c.at == latest.c.at))
        .where(consents.c.channel == "email")
        .group_by(consents.c.contact_id)
        .having(granted_flag == 1)
    )
    return {r.contact_id for r in rows}


def member_statuses(conn: Connection, list_id: str) -> dict[str, str]:
    """Email hash -> status of every member of the audience the store knows (from the last pull)."""
    rows = conn.execute(select(mailing_members.c.email_hash, mailing_members.c.status)
                        .where(mailing_members.c.audience == list_id))
    return {r.email_hash: r.status for r in rows}


def suppressed_hashes(conn: Connection) -> set[str]:
    """Hashes of erased or permanently deleted emails (the core suppression list)."""
    return set(conn.execute(select(suppressions.c.email_hash)).scalars())


def push_candidates(conn: Connection, list_id: str) -> list[Candidate]:
    """Contacts with granted email consent, not opted out, not suppressed, not erased, with an email."""
    allowed = consented_contact_ids(conn)
    if not allowed:
        return []
    blocked = suppressed_hashes(conn) | set(pushed_items(conn, TARGET, FORGOTTEN_SCOPE))
    held = held_members(conn, list_id)
    rows = conn.execute(
        select(contacts.c.id, contacts.c.email, contacts.c.first_name, contacts.c.last_name, contacts.c.language)
        .where(
            contacts.c.email.is_not(None) & ~contacts.c.is_opt_out & ~contacts.c.do_not_email
            & ~contacts.c.is_deleted & ~contacts.c.is_deceased & ~contacts.c.restricted
            & contacts.c.anonymised_at.is_(None)
        )
        .order_by(contacts.c.id)
    )
    found: list[Candidate] = []
    seen: set[str] = set()
    for r in rows:
        if r.id not in allowed:
            continue
        h = email_hash(r.email)
        if h in blocked or h in seen:
            continue
        seen.add(h)
        member = held.get(h)
        found.append(Candidate(r.id, r.email, h, r.first_name, r.last_name, r.language,
                               member.known_status if member else None, member.digest if member else None))
    return found


def held_members(conn: Connection, list_id: str) -> dict[str, Candidate]:
    """What Mailchimp held at the last pull, per email hash, in the shape of a pushed member."""
    rows = conn.execute(
        select(mailing_members.c.email_hash, mailing_members.c.email, mailing_members.c.status,
               mailing_members.c.first_name, mailing_members.c.last_name, mailing_members.c.language)
        .where(mailing_members.c.audience == list_id)
    )
    return {r.email_hash: Candidate(0, r.email or "", r.email_hash, r.first_name, r.last_name, r.language, r.status)
            for r in rows}


def taggable_hashes(conn: Connection, list_id: str, hashes: Iterable[str]) -> set[str]:
    """Which of these addresses are members (pulled, or pushed by us) and so can carry a tag."""
    wanted = set(hashes)
    statuses = member_statuses(conn, list_id)
    pushed = pushed_items(conn, TARGET, MEMBERS_SCOPE)
    return {h for h in wanted if statuses.get(h) in TAGGABLE or (h in pushed and h not in statuses)}
