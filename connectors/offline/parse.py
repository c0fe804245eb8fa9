"""Turning rows of an offline file into domain records, checking every value.

Donations columns (only ``amount``, ``currency`` and ``received_at`` are required):
    external_id, email, first_name, last_name, amount, currency, received_at, status, refunded_amount, fee,
    campaign, team, walker, channel, anonymous, message, display_name, recurring_plan
Contacts columns: external_id, email, first_name, last_name, language, street, postcode, city, country,
    phone, consent_email, consent_at, consent_source

Amounts: "12.50" or "12,50" (also "1.234,56" / "1,234.56"); an ambiguous "1.234" is refused.
Dates: YYYY-MM-DD, DD-MM-YYYY or ISO 8601 date-times; a date without a zone is the organisation's local time.
A row without ``external_id`` gets a stable one: ``row-`` + the first 20 hex digits of the SHA-256 of its
values, + ``-N`` for the N-th identical row of the file, so importing the same file again changes nothing.
Contacts are keyed by ``email:`` + a hash of the email (never by name).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from vwfund.connectors.offline.rows import Row
from vwfund.errors import InputError
from vwfund.identity import normalise_email
from vwfund.models import ConsentRecord, Contact, Donation, DonationStatus, Source
from vwfund.money import Money, normalise_currency
from vwfund.timeutil import as_utc, parse_instant

DONATION_COLUMNS = (
    "external_id",
    "email",
    "first_name",
    "last_name",
    "amount",
    "currency",
    "received_at",
    "status",
    "refunded_amount",
    "fee",
    "campaign",
    "team",
    "walker",
    "channel",
    "anonymous",
    "message",
    "display_name",
    "recurring_plan",
)
CONTACT_COLUMNS = (
    "external_id",
    "email",
    "first_name",
    "last_name",
    "language",
    "street",
    "postcode",
    "city",
    "country",
    "phone",
    "consent_email",
    "consent_at",
    "consent_source",
)
MAX_REPORTED = 50
_TRUE = {"1", "true", "yes", "y", "ja", "j", "oui", "x"}
_FALSE = {"0", "false", "no", "n", "nee", "non", ""}
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_CODE = re.compile(r"^[\w .&'()/-]{1,200}$", re.UNICODE)


class RowError(Exception):
    """A bad value in one column of one row."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


@dataclass
class Parsed:
    """Records from a file, or the problems that stop it from being saved."""

    records: list[Any] = field(default_factory=list)
    rows: int = 0
    problems: list[str] = field(default_factory=list)


def check_columns(path: str, columns: list[str], allowed: tuple[str, ...], required: tuple[str, ...]) -> None:
    """Refuse unknown or missing columns, suggesting the closest name."""
    problems = []
    for column in columns:
        if column not in allowed:
            close = difflib.get_close_matches(column, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown column {column!r}{hint}")
    problems += [f"missing column {c!r}" for c in required if c not in columns]
    if problems:
        raise InputError(f"{path}, line 1: " + "; ".join(problems) + f". Columns: {', '.join(allowed)}")


def _flag(value: str | None, column: str) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowError(column, f"expected yes or no, not {value!r}")


def _instant(value: str | None, column: str, tz: str) -> datetime:
    if not value:
        raise RowError(column, "missing date")
    m = _DMY.match(value.strip())
    try:
        if m:
            day, month, year = (int(g) for g in m.groups())
            return as_utc(datetime(year, month, day), tz)
        return parse_instant(value, tz)
    except (InputError, ValueError) as exc:
        raise RowError(column, f"malformed date {value!r}: use YYYY-MM-DD or DD-MM-YYYY") from exc


def _money(value: str | None, currency: str, column: str) -> int:
    if value is None:
        return 0
    try:
        amount = Money.parse(value, currency)
    except InputError as exc:
        raise RowError(column, str(exc)) from exc
    if amount.minor < 0:
        raise RowError(column, f"negative amount {value!r}: record refunds in refunded_amount")
    return amount.minor


def _code(value: str | None, column: str) -> str | None:
    if value is None:
        return None
    if not _CODE.match(value):
        raise RowError(column, f"{column} {value!r} has characters a code cannot have")
    return value


def _stable_id(values: dict[str, str | None], seen: Counter[str]) -> str:
    canonical = "\x1f".join(f"{k}={values.get(k) or ''}" for k in sorted(values) if k != "external_id")
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]
    seen[digest] += 1
    return f"row-{digest}-{seen[digest]}"


def contact_key(email: str) -> str:
    """The offline system's id for a contact: derived from the email, not showing it."""
    return "email:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:24]


