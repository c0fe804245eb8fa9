"""Push monthly donors (recurring plans from Stripe and offline imports) to CiviCRM as ContributionRecur.

Like gifts, each plan is created once: its ContributionRecur carries the invoice id
``vwfund:<source>:<plan id>`` and ``trxn_id`` the plan's id (e.g. the Stripe subscription), and a batch looks
its plans up by invoice id before writing. A plan already there is updated (amount, status, end date) when
it changed. The plan's gifts are then linked to it by the contributions push (``contribution_recur_id``).
Push state: scope ``recur``, item ``<source>:<plan id>``, digest ``<recur id>:<hash of what was sent>``.
The pull does not import these back (same invoice-id rule as contributions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from vwfund.connectors.civicrm.client import CallError, CiviClient
from vwfund.connectors.civicrm.contacts import Person, load_people, resolve_contacts
from vwfund.connectors.civicrm.contributions import SOURCES
from vwfund.connectors.civicrm.mapping import PUSH_INVOICE_PREFIX, as_decimal
from vwfund.connectors.civicrm.refs import References
from vwfund.identity import digest
from vwfund.store.schema import recurring_plans
from vwfund.sync import PushedItem, PushOutcome, pushed_items

TARGET = "civicrm"
SCOPE = "recur"
#: Our plan statuses (Stripe's among them) as CiviCRM's contribution statuses.
PLAN_STATUS = {"active": "In Progress", "trialing": "In Progress", "past_due": "Overdue", "unpaid": "Overdue",
               "cancelled": "Cancelled", "canceled": "Cancelled", "completed": "Completed", "failed": "Failed",
               "incomplete": "Pending", "paused": "Pending"}
UNITS = {"day", "week", "month", "year"}
_INTERVAL = re.compile(r"^\s*(?:(\d+)\s*)?([a-z]+?)s?\s*$")


def parse_interval(text: str) -> tuple[str, int]:
    """``month`` -> (month, 1); ``3 months`` -> (month, 3); anything else is monthly."""
    found = _INTERVAL.match((text or "").lower())
    if not found or found.group(2) not in UNITS:
        return "month", 1
    return found.group(2), int(found.group(1) or 1)


@dataclass(frozen=True)
class Plan:
    """One store recurring plan to push."""

    source: str
    external_id: str
    contact_id: int | None
    amount_minor: int
    currency: str
    interval: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    campaign: str | None

    @property
    def item(self) -> str:
        """The push-state item."""
        return f"{self.source}:{self.external_id}"

    @property
    def invoice_id(self) -> str:
        """The invoice id that marks the ContributionRecur as this plan's."""
        return f"{PUSH_INVOICE_PREFIX}{self.item}"[:255]

    def fingerprint(self, recur_id: int) -> str:
        """The push-state digest: the recur id, then a hash of what CiviCRM was told."""
        sent = (recur_id, self.amount_minor, self.currency, self.interval, self.status, self.ended_at)
        return f"{recur_id}:{digest(*sent)[:24]}"


@dataclass
class PlanBatch:
    """Plans to push and the store contacts they need."""

    plans: list[Plan]
    people: dict[int, Person] = field(default_factory=dict)


def plan_recurring_batches(conn: Connection, batch_size: int) -> Iterator[PlanBatch]:
    """Batches of plans whose ContributionRecur is missing or behind (read-only)."""
    pushed = pushed_items(conn, TARGET, SCOPE)
    todo = []
    for r in conn.execute(select(recurring_plans).where(recurring_plans.c.source.in_(SOURCES))
                          .order_by(recurring_plans.c.id)):
        plan = Plan(r.source, r.external_id, r.contact_id, r.amount_minor, r.currency, r.interval, r.status,
                    r.started_at, r.ended_at, r.campaign)
        previous = pushed.get(plan.item) or ""
        recur_id = previous.split(":", 1)[0]
        if not (recur_id.isdigit() and previous == plan.fingerprint(int(recur_id))):
            todo.append(plan)
    for i in range(0, len(todo), batch_size):
        chunk = todo[i : i + batch_size]
        yield PlanBatch(chunk, load_people(conn, {p.contact_id for p in chunk if p.contact_id}))


