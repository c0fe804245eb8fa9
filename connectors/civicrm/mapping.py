"""CiviCRM rows to domain records (and amounts between Decimal and minor units)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from vwfund.connectors.civicrm.client import CiviClient, to_decimal
from vwfund.errors import InputError, RemoteError
from vwfund.identity import normalise_email
from vwfund.models import Contact, Donation, DonationStatus, RecurringPlan, Source
from vwfund.money import Money

#: Our push gives each contribution it creates an invoice id with this prefix; the pull skips those.
PUSH_INVOICE_PREFIX = "vwfund:"

CONTACT_FIELDS = ["id", "contact_type", "first_name", "last_name", "display_name", "organization_name",
                  "preferred_language", "email_primary.email", "do_not_email", "is_opt_out", "do_not_mail",
                  "is_deleted", "is_deceased", "modified_date"]
CONTRIBUTION_FIELDS = ["id", "contact_id", "total_amount", "paid_amount", "fee_amount", "currency", "contribution_status_id:name",
                       "receive_date", "trxn_id", "invoice_id", "source", "campaign_id.name", "is_test",
                       "contribution_recur_id", "modified_date"]
RECUR_FIELDS = ["id", "contact_id", "invoice_id", "amount", "currency", "frequency_unit", "frequency_interval",
                "contribution_status_id:name", "start_date", "end_date", "cancel_date", "campaign_id.name",
                "modified_date"]

_DONATION_STATUS = {
    "Completed": DonationStatus.SUCCEEDED, "Refunded": DonationStatus.REFUNDED,
    "Chargeback": DonationStatus.DISPUTED, "Cancelled": DonationStatus.FAILED, "Failed": DonationStatus.FAILED,
}
_PLAN_STATUS = {"In Progress": "active", "Pending": "active", "Overdue": "active", "Processing": "active",
                "Cancelled": "cancelled", "Completed": "completed", "Failed": "failed"}


def minor_units(amount: Any, currency: str, where: str) -> int:
    """An amount from CiviCRM in minor units of ``currency``; a malformed one names the record."""
    try:
        return Money.from_decimal(to_decimal(amount), currency, source=str(amount)).minor
    except (InputError, ArithmeticError, ValueError) as exc:
        raise RemoteError(f"CiviCRM {where}: unusable amount ({exc})") from exc


def as_decimal(minor: int, currency: str) -> Decimal:
    """Minor units as the exact decimal amount CiviCRM takes."""
    return Money(minor, currency).amount


def to_contact(row: dict[str, Any], client: CiviClient, notes: list[str]) -> Contact:
    """A Contact from a ``Contact.get`` row; a malformed email is left out and noted (by contact id)."""
    try:
        email = normalise_email(row.get("email_primary.email"))
    except InputError:
        email = None
        notes.append(f"CiviCRM contact {row['id']}: malformed email left out")
    organisation = row.get("contact_type") == "Organization"
    return Contact(
        source=Source.CIVICRM, external_id=str(row["id"]), email=email,
        first_name=row.get("first_name") or None, last_name=row.get("last_name") or None,
        display_name=(row.get("organization_name") if organisation else row.get("display_name")) or None,
        language=row.get("preferred_language") or None,
        do_not_email=bool(row.get("do_not_email")), is_opt_out=bool(row.get("is_opt_out")),
        do_not_mail=bool(row.get("do_not_mail")), is_deleted=bool(row.get("is_deleted")),
        is_deceased=bool(row.get("is_deceased")), updated_at=client.from_civi_time(row.get("modified_date")),
    )


def pushed_by_us(row: dict[str, Any]) -> bool:
    """Whether a contribution was created by our own push (its invoice id carries our prefix)."""
    return str(row.get("invoice_id") or "").startswith(PUSH_INVOICE_PREFIX)


def to_donation(row: dict[str, Any], client: CiviClient) -> Donation:
    """A Donation from a ``Contribution.get`` row.

    Completed counts; a Completed contribution whose payments (``paid_amount``, refunds included) add up to
    less than its total was partly refunded. Refunded is refunded in full; Chargeback is disputed;
    Cancelled and Failed failed; every other status (Pending, Partially paid, In Progress...) is pending.
    """
    currency = str(row.get("currency") or "EUR")
    where = f"contribution {row['id']}"
    amount = minor_units(row.get("total_amount"), currency, where)
    status = _DONATION_STATUS.get(str(row.get("contribution_status_id:name")), DonationStatus.PENDING)
    refunded = amount if status == DonationStatus.REFUNDED else 0
    if status == DonationStatus.SUCCEEDED and row.get("paid_amount") is not None:
        paid = max(0, minor_units(row["paid_amount"], currency, where))
        if paid < amount:
            refunded, status = amount - paid, DonationStatus.PARTIALLY_REFUNDED
    received = client.from_civi_time(row.get("receive_date")) or client.from_civi_time(row.get("modified_date"))
    if received is None:
        raise RemoteError(f"CiviCRM {where} has no receive date")
    return Donation(
        source=Source.CIVICRM, external_id=str(row["id"]),
        contact_source=Source.CIVICRM if row.get("contact_id") else None,
        contact_external_id=str(row["contact_id"]) if row.get("contact_id") else None,
        amount_minor=amount, currency=currency, fee_minor=minor_units(row.get("fee_amount"), currency, where),
        refunded_minor=refunded, status=status, received_at=received,
        campaign=row.get("campaign_id.name") or None, channel="civicrm",
        recurring_plan=str(row["contribution_recur_id"]) if row.get("contribution_recur_id") else None,
        is_test=bool(row.get("is_test")),
    )


def to_plan(row: dict[str, Any], client: CiviClient) -> RecurringPlan:
    """A RecurringPlan from a ``ContributionRecur.get`` row."""
    currency = str(row.get("currency") or "EUR")
    unit = str(row.get("frequency_unit") or "month")
    every = int(row.get("frequency_interval") or 1)
    started = client.from_civi_time(row.get("start_date")) or client.from_civi_time(row.get("modified_date"))
    if started is None:
        raise RemoteError(f"CiviCRM recurring contribution {row['id']} has no start date")
    return RecurringPlan(
        source=Source.CIVICRM, external_id=str(row["id"]),
        contact_source=Source.CIVICRM if row.get("contact_id") else None,
        contact_external_id=str(row["contact_id"]) if row.get("contact_id") else None,
        amount_minor=minor_units(row.get("amount"), currency, f"recurring contribution {row['id']}"),
        currency=currency, interval=unit if every == 1 else f"{every} {unit}",
        status=_PLAN_STATUS.get(str(row.get("contribution_status_id:name")), "active"), started_at=started,
        ended_at=client.from_civi_time(row.get("end_date") or row.get("cancel_date")),
        campaign=row.get("campaign_id.name") or None,
    )
