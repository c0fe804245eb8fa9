"""Finding (or creating) the CiviCRM contact of a store contact, a batch at a time.

Order: the link the store already knows (``contact_links`` system ``civicrm``, or a contact an earlier
push created or found, kept in push state scope ``contact``), then a contact our push created
(``external_identifier`` ``vwfund-<store id>``), then the email (an ``Email.get`` of the whole batch, trashed
contacts left out: CiviCRM's unsupervised rule matches on email alone). Known ids are checked in the same
single read of the batch: a contact trashed or merged away in CiviCRM since is looked up again. One email on
several CiviCRM
contacts is reported by store id and CiviCRM ids, never by the email, and that record is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from vwfund.connectors.civicrm.client import CallError, CiviClient
from vwfund.store.schema import contact_links, contacts, push_state
from vwfund.sync import PushedItem

TARGET = "civicrm"
CONTACT_SCOPE = "contact"
EXTERNAL_PREFIX = "vwfund-"


@dataclass(frozen=True)
class Person:
    """A store contact as the push needs it."""

    contact_id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    organisation: bool = False
    do_not_email: bool = False
    is_opt_out: bool = False
    civi_id: int | None = None


@dataclass
class Resolution:
    """CiviCRM ids found or created per store contact, what to record, and what could not be resolved."""

    ids: dict[int, int] = field(default_factory=dict)
    pushed: list[PushedItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    created: int = 0


def load_people(conn: Connection, contact_ids: Iterable[int]) -> dict[int, Person]:
    """Store contacts with the CiviCRM id the store knows (link first, then push state)."""
    ids = sorted(set(contact_ids))
    people: dict[int, Person] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        known: dict[int, int] = {}
        for r in conn.execute(select(push_state.c.item, push_state.c.digest).where(
                (push_state.c.target == TARGET) & (push_state.c.scope == CONTACT_SCOPE)
                & push_state.c.item.in_([str(c) for c in chunk]))):
            if r.digest and r.digest.isdigit():
                known[int(r.item)] = int(r.digest)
        teams: set[int] = set()
        for r in conn.execute(select(contact_links).where(contact_links.c.contact_id.in_(chunk))):
            if r.system == "civicrm" and r.external_id.isdigit():
                known[r.contact_id] = int(r.external_id)
            if r.system == "walk" and r.external_id.startswith("team:"):
                teams.add(r.contact_id)
        for r in conn.execute(select(contacts).where(contacts.c.id.in_(chunk))):
            people[r.id] = Person(r.id, r.email, r.first_name, r.last_name, r.display_name, r.id in teams,
                                  bool(r.do_not_email), bool(r.is_opt_out), known.get(r.id))
    return people


def _new_contact(person: Person) -> dict[str, Any]:
    values: dict[str, Any] = {"external_identifier": f"{EXTERNAL_PREFIX}{person.contact_id}",
                              "source": "vwfund"}
    if person.organisation:
        values.update(contact_type="Organization",
                      organization_name=person.display_name or f"vwfund contact {person.contact_id}")
    else:
        values.update(contact_type="Individual", first_name=person.first_name or "",
                      last_name=person.last_name or "")
        if not (person.first_name or person.last_name):
            values["display_name"] = person.display_name or ""
    if person.do_not_email:
        values["do_not_email"] = True
    if person.is_opt_out:
        values["is_opt_out"] = True
    params: dict[str, Any] = {"values": values}
    if person.email:
        params["chain"] = {"email": ["Email", "create", {"values": {"contact_id": "$id", "email": person.email,
                                                                   "is_primary": True}}]}
    return params


def resolve_contacts(
    client: CiviClient, people: Sequence[Person], *, create: bool, trashed: bool = False
) -> Resolution:
    """CiviCRM ids for ``people``: known, ours, by email, else created (when ``create``).

    With ``trashed`` contacts in CiviCRM's trash count too (a GDPR action must reach them).
    """
    result = Resolution()
    deleted: list[Any] = ["is_deleted", "IN", [True, False]] if trashed else ["is_deleted", "=", False]
    if not people:
        return result
    known = sorted({p.civi_id for p in people if p.civi_id is not None})
    emails = sorted({p.email for p in people if p.email})
    # One request: known ids still alive (a contact may since be trashed or merged away), contacts our
    # push created, and every email of the batch.
    calls: dict[str, tuple[str, str, dict[str, Any]]] = {
        "ours": ("Contact", "get", {"select": ["id", "external_identifier"], "where": [
            ["external_identifier", "IN", [f"{EXTERNAL_PREFIX}{p.contact_id}" for p in people]],
            deleted]}),
    }
    if known:
        calls["known"] = ("Contact", "get", {"select": ["id"], "where": [["id", "IN", known], deleted]})
    if emails:
        calls["emails"] = ("Email", "get", {"select": ["contact_id", "email"], "where": [
            ["email", "IN", emails], *([] if trashed else [["contact_id.is_deleted", "=", False]])]})
    found = client.multi_strict(calls)
    alive = {int(r["id"]) for r in found.get("known", [])}
    result.ids = {p.contact_id: p.civi_id for p in people if p.civi_id is not None and p.civi_id in alive}
    unknown = [p for p in people if p.contact_id not in result.ids]
    ours = {str(r["external_identifier"]): int(r["id"]) for r in found["ours"]}
    by_email: dict[str, set[int]] = {}
    for r in found.get("emails", []):
        by_email.setdefault(str(r["email"]).lower(), set()).add(int(r["contact_id"]))
    to_create: list[Person] = []
    for p in unknown:
        hit = ours.get(f"{EXTERNAL_PREFIX}{p.contact_id}")
        matches = sorted(by_email.get(p.email or "", set()))
        if hit is None and len(matches) > 1:
            result.errors.append(f"contact {p.contact_id}: its email is on {len(matches)} CiviCRM contacts "
                                 f"({', '.join(map(str, matches))}); skipped until a person merges them")
            continue
        hit = hit if hit is not None else (matches[0] if matches else None)
        if hit is not None:
            result.ids[p.contact_id] = hit
            result.pushed.append(PushedItem(CONTACT_SCOPE, str(p.contact_id), str(hit)))
        elif create:
            to_create.append(p)
    answers = client.multi({f"c{p.contact_id}": ("Contact", "create", _new_contact(p)) for p in to_create})
    for p in to_create:
        answer = answers[f"c{p.contact_id}"]
        if isinstance(answer, CallError):
            result.errors.append(answer.describe(f"creating the contact of store contact {p.contact_id}"))
            continue
        civi_id = int(answer["values"][0]["id"])
        result.ids[p.contact_id] = civi_id
        result.created += 1
        result.pushed.append(PushedItem(CONTACT_SCOPE, str(p.contact_id), str(civi_id)))
    return result
