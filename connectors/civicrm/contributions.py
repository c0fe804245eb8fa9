"""Push gifts from Stripe and offline imports into CiviCRM as contributions, exactly once.

How a gift is recorded (as current CiviCRM asks): ``Order.create`` with one line item (a Pending
contribution totalling it, with financial type, payment instrument, campaign, currency and receive date),
then ``Payment.create`` with the gift's ``trxn_id`` (its external id, e.g. the Stripe charge id) and fee.
Refunds are negative payments (``trxn_id`` ``<id>:refund``), a lost dispute a negative payment
(``<id>:dispute``) for what was left.

Exactly once, although CiviCRM deduplicates nothing: every contribution we create carries the invoice id
``vwfund:<source>:<external id>`` (unique in CiviCRM). Before any write, a batch looks up its
contributions by invoice id, their payments by trxn id and their soft credits, and writes only the
difference between what the gift should hold and what CiviCRM holds. A re-run, a retried batch or a run
killed half-way therefore adds nothing twice and leaves nothing out.

Push state: target ``civicrm``, scope ``contribution``, item ``<source>:<external id>``, digest
``<contribution id>:<hash of (contribution id, refunded, status)>``, so a later refund is pushed once.

Walk soft credits: a gift with a walker is soft-credited (ContributionSoft) to the walker's contact (store
contact linked ``walk``/``walker:<slug>``); with only a team, to the team's (``team:<slug>``); never both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from vwfund.connectors.civicrm.client import CallError, CiviClient, to_decimal
from vwfund.connectors.civicrm.contacts import Person, load_people, resolve_contacts
from vwfund.connectors.civicrm.mapping import PUSH_INVOICE_PREFIX, as_decimal
from vwfund.connectors.civicrm.refs import References
from vwfund.connectors.civicrm.settings import CiviSettings
from vwfund.identity import digest
from vwfund.store.schema import contact_links, donations
from vwfund.sync import PushedItem, PushOutcome, pushed_items
from vwfund.timeutil import utcnow

TARGET = "civicrm"
SCOPE = "contribution"
SOURCES = ("stripe", "offline")
#: Gifts pushed: those where money moved. Pending gifts wait; failed and test gifts are never pushed.
PUSHED_STATUSES = ("succeeded", "partially_refunded", "refunded", "disputed")


@dataclass(frozen=True)
class Gift:
    """One store donation to push."""

    source: str
    external_id: str
    amount_minor: int
    currency: str
    fee_minor: int
    refunded_minor: int
    status: str
    received_at: datetime
    campaign: str | None
    contact_id: int | None
    soft_contact_id: int | None = None
    soft_missing: str | None = None
    recurring_plan: str | None = None

    @property
    def item(self) -> str:
        """The push-state item."""
        return f"{self.source}:{self.external_id}"

    @property
    def invoice_id(self) -> str:
        """The invoice id that marks the contribution as this gift's (and as pushed by us)."""
        return f"{PUSH_INVOICE_PREFIX}{self.item}"[:255]

    @property
    def plan_invoice_id(self) -> str | None:
        """The invoice id of the recurring contribution our push made for this gift's plan, if any."""
        return f"{PUSH_INVOICE_PREFIX}{self.source}:{self.recurring_plan}"[:255] if self.recurring_plan else None

    def desired_payments(self) -> dict[str, int]:
        """What each trxn id should add up to in CiviCRM, in minor units."""
        lost = self.amount_minor - self.refunded_minor if self.status == "disputed" else 0
        return {self.external_id: self.amount_minor, f"{self.external_id}:refund": -self.refunded_minor,
                f"{self.external_id}:dispute": -lost}


@dataclass
class GiftBatch:
    """Gifts to push and the store contacts they need (donors and soft-credit targets)."""

    gifts: list[Gift]
    people: dict[int, Person] = field(default_factory=dict)


def gift_digest(contribution_id: int, refunded_minor: int, status: str) -> str:
    """The push-state digest: the contribution id, then a hash of (id, refunded, status)."""
    return f"{contribution_id}:{digest(contribution_id, refunded_minor, status)[:24]}"