def _contact(values: dict[str, str | None], fields: Iterable[str]) -> Contact | None:
    try:
        email = normalise_email(values.get("email"))
    except InputError as exc:
        raise RowError("email", str(exc)) from exc
    if not email:
        return None
    data = {f: values.get(f) for f in fields if values.get(f) is not None}
    return Contact(source=Source.OFFLINE, external_id=contact_key(email), **{**data, "email": email})


def donation_rows(values: dict[str, str | None], tz: str, seen: Counter[str]) -> list[Any]:
    """The records of one donations row: its contact (when it has an email) and the gift."""
    try:
        currency = normalise_currency(values.get("currency") or "")
    except InputError as exc:
        raise RowError("currency", str(exc)) from exc
    if values.get("amount") is None:
        raise RowError("amount", "missing amount")
    amount = _money(values.get("amount"), currency, "amount")
    refunded = _money(values.get("refunded_amount"), currency, "refunded_amount")
    fee = _money(values.get("fee"), currency, "fee")
    if refunded > amount:
        raise RowError("refunded_amount", "refunded amount is more than the gift")
    status_text = (values.get("status") or "succeeded").lower()
    try:
        status = DonationStatus(status_text)
    except ValueError as exc:
        raise RowError(
            "status", f"unknown status {status_text!r}: use one of {', '.join(s.value for s in DonationStatus)}"
        ) from exc
    contact = _contact(values, ("first_name", "last_name"))
    external_id = values.get("external_id") or _stable_id(values, seen)
    try:
        gift = Donation(
            source=Source.OFFLINE,
            external_id=external_id,
            contact_source=Source.OFFLINE if contact else None,
            contact_external_id=contact.external_id if contact else None,
            amount_minor=amount,
            currency=currency,
            fee_minor=fee,
            refunded_minor=refunded,
            status=status,
            received_at=_instant(values.get("received_at"), "received_at", tz),
            campaign=_code(values.get("campaign"), "campaign"),
            team=_code(values.get("team"), "team"),
            walker=_code(values.get("walker"), "walker"),
            channel=values.get("channel") or "offline",
            recurring_plan=values.get("recurring_plan"),
            anonymous=_flag(values.get("anonymous"), "anonymous"),
            public_name=values.get("display_name"),
            public_message=values.get("message"),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RowError(str(first["loc"][0]) if first["loc"] else "row", first["msg"]) from exc
    return [r for r in (contact, gift) if r is not None]


def contact_rows(values: dict[str, str | None], tz: str, seen: Counter[str]) -> list[Any]:
    """The records of one contacts row: the contact and, when given, its email consent with evidence."""
    contact = _contact(
        values, ("first_name", "last_name", "language", "street", "postcode", "city", "country", "phone")
    )
    if contact is None:
        raise RowError("email", "a contact needs an email address (contacts are never matched on name)")
    records: list[Any] = [contact]
    if values.get("consent_email") is not None:
        granted = _flag(values.get("consent_email"), "consent_email")
        at = _instant(values.get("consent_at"), "consent_at", tz)
        source = values.get("consent_source")
        if not source:
            raise RowError("consent_source", "consent needs its evidence: where and how it was given")
        records.append(
            ConsentRecord(
                source=Source.OFFLINE,
                external_id=f"{contact.external_id}:email:{at.isoformat()}",
                contact_source=Source.OFFLINE,
                contact_external_id=contact.external_id,
                purpose="newsletter",
                channel="email",
                granted=granted,
                at=at,
                evidence=source,
            )
        )
    return records


def parse_rows(
    path: str, rows: Iterable[Row], convert: Callable[[dict[str, str | None], str, Counter[str]], list[Any]], tz: str
) -> Parsed:
    """Convert every row; collect problems as "line N, column C: message" (the first 50 of them)."""
    parsed = Parsed()
    seen: Counter[str] = Counter()
    total_problems = 0
    for row in rows:
        parsed.rows += 1
        try:
            if "__error__" in row.values:
                raise RowError("row", str(row.values["__error__"]))
            parsed.records.extend(convert(row.values, tz, seen))
        except RowError as exc:
            total_problems += 1
            if len(parsed.problems) < MAX_REPORTED:
                where = f"line {row.line}" + (f", column {exc.column}" if exc.column != "row" else "")
                parsed.problems.append(f"{path}, {where}: {exc}")
    if total_problems > MAX_REPORTED:
        parsed.problems.append(f"... and {total_problems - MAX_REPORTED} more problems")
    return parsed