class RecurringPusher:
    """Sends plan batches: contacts, one look-up, then creates and updates in one request."""

    def __init__(self, client: CiviClient, refs: References) -> None:
        self.client = client
        self.refs = refs

    def _values(self, plan: Plan, donor: int) -> dict[str, Any]:
        unit, every = parse_interval(plan.interval)
        values: dict[str, Any] = {
            "contact_id": donor, "amount": as_decimal(plan.amount_minor, plan.currency), "currency": plan.currency,
            "frequency_unit": unit, "frequency_interval": every, "invoice_id": plan.invoice_id,
            "trxn_id": plan.external_id, "start_date": self.client.to_civi_time(plan.started_at),
            "contribution_status_id:name": PLAN_STATUS.get(plan.status, "Pending"),
            "financial_type_id": self.refs.ids()["financial_type"],
        }
        if plan.ended_at is not None:
            values["end_date" if plan.status == "completed" else "cancel_date"] = \
                self.client.to_civi_time(plan.ended_at)
        if self.refs.instrument(plan.source) is not None:
            values["payment_instrument_id"] = self.refs.instrument(plan.source)
        if self.refs.campaign(plan.campaign):
            values["campaign_id"] = self.refs.campaign(plan.campaign)
        return values

    def send(self, batch: PlanBatch) -> PushOutcome:
        """Push one batch of plans."""
        outcome = PushOutcome()
        resolved = resolve_contacts(self.client, [batch.people[c] for c in sorted(batch.people)], create=True)
        outcome.pushed += resolved.pushed
        outcome.errors += resolved.errors
        outcome.counts["contacts_created"] += resolved.created
        ready = []
        for plan in batch.plans:
            donor = resolved.ids.get(plan.contact_id) if plan.contact_id else None
            if donor is None:
                outcome.errors.append(f"plan {plan.item}: no CiviCRM contact for it; skipped")
            else:
                ready.append((plan, donor))
        if not ready:
            return outcome
        campaigns = self.refs.unknown_campaigns(p.campaign for p, _ in ready)
        calls: dict[str, tuple[str, str, dict[str, Any]]] = {"recurs": ("ContributionRecur", "get", {
            "select": ["id", "invoice_id"], "where": [["invoice_id", "IN", [p.invoice_id for p, _ in ready]]]})}
        if campaigns:
            calls["campaigns"] = ("Campaign", "get", {"select": ["id", "name"], "where": [["name", "IN", campaigns]]})
        found = self.client.multi_strict(calls)
        for name in self.refs.learn_campaigns(campaigns, found.get("campaigns", [])):
            outcome.errors.append(f"campaign {name!r} is not in CiviCRM: its plans go without campaign")
        existing = {str(r["invoice_id"]): int(r["id"]) for r in found["recurs"]}
        writes: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for i, (plan, donor) in enumerate(ready):
            values = self._values(plan, donor)
            if plan.invoice_id in existing:
                writes[f"r{i}"] = ("ContributionRecur", "update", {
                    "where": [["id", "=", existing[plan.invoice_id]]], "values": values})
            else:
                writes[f"r{i}"] = ("ContributionRecur", "create", {"values": values})
        answers = self.client.multi(writes)
        for i, (plan, _) in enumerate(ready):
            answer = answers[f"r{i}"]
            if isinstance(answer, CallError):
                outcome.errors.append(answer.describe(f"the recurring contribution of plan {plan.item}"))
                continue
            recur_id = existing.get(plan.invoice_id) or int(answer["values"][0]["id"])
            outcome.counts["recurring_updated" if plan.invoice_id in existing else "recurring_created"] += 1
            outcome.pushed.append(PushedItem(SCOPE, plan.item, plan.fingerprint(recur_id)))
        return outcome