def is_up_to_date(previous: str | None, refunded_minor: int, status: str) -> bool:
    """Whether the last push already holds this refunded amount and status."""
    if not previous or ":" not in previous:
        return False
    cid = previous.split(":", 1)[0]
    return cid.isdigit() and previous == gift_digest(int(cid), refunded_minor, status)


def _walk_contacts(conn: Connection, keys: set[str]) -> dict[str, int]:
    if not keys:
        return {}
    found: dict[str, int] = {}
    ordered = sorted(keys)
    for i in range(0, len(ordered), 500):
        rows = conn.execute(select(contact_links.c.external_id, contact_links.c.contact_id).where(
            (contact_links.c.system == "walk") & contact_links.c.external_id.in_(ordered[i : i + 500])))
        found.update({r.external_id: r.contact_id for r in rows})
    return found


def plan_gift_batches(conn: Connection, batch_size: int) -> Iterator[GiftBatch]:
    """Batches of gifts whose contribution is missing or behind (read-only)."""
    pushed = pushed_items(conn, TARGET, SCOPE)
    rows = conn.execute(
        select(donations).where(donations.c.source.in_(SOURCES) & donations.c.status.in_(PUSHED_STATUSES)
                                & donations.c.is_test.is_(False)).order_by(donations.c.id))
    pending = [r for r in rows if not is_up_to_date(pushed.get(f"{r.source}:{r.external_id}"),
                                                     r.refunded_minor, r.status)]
    for i in range(0, len(pending), batch_size):
        chunk = pending[i : i + batch_size]
        walk = _walk_contacts(conn, {f"walker:{r.walker}" for r in chunk if r.walker}
                              | {f"team:{r.team}" for r in chunk if r.team})
        gifts = []
        for r in chunk:
            key = f"walker:{r.walker}" if r.walker else f"team:{r.team}" if r.team else None
            soft = walk.get(key) if key else None
            gifts.append(Gift(r.source, r.external_id, r.amount_minor, r.currency, r.fee_minor, r.refunded_minor,
                              r.status, r.received_at, r.campaign, r.contact_id, soft,
                              key if key and soft is None else None, r.recurring_plan))
        needed = {g.contact_id for g in gifts if g.contact_id} | {g.soft_contact_id for g in gifts if g.soft_contact_id}
        yield GiftBatch(gifts, load_people(conn, {c for c in needed if c is not None}))


