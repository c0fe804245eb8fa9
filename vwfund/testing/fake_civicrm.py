"""A stateful local fake of CiviCRM's API v4 REST endpoint, enforcing the protocol as civicrm-core serves it.

Start it on loopback (``with FakeCiviCRM() as fake: fake.url``) and point a client at ``fake.url``.

What it enforces (as ``CRM/Api4/Page/AJAX.php`` and authx do):

- ``POST {base}/civicrm/ajax/api4/{Entity}/{action}`` with form field ``params=<JSON>``, and the multi-call
  form ``POST {base}/civicrm/ajax/api4`` with ``calls={"name": [entity, action, params, index]}``.
- ``X-Requested-With: XMLHttpRequest`` is required: without it a 400 "SECURITY ALERT" JSON answer.
- ``X-Civi-Auth: Bearer <key>``: a wrong key (or, when the fake has a site key, a missing or wrong
  ``X-Civi-Key``) answers 401 in text/plain. With no credential header at all the call runs as the
  anonymous user, who has no API permission: 403 with the generic error and an error id (as the real one).
- A raw JSON body instead of ``params`` is ignored, as the real endpoint does: the call runs with empty
  params (so a ``create`` without values fails, a ``get`` returns everything). ``fake.raw_json_bodies``
  counts such requests so tests can assert a client never sends one.
- GET only for ``get*`` and ``autocomplete`` actions; any other GET answers 405.
- ``update`` and ``delete`` without ``where`` fail (500, generic message with an error id).
- Errors answer 403 (permission) / 500 (other) with ``error_code``, ``error_message`` (the generic
  "Sorry an error occurred ... (Error ID: XXXX-XXXX-XXXX)") and ``status``; maintenance answers 503 with
  ``status_code``/``status_message``. In a multi-call the HTTP status is 200 if any call succeeded.
- ``limit``/``offset``/``orderBy`` paging; ``countMatched`` only without a limit.
- ``Order.create`` makes a Pending contribution whose total is the sum of its line items (an invoice id is
  generated when none is given; invoice ids are unique). ``Payment.create`` records a payment (negative for
  a refund), moves the status Pending -> Partially paid -> Completed, a full refund -> Refunded, and
  appends the payment's trxn_id to the contribution's. Nothing is deduplicated: a repeated payment is
  recorded twice.

Faults can be injected (``fake.inject(...)``): an error status for the next matching calls, optionally
after the call was carried out (a lost answer), or maintenance mode.
"""

from __future__ import annotations

import json
import random
import re
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from vwfund.testing.server import LoopbackService

API_PREFIX = "/civicrm/ajax/api4"
GENERIC_ERROR = "Sorry an error occurred and your request was not completed. (Error ID: {error_id})"
SECURITY_ALERT = "SECURITY ALERT: Ajax requests can only be issued by javascript clients, eg. CRM.api4()."
GET_FOR_WRITE = "SECURITY: All requests that modify the database must be http POST, not GET."

CONTRIBUTION_STATUSES = {1: "Completed", 2: "Pending", 3: "Cancelled", 4: "Failed", 5: "In Progress",
                         6: "Overdue", 7: "Refunded", 8: "Partially paid", 9: "Pending refund", 10: "Chargeback"}
PAYMENT_INSTRUMENTS = {1: "Credit Card", 2: "Debit Card", 3: "Cash", 4: "Check", 5: "EFT", 6: "iDEAL"}
FINANCIAL_TYPES = {1: "Donation", 2: "Member Dues", 3: "Campaign Contribution", 4: "Event Fee"}
#: Option-list fields and their id -> name lists (``field:name`` reads and writes them by name).
PSEUDO = {"contribution_status_id": CONTRIBUTION_STATUSES, "payment_instrument_id": PAYMENT_INSTRUMENTS,
          "financial_type_id": FINANCIAL_TYPES}
#: Foreign keys the fake follows for ``field.subfield`` (implicit joins).
FKS = {"contact_id": "Contact", "contribution_id": "Contribution", "campaign_id": "Campaign",
       "group_id": "Group", "activity_id": "Activity", "contribution_recur_id": "ContributionRecur",
       "tag_id": "Tag", "entity_id": "Contact"}
