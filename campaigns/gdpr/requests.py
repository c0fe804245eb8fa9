"""Requests of one person: erasure (art. 17) and access (art. 15), everywhere vwfund reaches.

Logs and audit entries name contacts by id and emails by hash only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from vwfund.campaigns.gdpr import erasure
from vwfund.campaigns.gdpr.holds import open_holds
from vwfund.campaigns.gdpr.policy import Policy
from vwfund.campaigns.gdpr.rules import ANONYMISE, DELETE_PERMANENTLY, REMOVE_CONSENT
from vwfund.campaigns.gdpr.steps import STORE, Audit, answer_digest, audit, perform, writing_run
from vwfund.errors import InputError, VwfundError
from vwfund.identity import email_hash, normalise_email
from vwfund.store.contacts import contacts_by_email, is_suppressed, suppress
from vwfund.store.database import Store
from vwfund.store.schema import (
    audit_log,
    consents,
    contact_links,
    contacts,
    donations,
    engagement_events,
    mailing_members,
    recurring_plans,
)
from vwfund.targets import PrivacyTarget, TargetContact, target_contacts
from vwfund.timeutil import utcnow

#: The strongest action first: what ``forget`` asks of each system.
ERASURE_PREFERENCE = (DELETE_PERMANENTLY, ANONYMISE, REMOVE_CONSENT)


def _email(text: str) -> str:
    email = normalise_email(text)
    if email is None:
        raise InputError("an email address is needed")
    return email


def person_contact_ids(conn: Connection, email: str) -> list[int]:
    """Every contact the store holds for an email: by the contact's email or a newsletter membership."""
    ids = set(contacts_by_email(conn, email))
    ids |= {
        i for i in conn.execute(select(mailing_members.c.contact_id).where(
            mailing_members.c.email_hash == email_hash(email))).scalars() if i is not None
    }
    return sorted(ids)


def erasure_action(target: PrivacyTarget) -> str | None:
    """The strongest erasure a system supports."""
    return next((a for a in ERASURE_PREFERENCE if a in target.supported_actions), None)