class ContributionPusher:
    """Sends gift batches: contacts, look-ups, orders, then payments and soft credits (a few requests each)."""

    def __init__(self, client: CiviClient, settings: CiviSettings, refs: References | None = None) -> None:
        self.client = client
        self.settings = settings
        self.refs = refs or References(client, settings)

    def _lookups(self, gifts: list[Gift], campaigns: list[str]) -> dict[str, list[dict[str, Any]]]:
        invoices = [g.invoice_id for g in gifts]
        trxn_ids = [t for g in gifts for t in g.desired_payments()]
        plans = sorted({g.plan_invoice_id for g in gifts if g.plan_invoice_id})
        calls: dict[str, tuple[str, str, dict[str, Any]]] = {
            "contributions": ("Contribution", "get", {"select": ["id", "invoice_id"],
                                                      "where": [["invoice_id", "IN", invoices]]}),
            "payments": ("Payment", "get", {"select": ["trxn_id", "total_amount"],
                                            "where": [["trxn_id", "IN", trxn_ids]]}),
            "soft": ("ContributionSoft", "get", {"select": ["contribution_id", "contact_id"],
                                                 "where": [["contribution_id.invoice_id", "IN", invoices]]}),
        }
        if plans:
            calls["plans"] = ("ContributionRecur", "get", {"select": ["id", "invoice_id"],
                                                           "where": [["invoice_id", "IN", plans]]})
        if campaigns:
            calls["campaigns"] = ("Campaign", "get", {"select": ["id", "name"], "where": [["name", "IN", campaigns]]})
        found: dict[str, list[dict[str, Any]]] = self.client.multi_strict(calls)
        return found

    def _order(self, gift: Gift, donor: int, plans: dict[str, int]) -> dict[str, Any]:
        amount = as_decimal(gift.amount_minor, gift.currency)
        financial_type = self.refs.ids()["financial_type"]
        values: dict[str, Any] = {
            "contact_id": donor, "financial_type_id": financial_type, "currency": gift.currency,
            "receive_date": self.client.to_civi_time(gift.received_at), "invoice_id": gift.invoice_id,
            "source": f"vwfund {gift.source}", "contribution_status_id:name": "Pending",
        }
        if self.refs.instrument(gift.source) is not None:
            values["payment_instrument_id"] = self.refs.instrument(gift.source)
        if self.refs.campaign(gift.campaign):
            values["campaign_id"] = self.refs.campaign(gift.campaign)
        if gift.plan_invoice_id and gift.plan_invoice_id in plans:
            values["contribution_recur_id"] = plans[gift.plan_invoice_id]
        line = {"qty": 1, "unit_price": amount, "line_total": amount, "financial_type_id": financial_type,
                "entity_table": "civicrm_contribution", "label": "Donation"}
        return {"contributionValues": values, "lineItems": [line]}

    def _payments(self, gift: Gift, cid: int, held: dict[str, Decimal]) -> list[dict[str, Any]]:
        out = []
        for trxn_id, minor in gift.desired_payments().items():
            delta = as_decimal(minor, gift.currency) - held.get(trxn_id, Decimal(0))
            if not delta:
                continue
            values: dict[str, Any] = {"contribution_id": cid, "total_amount": delta, "trxn_id": trxn_id,
                                      "trxn_date": self.client.to_civi_time(
                                          gift.received_at if trxn_id == gift.external_id else utcnow()),
                                      "is_send_contribution_notification": False}
            if trxn_id == gift.external_id and gift.fee_minor:
                values["fee_amount"] = as_decimal(gift.fee_minor, gift.currency)
            if self.refs.instrument(gift.source) is not None:
                values["payment_instrument_id"] = self.refs.instrument(gift.source)
            out.append(values)
        return out

    def _donors(self, batch: GiftBatch, outcome: PushOutcome) -> tuple[list[tuple[Gift, int]], dict[int, int]]:
        """Each gift with its donor's CiviCRM id (gifts without one are reported and dropped), and all ids."""
        resolved = resolve_contacts(self.client, [batch.people[c] for c in sorted(batch.people)], create=True)
        outcome.pushed += resolved.pushed
        outcome.errors += resolved.errors
        outcome.counts["contacts_created"] += resolved.created
        gifts: list[tuple[Gift, int]] = []
        for g in batch.gifts:
            donor = resolved.ids.get(g.contact_id) if g.contact_id else self.settings.anonymous_contact_id
            if donor is None:
                why = "has no contact: set [civicrm] anonymous_contact_id" if not g.contact_id else \
                    f"its contact {g.contact_id} could not be found or created"
                outcome.errors.append(f"gift {g.item} {why}; skipped")
                continue
            gifts.append((g, donor))
        return gifts, resolved.ids

    def _create_orders(
        self, missing: list[tuple[Gift, int]], plans: dict[str, int], cids: dict[str, int], outcome: PushOutcome
    ) -> set[str]:
        """``Order.create`` for gifts without a contribution, in one request; returns the gifts that failed."""
        answers = self.client.multi({f"o{i}": ("Order", "create", self._order(g, donor, plans))
                                     for i, (g, donor) in enumerate(missing)})
        failed: set[str] = set()
        for i, (g, _) in enumerate(missing):
            answer = answers[f"o{i}"]
            if isinstance(answer, CallError):
                outcome.errors.append(answer.describe(f"the order of gift {g.item}"))
                failed.add(g.item)
                continue
            cids[g.invoice_id] = int(answer["values"][0]["id"])
            outcome.counts["contributions_created"] += 1
        return failed

    def _soft_credit(self, g: Gift, cid: int, target: int | None, held: set[tuple[int, int]],
                     outcome: PushOutcome) -> dict[str, Any] | None:
        """The ContributionSoft to create for a walk gift, if it is not there yet (reports what is missing)."""
        if g.soft_missing or (g.soft_contact_id and target is None):
            why = f"no store contact is linked as walk {g.soft_missing}" if g.soft_missing else \
                f"store contact {g.soft_contact_id} could not be found or created in CiviCRM"
            outcome.errors.append(f"gift {g.item}: {why}; pushed without soft credit")
            return None
        if target is None or (cid, target) in held:
            return None
        return {"values": {"contribution_id": cid, "contact_id": target, "currency": g.currency,
                           "amount": as_decimal(g.amount_minor, g.currency)}}

    def send(self, batch: GiftBatch) -> PushOutcome:
        """Push one batch; returns the gifts CiviCRM now holds as they are in the store.

        Requests: contacts (one read, one create if any are new), one read of the batch's contributions,
        payments and soft credits, one ``Order.create`` request for the missing contributions, one request
        for every payment, refund and soft credit still missing.
        """
        outcome = PushOutcome()
        self.refs.ids()
        gifts, contact_ids = self._donors(batch, outcome)
        if not gifts:
            return outcome
        campaigns = self.refs.unknown_campaigns(g.campaign for g, _ in gifts)
        found = self._lookups([g for g, _ in gifts], campaigns)
        for name in self.refs.learn_campaigns(campaigns, found.get("campaigns", [])):
            outcome.errors.append(f"campaign {name!r} is not in CiviCRM: its gifts go without campaign")
        plans = {str(r["invoice_id"]): int(r["id"]) for r in found.get("plans", [])}
        cids = {str(r["invoice_id"]): int(r["id"]) for r in found["contributions"]}
        existed = set(cids)
        held: dict[str, Decimal] = {}
        for p in found["payments"]:
            held[str(p["trxn_id"])] = held.get(str(p["trxn_id"]), Decimal(0)) + to_decimal(p["total_amount"])
        soft_held = {(int(s["contribution_id"]), int(s["contact_id"])) for s in found["soft"]}
        failed = self._create_orders([(g, d) for g, d in gifts if g.invoice_id not in cids], plans, cids, outcome)

        writes: dict[str, tuple[str, str, dict[str, Any]]] = {}
        owners: dict[str, Gift] = {}
        for g, _ in gifts:
            if g.item in failed:
                continue
            cid = cids[g.invoice_id]
            # Payments found for a contribution that did not exist yet belong to something else.
            for n, values in enumerate(self._payments(g, cid, held if g.invoice_id in existed else {})):
                writes[f"p{cid}_{n}"] = ("Payment", "create", {"values": values})
                owners[f"p{cid}_{n}"] = g
            target = contact_ids.get(g.soft_contact_id) if g.soft_contact_id else None
            soft = self._soft_credit(g, cid, target, soft_held, outcome)
            if soft is not None:
                writes[f"s{cid}"] = ("ContributionSoft", "create", soft)
                owners[f"s{cid}"] = g
        for name, answer in self.client.multi(writes).items():
            g = owners[name]
            if isinstance(answer, CallError):
                outcome.errors.append(answer.describe(f"a payment or soft credit of gift {g.item}"))
                failed.add(g.item)
            elif name.startswith("s"):
                outcome.counts["soft_credits_created"] += 1
            else:
                amount = to_decimal(answer["values"][0].get("total_amount")) if answer["values"] else Decimal(0)
                outcome.counts["payments_created" if amount > 0 else "refunds_created"] += 1
        outcome.pushed += [PushedItem(SCOPE, g.item, gift_digest(cids[g.invoice_id], g.refunded_minor, g.status))
                           for g, _ in gifts if g.item not in failed]
        return outcome