TRACKS_MODIFIED = {"Contact", "Contribution", "ContributionRecur", "Activity"}
ENTITIES = ("Contact", "Email", "Address", "Phone", "IM", "Website", "Note", "Activity", "ActivityContact",
            "Contribution", "Payment", "ContributionSoft", "ContributionRecur", "Group", "GroupContact",
            "Campaign", "FinancialType", "OptionValue", "Tag", "EntityTag", "LineItem")


class ApiError(Exception):
    """An API exception inside the fake: 403 for permissions, 500 for everything else."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Fault:
    """An injected failure: the next ``times`` calls of entity.action answer ``status``.

    With ``after=True`` the call is carried out first and its answer lost (the client sees the error).
    """

    entity: str | None
    action: str | None
    status: int
    times: int = 1
    after: bool = False

    def matches(self, entity: str, action: str) -> bool:
        """Whether this fault applies to a call."""
        return (self.entity in (None, entity)) and (self.action in (None, action)) and self.times > 0


def _error_id() -> str:
    raw = "".join(random.choices(string.ascii_letters + string.digits, k=12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def _dec(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else 0))


def _key(value: Any) -> str:
    """A comparable form for ``=``/``IN``: numbers by value, text case-insensitively (MySQL collation)."""
    if isinstance(value, int | float | Decimal):
        return str(Decimal(str(value)).normalize())
    return str(value).lower()


def _like(pattern: str) -> re.Pattern[str]:
    """A SQL LIKE pattern (backslash escapes) as a case-insensitive regex."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE | re.DOTALL)


@dataclass
class FakeState:
    """The fake's data: rows per entity, id counters, and what it was asked."""

    tz: ZoneInfo
    rows: dict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: {e: {} for e in ENTITIES})
    next_id: dict[str, int] = field(default_factory=dict)
    clock: datetime | None = None
    #: Indexes that keep the fake fast at benchmark sizes: invoice id -> contribution id,
    #: contact id -> primary email row, contribution id -> its payment rows.
    invoices: dict[str, int] = field(default_factory=dict)
    primary_email: dict[int, dict[str, Any]] = field(default_factory=dict)
    payments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    trxn_ids: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def now(self) -> str:
        """The site's local time as CiviCRM writes it."""
        instant = self.clock or datetime.now(UTC)
        return instant.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")

    def new_id(self, entity: str) -> int:
        """The next id of an entity."""
        self.next_id[entity] = self.next_id.get(entity, 0) + 1
        return self.next_id[entity]


