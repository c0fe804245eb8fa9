"""Opt-outs flow to CiviCRM: a store contact with ``do_not_email`` or ``is_opt_out`` gets them set there.

Only set, never cleared (a re-subscription elsewhere does not undo an opt-out in the system of record).
Contacts not in CiviCRM are not created for this. Push state: scope ``optout``, item the store contact id,
digest the flags pushed, so each change is sent once. One ``Contact.save`` with ``records`` per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select

from vwfund.connectors.civicrm.client import CiviClient
from vwfund.connectors.civicrm.contacts import Person, load_people, resolve_contacts
from vwfund.store.schema import contacts
from vwfund.sync import PushedItem, PushOutcome, pushed_items

TARGET = "civicrm"
SCOPE = "optout"


def flags_digest(person: Person) -> str:
    """The flags as pushed: ``email:<0|1>,optout:<0|1>``."""
    return f"email:{int(person.do_not_email)},optout:{int(person.is_opt_out)}"


def plan_optout_batches(conn: Connection, batch_size: int) -> Iterator[list[Person]]:
    """Opted-out store contacts whose flags were not pushed yet, in batches."""
    pushed = pushed_items(conn, TARGET, SCOPE)
    ids = [r.id for r in conn.execute(select(contacts.c.id).where(
        (contacts.c.do_not_email.is_(True) | contacts.c.is_opt_out.is_(True))
        & contacts.c.anonymised_at.is_(None)).order_by(contacts.c.id))]
    for i in range(0, len(ids), batch_size):
        people = load_people(conn, ids[i : i + batch_size])
        todo = [p for p in people.values() if pushed.get(str(p.contact_id)) != flags_digest(p)]
        if todo:
            yield sorted(todo, key=lambda p: p.contact_id)


def send_optouts(client: CiviClient, people: list[Person]) -> PushOutcome:
    """Set the flags on the CiviCRM contacts of ``people`` (one request for the look-up, one for the save)."""
    outcome = PushOutcome()
    resolved = resolve_contacts(client, people, create=False)
    outcome.errors += resolved.errors
    outcome.pushed += resolved.pushed
    records: list[dict[str, Any]] = []
    done: list[Person] = []
    for p in people:
        civi_id = resolved.ids.get(p.contact_id)
        if civi_id is None:
            outcome.counts["not_in_civicrm"] += 1
            continue
        record: dict[str, Any] = {"id": civi_id}
        if p.do_not_email:
            record["do_not_email"] = True
        if p.is_opt_out:
            record["is_opt_out"] = True
        records.append(record)
        done.append(p)
    if records:
        client.call("Contact", "save", {"records": records})
        outcome.counts["opt_outs_set"] += len(records)
        outcome.pushed += [PushedItem(SCOPE, str(p.contact_id), flags_digest(p)) for p in done]
    return outcome