@dataclass
class ForgetReport:
    """What an erasure request did (or would do) where."""

    email_hash: str
    dry_run: bool
    contacts: list[dict[str, Any]] = field(default_factory=list)
    systems: list[dict[str, Any]] = field(default_factory=list)
    suppressed: bool = False
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe report (email hash and contact ids only)."""
        return {"email_hash": self.email_hash, "dry_run": self.dry_run, "contacts": self.contacts,
                "systems": self.systems, "suppressed": self.suppressed, "errors": self.errors}


def forget_person(
    store: Store, policy: Policy, targets: Sequence[PrivacyTarget], email_text: str, *, apply: bool = False,
    now: datetime | None = None,
) -> ForgetReport:
    """Erase a person everywhere (anonymise and restrict where gifts are inside retention); dry run unless apply.

    The outside systems go first; the store is changed only when every system answered, so a re-run can
    finish an interrupted request. The email is added to the suppression list.
    """
    with writing_run(store, apply):
        return _forget(store, policy, targets, email_text, apply, now or utcnow())


def _forget(
    store: Store, policy: Policy, targets: Sequence[PrivacyTarget], email_text: str, apply: bool, now: datetime,
) -> ForgetReport:
    email = _email(email_text)
    cutoff = policy.retention_cutoff(now)
    report = ForgetReport(email_hash(email), dry_run=not apply)
    with store.read() as conn:
        ids = person_contact_ids(conn, email)
        holds = open_holds(conn, ids) if ids else []
        people = target_contacts(conn, ids) or [TargetContact(0, email)]
        kept = {i: erasure.gifts_in_retention(conn, i, cutoff) for i in ids}
    if holds:
        raise InputError(
            f"contact {holds[0]['contact_id']} has an open erasure hold ({holds[0]['reason']}): "
            "close it with `vwfund gdpr release` before erasing"
        )
    for i in ids:
        report.contacts.append({"contact_id": i, "outcome": "anonymised" if kept[i] else "erased",
                                "gifts_kept_for_retention": kept[i]})
    who = Audit(policy.steward, {"request": "art17", "email_hash": report.email_hash})
    for target in targets:
        action = erasure_action(target)
        if action is None:
            continue
        for person in people:
            entry = {"system": target.name, "action": action, "contact_id": person.contact_id or None}
            report.systems.append(entry)
            if not apply:
                continue
            answer = perform(target, action, person)
            entry["answer"] = answer.answer
            entry["ok"] = answer.ok or answer.not_found
            with store.begin() as conn:
                audit(conn, who, f"forget.{action}", person.contact_id or None, rule="art17", system=target.name,
                      after=answer_digest(target.name, action, answer), answer=answer.answer)
            if not entry["ok"]:
                report.errors.append(f"{target.name}: {answer.answer}")
    if not apply or report.errors:
        if report.errors:
            report.errors.append("the store was not changed: run the request again once every system answers")
        return report
    with store.begin() as conn:
        for item in report.contacts:
            before = erasure.contact_digest(conn, item["contact_id"])
            outcome = erasure.erase_contact(conn, item["contact_id"], now, cutoff)
            audit(conn, who, "forget", item["contact_id"], rule="art17", system=STORE, before=before,
                  after=erasure.contact_digest(conn, item["contact_id"]), answer=outcome)
        erasure.forget_memberships_by_email(conn, email)
        suppress(conn, email, "gdpr-erasure")
    report.suppressed = True
    return report


def _rows(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query)]


def export_person(store: Store, targets: Sequence[PrivacyTarget], email_text: str, actor: str) -> dict[str, Any]:
    """Everything held about a person (art. 15): the store's records and every system's export."""
    email = _email(email_text)
    h = email_hash(email)
    with store.read() as conn:
        ids = person_contact_ids(conn, email)
        people = target_contacts(conn, ids)
        document: dict[str, Any] = {
            "email": email,
            "exported_at": utcnow(),
            "suppressed": is_suppressed(conn, email),
            "contacts": _rows(conn, select(contacts).where(contacts.c.id.in_(ids)).order_by(contacts.c.id)),
            "links": _rows(conn, select(contact_links).where(contact_links.c.contact_id.in_(ids))),
            "consents": _rows(conn, select(consents).where(consents.c.contact_id.in_(ids)).order_by(consents.c.at)),
            "donations": _rows(conn, select(donations).where(donations.c.contact_id.in_(ids))
                               .order_by(donations.c.received_at)),
            "recurring_plans": _rows(conn, select(recurring_plans).where(recurring_plans.c.contact_id.in_(ids))),
            "newsletter": _rows(conn, select(mailing_members).where(
                or_(mailing_members.c.email_hash == h, mailing_members.c.contact_id.in_(ids)))),
            "engagement": _rows(conn, select(engagement_events).where(engagement_events.c.email_hash == h)
                                .order_by(engagement_events.c.at)),
            "audit": _rows(conn, select(audit_log).where(audit_log.c.contact_id.in_(ids)).order_by(audit_log.c.id)),
        }
    systems: dict[str, Any] = {}
    for target in targets:
        for person in people or [TargetContact(0, email)]:
            try:
                systems.setdefault(target.name, []).append(target.export(person))
            except VwfundError as exc:
                systems.setdefault(target.name, []).append({"error": str(exc)})
    document["systems"] = systems
    with store.begin() as conn:
        subjects: list[int | None] = [*ids] or [None]
        for i in subjects:
            audit(conn, Audit(actor, {"request": "art15", "email_hash": h}), "export", i, rule="art15",
                  answer="exported")
    return document


def audit_trail(store: Store, since: datetime | None = None) -> list[dict[str, Any]]:
    """The GDPR audit entries (oldest first), optionally from ``since``."""
    query = select(audit_log).where(audit_log.c.action.like("gdpr.%")).order_by(audit_log.c.id)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    with store.read() as conn:
        return _rows(conn, query)