class FakeApi:
    """The API v4 actions over :class:`FakeState` (no HTTP here)."""

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self._keysets: dict[int, tuple[list[Any], set[str]]] = {}
        for fid, name in FINANCIAL_TYPES.items():
            state.rows["FinancialType"][fid] = {"id": fid, "name": name, "is_active": True}
            state.next_id["FinancialType"] = fid
        oid = 0
        for group, values in (("payment_instrument", PAYMENT_INSTRUMENTS), ("contribution_status",
                                                                           CONTRIBUTION_STATUSES)):
            for value, name in values.items():
                oid += 1
                state.rows["OptionValue"][oid] = {"id": oid, "option_group_id:name": group, "value": str(value),
                                                  "name": name, "label": name, "is_active": True}
        state.next_id["OptionValue"] = oid

    # -- field access -------------------------------------------------------------------------------
    def value(self, entity: str, row: dict[str, Any], name: str) -> Any:
        """A field of a row, following ``:name`` option lists and ``fk.field`` implicit joins."""
        if name in row:
            return row[name]
        if name.endswith(":name") or name.endswith(":label"):
            base = name.rsplit(":", 1)[0]
            return PSEUDO.get(base, {}).get(row.get(base))  # type: ignore[arg-type]
        if "." in name:
            head, rest = name.split(".", 1)
            if entity == "Contact" and head == "email_primary":
                email = self.state.primary_email.get(row.get("id"))  # type: ignore[arg-type]
                if email is not None and email["id"] not in self.state.rows["Email"]:
                    email = None
                return self.value("Email", email, rest) if email else None
            target = FKS.get(head)
            ref = self.state.rows.get(target or "", {}).get(row.get(head))  # type: ignore[arg-type]
            return self.value(target or "", ref, rest) if ref else None
        return None

    def matches(self, entity: str, row: dict[str, Any], clause: list[Any]) -> bool:
        """Whether a row satisfies one where clause (``[field, op, value]`` or an OR/AND/NOT group)."""
        if clause and clause[0] in ("OR", "AND", "NOT"):
            parts = [self.matches(entity, row, c) for c in clause[1]]
            return any(parts) if clause[0] == "OR" else all(parts) if clause[0] == "AND" else not all(parts)
        if len(clause) < 2:
            raise ApiError(f"Invalid where clause {clause!r}")
        name, op = clause[0], str(clause[1]).upper()
        expected = clause[2] if len(clause) > 2 else None
        actual = self.value(entity, row, name)
        if op == "IS NULL":
            return actual in (None, "")
        if op == "IS NOT NULL":
            return actual not in (None, "")
        if op in ("IN", "NOT IN"):
            if not isinstance(expected, list):
                raise ApiError(f"Operator {op} requires an array")
            keys = self._keyset(expected)
            found = (_key(actual) in keys) if not isinstance(actual, bool) and actual is not None else \
                any(self._eq(actual, e) for e in expected)
            return found if op == "IN" else not found
        if op in ("LIKE", "NOT LIKE"):
            hit = actual is not None and bool(_like(str(expected)).match(str(actual)))
            return hit if op == "LIKE" else not hit
        if op == "=":
            return self._eq(actual, expected)
        if op in ("!=", "<>"):
            return not self._eq(actual, expected)
        if actual is None:
            return False
        a, e = self._cmp(actual, expected)
        ops: dict[str, Callable[[Any, Any], bool]] = {
            ">": lambda x, y: x > y, ">=": lambda x, y: x >= y, "<": lambda x, y: x < y, "<=": lambda x, y: x <= y}
        if op not in ops:
            raise ApiError(f"Illegal operator {op}")
        return ops[op](a, e)

    def _keyset(self, expected: list[Any]) -> set[str]:
        """The comparable keys of an IN list, computed once per list object of a request."""
        cached = self._keysets.get(id(expected))
        if cached is None or cached[0] is not expected:
            cached = (expected, {_key(e) for e in expected if not isinstance(e, bool)})
            self._keysets[id(expected)] = cached
        return cached[1]

    @staticmethod
    def _cmp(actual: Any, expected: Any) -> tuple[Any, Any]:
        if isinstance(actual, bool | int | float | Decimal) and not isinstance(expected, str):
            return _dec(actual), _dec(expected)
        return str(actual), str(expected)

    @staticmethod
    def _eq(actual: Any, expected: Any) -> bool:
        if isinstance(actual, bool) or isinstance(expected, bool):
            return bool(actual) == bool(expected) and actual is not None
        if isinstance(actual, int | float | Decimal) and isinstance(expected, int | float | Decimal | str):
            try:
                return _dec(actual) == _dec(expected)
            except Exception:
                return False
        if isinstance(actual, str) and isinstance(expected, str):
            return actual.lower() == expected.lower()  # MySQL's case-insensitive collation
        return actual == expected or (actual is not None and str(actual) == str(expected))

    # -- actions -------------------------------------------------------------------------------------
    def call(self, entity: str, action: str, params: dict[str, Any]) -> list[dict[str, Any]] | dict[str, Any]:
        """Run one API call; returns rows (or a get's answer with counts)."""
        self._keysets.clear()
        if entity not in self.state.rows and entity not in ("Order", "System"):
            raise ApiError(f'API (Entity "{entity}", {action}) does not exist')
        special = {("Order", "create"): self.order_create, ("Payment", "create"): self.payment_create,
                   ("Contact", "getDuplicates"): self.get_duplicates, ("System", "check"): self.system_check}
        if (entity, action) in special:
            return special[(entity, action)](params)
        handlers: dict[str, Callable[[str, dict[str, Any]], list[dict[str, Any]] | dict[str, Any]]] = {
            "get": self.get, "create": self.create, "update": self.update, "delete": self.delete, "save": self.save}
        handler = handlers.get(action)
        if handler is None:
            raise ApiError(f'API (Entity "{entity}", action "{action}") does not exist')
        return handler(entity, params)

    def get(self, entity: str, params: dict[str, Any]) -> dict[str, Any]:
        """``get``: where, orderBy, limit, offset, select (with ``:name`` and implicit joins)."""
        rows = [r for r in self._candidates(entity, params.get("where") or [])
                if all(self.matches(entity, r, c) for c in params.get("where") or [])]
        for name, direction in reversed(list((params.get("orderBy") or {"id": "ASC"}).items())):
            def key(row: dict[str, Any], field_name: str = name) -> tuple[bool, Any]:
                found = self.value(entity, row, field_name)
                return found is None, self._sort_key(found)

            rows.sort(key=key, reverse=str(direction).upper() == "DESC")
        matched = len(rows)
        offset, limit = int(params.get("offset") or 0), int(params.get("limit") or 0)
        rows = rows[offset : offset + limit] if limit else rows[offset:]
        select = [s for s in params.get("select") or [] if s != "row_count"]
        out = [{**({"id": r["id"]}), **{s: self.value(entity, r, s) for s in select}} if select
               else {k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
        out = [self.chain(entity, r, params) for r in out]
        answer: dict[str, Any] = {"values": out}
        if not limit or "row_count" in (params.get("select") or []):
            answer["countMatched"] = matched
        return answer

    def _candidates(self, entity: str, where: list[Any]) -> list[dict[str, Any]]:
        """Rows that may match: narrowed by an index for ``id``, invoice ids and trxn ids, else all rows."""
        table = self.state.rows[entity]
        for clause in where:
            if not (isinstance(clause, list) and len(clause) == 3 and str(clause[1]).upper() in ("=", "IN")):
                continue
            wanted = clause[2] if isinstance(clause[2], list) else [clause[2]]
            if clause[0] == "id":
                return [table[int(i)] for i in wanted if str(i).isdigit() and int(i) in table]
            if entity == "Contribution" and clause[0] == "invoice_id":
                ids = [self.state.invoices.get(str(v).lower()) for v in wanted]
                return [table[i] for i in sorted({i for i in ids if i is not None}) if i in table]
            if entity == "Payment" and clause[0] == "trxn_id":
                found = {p["id"]: p for v in wanted for p in self.state.trxn_ids.get(str(v).lower(), [])}
                return [found[i] for i in sorted(found) if i in table]
        return list(table.values())

    @staticmethod
    def _sort_key(value: Any) -> Any:
        if isinstance(value, bool | int | float | Decimal):
            return (0, _dec(value), "")
        return (1, Decimal(0), "" if value is None else str(value))

    def _write(self, entity: str, values: dict[str, Any], existing: dict[str, Any] | None = None) -> dict[str, Any]:
        values = dict(values)
        for key in list(values):
            if key.endswith(":name"):
                base, name = key.rsplit(":", 1)[0], values.pop(key)
                ids = [i for i, n in PSEUDO.get(base, {}).items() if n == name]
                if not ids:
                    raise ApiError(f"Invalid value {name!r} for {base}")
                values[base] = ids[0]
        if entity == "Contribution" and values.get("invoice_id"):
            holder = self.state.invoices.get(str(values["invoice_id"]).lower())
            if holder is not None and (existing is None or holder != existing["id"]):
                raise ApiError("DB Error: already exists")
        if existing is None:
            row = {"id": self.state.new_id(entity), **values}
            if entity in TRACKS_MODIFIED:
                row.setdefault("created_date", self.state.now())
            if entity == "Contact":
                for flag in ("do_not_email", "do_not_mail", "do_not_phone", "do_not_sms", "do_not_trade",
                             "is_opt_out", "is_deleted", "is_deceased"):
                    row.setdefault(flag, False)
                row.setdefault("contact_type", "Individual")
            if entity == "GroupContact":
                row.setdefault("status", "Added")
            if entity == "Contribution":  # created Completed directly: CiviCRM records its payment too
                row.setdefault("paid_amount", row.get("total_amount") if row.get("contribution_status_id") == 1 else 0)
            self.state.rows[entity][row["id"]] = row
        else:
            row = existing
            row.update(values)
        if entity in TRACKS_MODIFIED:
            row["modified_date"] = self.state.now()
        if entity == "Contact":
            names = " ".join(str(row.get(f) or "") for f in ("first_name", "last_name")).strip()
            row["display_name"] = values.get("display_name") or names or row.get("organization_name") or ""
            row["sort_name"] = row["display_name"]
        if entity == "Email" and row.get("is_primary"):
            previous = self.state.primary_email.get(row.get("contact_id"))  # type: ignore[arg-type]
            if previous is not None and previous is not row:
                previous["is_primary"] = False
            self.state.primary_email[row["contact_id"]] = row
        if entity == "Contribution" and row.get("invoice_id"):
            self.state.invoices[str(row["invoice_id"]).lower()] = row["id"]
        return row

    def _required(self, entity: str, values: dict[str, Any]) -> None:
        required = {"Contact": ["contact_type"], "Email": ["contact_id", "email"], "Group": ["title"],
                    "GroupContact": ["group_id", "contact_id"], "ContributionSoft": ["contribution_id", "contact_id",
                                                                                     "amount"],
                    "Contribution": ["contact_id", "financial_type_id", "total_amount"],
                    "ContributionRecur": ["contact_id", "amount"], "EntityTag": ["tag_id", "entity_id"],
                    "Tag": ["name"]}.get(entity, [])
        missing = [f for f in required if values.get(f) in (None, "") and values.get(f"{f}:name") in (None, "")]
        if entity == "Contact" and values.get("contact_type", "Individual"):
            missing = [m for m in missing if m != "contact_type"]
        if missing:
            raise ApiError(f"Mandatory values missing from Api4 {entity}::create: {', '.join(missing)}")

    def create(self, entity: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``create`` with ``values`` (and ``chain``)."""
        values = dict(params.get("values") or {})
        if entity == "Contact":
            values.setdefault("contact_type", "Individual")
        self._required(entity, values)
        row = self._write(entity, values)
        return [self.chain(entity, dict(row), params)]

    def _targets(self, entity: str, params: dict[str, Any], action: str) -> list[dict[str, Any]]:
        where = params.get("where")
        if not where:
            raise ApiError(f"Parameter \"where\" is required for {entity}::{action}")
        return [r for r in self.state.rows[entity].values() if all(self.matches(entity, r, c) for c in where)]

    def update(self, entity: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``update``: ``where`` is required."""
        values = {k: v for k, v in (params.get("values") or {}).items() if k != "id"}
        return [{"id": self._write(entity, values, r)["id"]} for r in self._targets(entity, params, "update")]

    def delete(self, entity: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``delete``: ``where`` is required; a Contact goes to the trash unless ``useTrash`` is false."""
        rows = self._targets(entity, params, "delete")
        for r in rows:
            if entity == "Contact" and params.get("useTrash", True):
                self._write(entity, {"is_deleted": True}, r)
            else:
                del self.state.rows[entity][r["id"]]
                if entity == "Contribution" and r.get("invoice_id"):
                    self.state.invoices.pop(str(r["invoice_id"]).lower(), None)
        return [{"id": r["id"]} for r in rows]

    def save(self, entity: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``save``: records merged with defaults; ``match`` updates only when exactly one row matches."""
        out = []
        match = params.get("match") or []
        for record in params.get("records") or []:
            values = {**(params.get("defaults") or {}), **record}
            existing = self.state.rows[entity].get(values["id"]) if values.get("id") else None
            if values.get("id") and existing is None:
                raise ApiError(f"{entity} id {values['id']} not found")
            if existing is None and match:
                found = [r for r in self.state.rows[entity].values()
                         if all(self._eq(self.value(entity, r, m), values.get(m)) for m in match)]
                existing = found[0] if len(found) == 1 else None
            if existing is None:
                if entity == "Contact":
                    values.setdefault("contact_type", "Individual")
                self._required(entity, values)
            row = self._write(entity, {k: v for k, v in values.items() if k != "id"}, existing)
            out.append(self.chain(entity, dict(row), params))
        return out

    def chain(self, entity: str, row: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Run ``chain`` calls for one result row, with ``$id`` replaced by the row's id."""
        for name, spec in (params.get("chain") or {}).items():
            sub_entity, sub_action, sub_params = spec[0], spec[1], spec[2] if len(spec) > 2 else {}
            text = json.dumps(sub_params).replace('"$id"', json.dumps(row["id"]))
            result = self.call(sub_entity, sub_action, json.loads(text))
            row[name] = result["values"] if isinstance(result, dict) else result
        return row

    def order_create(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``Order.create``: a Pending contribution totalling its line items."""
        values = dict(params.get("contributionValues") or {})
        items = params.get("lineItems") or []
        total = sum((_dec(i.get("line_total", _dec(i.get("qty", 1)) * _dec(i.get("unit_price", 0))))
                     for i in items), Decimal(0))
        values.update({"total_amount": float(total), "contribution_status_id": 2, "fee_amount": 0.0,
                       "net_amount": float(total), "paid_amount": 0.0})
        values.pop("contribution_status_id:name", None)
        values.setdefault("invoice_id", random.getrandbits(128).to_bytes(16, "big").hex())
        values.setdefault("currency", "USD")
        values.setdefault("is_test", False)
        values.setdefault("receive_date", self.state.now())
        self._required("Contribution", values)
        row = self._write("Contribution", values)
        for item in items:
            self._write("LineItem", {**item, "contribution_id": row["id"], "entity_table": "civicrm_contribution",
                                     "entity_id": row["id"]})
        return [dict(row)]

    def payment_create(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``Payment.create``: record a payment (no dedupe) and move the contribution's status."""
        values = dict(params.get("values") or {})
        for required in ("contribution_id", "total_amount"):
            if values.get(required) in (None, ""):
                raise ApiError(f"Mandatory values missing from Api4 Payment::create: {required}")
        contribution = self.state.rows["Contribution"].get(int(values["contribution_id"]))
        if contribution is None:
            raise ApiError(f"Contribution id {values['contribution_id']} not found")
        amount, fee = _dec(values["total_amount"]), _dec(values.get("fee_amount"))
        payment = self._write("Payment", {"trxn_id": values.get("trxn_id"), "total_amount": float(amount),
                                          "fee_amount": float(fee), "net_amount": float(amount - fee),
                                          "trxn_date": values.get("trxn_date") or self.state.now(),
                                          "currency": contribution.get("currency"), "is_payment": True,
                                          "payment_instrument_id": values.get("payment_instrument_id"),
                                          "_contribution_id": contribution["id"]})
        self.state.payments.setdefault(contribution["id"], []).append(payment)
        if payment.get("trxn_id"):
            self.state.trxn_ids.setdefault(str(payment["trxn_id"]).lower(), []).append(payment)
        payments = self.state.payments[contribution["id"]]
        paid = sum((_dec(p["total_amount"]) for p in payments), Decimal(0))
        refunded = any(_dec(p["total_amount"]) < 0 for p in payments)
        total = _dec(contribution["total_amount"])
        if refunded and paid <= 0:
            status = 7
        elif paid >= total or refunded:
            status = 1
        else:
            status = 8 if paid > 0 else 2
        fees = _dec(contribution.get("fee_amount")) + fee
        trxn = ",".join(t for t in (contribution.get("trxn_id"), values.get("trxn_id")) if t)
        self._write("Contribution", {"contribution_status_id": status, "paid_amount": float(paid),
                                     "fee_amount": float(fees), "net_amount": float(total - fees),
                                     "trxn_id": trxn}, contribution)
        return [{k: v for k, v in payment.items() if not k.startswith("_")}]

    def get_duplicates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``Contact.getDuplicates`` with the unsupervised rule: same email, not in the trash."""
        email = str((params.get("values") or {}).get("email_primary.email") or "").lower()
        ids = sorted({e["contact_id"] for e in self.state.rows["Email"].values()
                      if str(e.get("email", "")).lower() == email and email
                      and not self.state.rows["Contact"].get(e["contact_id"], {}).get("is_deleted")})
        return [{"id": i} for i in ids]

    def system_check(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """``System.check``: nothing to report."""
        return []


class FakeCiviCRM(LoopbackService):
    """The HTTP side: a threaded WSGI server on 127.0.0.1 serving :class:`FakeApi`."""

    def __init__(self, api_key: str = "test-civi-key", site_key: str | None = "test-site-key",
                 timezone: str = "Europe/Amsterdam", base_path: str = "") -> None:
        self.api_key = api_key
        self.site_key = site_key
        self.base_path = base_path.rstrip("/")
        self.state = FakeState(ZoneInfo(timezone))
        self.api = FakeApi(self.state)
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.maintenance = False
        self.requests = 0
        self.calls = 0
        self.raw_json_bodies = 0
        self.log: list[tuple[str, str]] = []

    # -- lifecycle -----------------------------------------------------------------------------------
    def _make_server(self) -> BaseWSGIServer:
        return make_server("127.0.0.1", 0, self.wsgi, threaded=True)

    @property
    def url(self) -> str:
        """The base URL to configure as ``[civicrm] url``."""
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    # -- test helpers --------------------------------------------------------------------------------
    def inject(self, entity: str | None, action: str | None, status: int, times: int = 1, after: bool = False) -> None:
        """Make the next ``times`` matching calls fail with ``status`` (after carrying them out if ``after``)."""
        self.faults.append(Fault(entity, action, status, times, after))

    def rows(self, entity: str) -> list[dict[str, Any]]:
        """Every stored row of an entity (copies), by id."""
        with self.lock:
            return [dict(r) for _, r in sorted(self.state.rows[entity].items())]

    def seed(self, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        """Create a row directly (no HTTP), as if a user had entered it in CiviCRM."""
        with self.lock:
            if entity == "Order":
                return self.api.order_create(values)[0]
            if entity == "Payment":
                return self.api.payment_create({"values": values})[0]
            return self.api.create(entity, {"values": values})[0]

    # -- HTTP ----------------------------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """The WSGI entry point."""
        request = Request(environ)
        with self.lock:
            self.requests += 1
            response = self._handle(request)
        return response(environ, start_response)

    @staticmethod
    def _json(data: Any, status: int) -> Response:
        return Response(json.dumps(data, default=str), status=status, mimetype="application/json")

    def _handle(self, request: Request) -> Response:
        path = request.path
        if request.args.get("q"):  # WordPress-style routing: ?page=CiviCRM&q=civicrm/ajax/api4/...
            path = self.base_path + "/" + request.args["q"].lstrip("/")
        prefix = self.base_path + API_PREFIX
        if not path.startswith(prefix):
            return Response("Not Found", status=404, mimetype="text/plain")
        if self.maintenance:
            return self._json({"status_code": 503, "status_message": "Temporarily unavailable for maintenance."},
                              503)
        auth = request.headers.get("X-Civi-Auth")
        anonymous = auth is None
        if auth is not None:
            bearer = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
            if bearer != self.api_key or (self.site_key and request.headers.get("X-Civi-Key") != self.site_key):
                return Response("HTTP 401 Invalid credential", status=401, mimetype="text/plain")
        if request.headers.get("X-Requested-With") != "XMLHttpRequest":
            return self._json({"error_code": 400, "error_message": SECURITY_ALERT}, 400)
        parts = [p for p in path[len(prefix):].split("/") if p]
        if request.method not in ("GET", "POST"):
            return Response("Method Not Allowed", status=405, mimetype="text/plain")
        if request.mimetype == "application/json":
            self.raw_json_bodies += 1
        if len(parts) >= 2:
            entity, action = parts[0], parts[1]
            if request.method == "GET" and action != "autocomplete" and not action.lower().startswith("get"):
                return self._json({"error_code": 405, "error_message": GET_FOR_WRITE}, 405)
            raw = request.values.get("params")
            try:
                params = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                params = {}
            answer, status = self._execute(entity, action, params, anonymous)
            return self._json(answer, status)
        if request.method != "POST":
            return self._json({"error_code": 405, "error_message": GET_FOR_WRITE}, 405)
        raw_calls = request.form.get("calls")
        if not raw_calls:
            answer, status = self._failure(ApiError("Missing calls"))
            return self._json(answer, status)
        calls = json.loads(raw_calls)
        out: dict[str, Any] = {}
        final: int | None = None
        for name, call in calls.items():
            answer, status = self._execute(call[0], call[1], call[2] if len(call) > 2 else {}, anonymous)
            out[name] = answer
            final = 200 if status == 200 else (final or status)
        return self._json(out, final or 200)

    def _failure(self, exc: ApiError) -> tuple[dict[str, Any], int]:
        return ({"error_code": "1", "error_message": GENERIC_ERROR.format(error_id=_error_id()),
                 "status": exc.status}, exc.status)

    def _execute(self, entity: str, action: str, params: dict[str, Any], anonymous: bool) -> tuple[dict[str, Any], int]:
        self.calls += 1
        self.log.append((entity, action))
        if anonymous:
            return self._failure(ApiError("Authorization failed", 403))
        fault = next((f for f in self.faults if f.matches(entity, action)), None)
        if fault is not None:
            fault.times -= 1
            if not fault.after:
                return self._failure(ApiError("injected fault", fault.status))
        try:
            result = self.api.call(entity, action, dict(params))
        except (ApiError, KeyError, TypeError, ValueError) as exc:
            return self._failure(exc if isinstance(exc, ApiError) else ApiError(str(exc)))
        if fault is not None:
            return self._failure(ApiError("injected fault after commit", fault.status))
        answer = result if isinstance(result, dict) else {"values": result}
        values = answer["values"]
        return ({**answer, "entity": entity, "action": action, "version": 4, "count": len(values),
                 "countFetched": len(values)}, 200)
