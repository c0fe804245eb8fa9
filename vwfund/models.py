"""Domain records: what connectors yield and the store keeps.

Amounts are integer minor units with a currency (see vwfund.money); instants are aware UTC.
A record from an outside system is identified by (source, external_id).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from vwfund.identity import normalise_email
from vwfund.money import Money, normalise_currency
from vwfund.timeutil import as_utc, utcnow


class Record(BaseModel):
    """Base of every domain record: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(StrEnum):
    """The systems records come from."""

    STRIPE = "stripe"
    MAILCHIMP = "mailchimp"
    CIVICRM = "civicrm"
    OFFLINE = "offline"
    DEMO = "demo"


class DonationStatus(StrEnum):
    """Life cycle of a gift. Only ``succeeded`` (net of refunds) counts as money raised."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"
    DISPUTED = "disputed"


#: Statuses whose gross amount counts (refunded_minor is subtracted from it).
COUNTED_STATUSES = (DonationStatus.SUCCEEDED, DonationStatus.PARTIALLY_REFUNDED, DonationStatus.REFUNDED)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
"""An instant, converted to aware UTC (a naive value is read as local time)."""
Email = Annotated[str | None, BeforeValidator(normalise_email)]
"""An email, trimmed and lowercased; malformed ones are refused."""
Currency = Annotated[str, BeforeValidator(normalise_currency)]
"""An ISO 4217 code, upper-cased; unknown codes are refused."""


class ContactRef(Record):
    """A contact's id in one outside system."""

    system: str
    external_id: str


class Contact(Record):
    """A person (or organisation) as one outside system knows them."""

    source: str
    external_id: str
    email: Email = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    language: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    phone: str | None = None
    do_not_email: bool = False
    is_opt_out: bool = False
    do_not_mail: bool = False
    is_deceased: bool = False
    is_deleted: bool = False
    updated_at: UtcDateTime | None = None


class ConsentRecord(Record):
    """Evidence of consent given or withdrawn (GDPR art. 7(1))."""

    source: str
    external_id: str
    contact_source: str
    contact_external_id: str
    purpose: str
    channel: str = "email"
    granted: bool
    at: UtcDateTime
    evidence: str | None = None


class Donation(Record):
    """A gift. Amounts in minor units of ``currency``; refunded_minor is a running total."""

    source: str
    external_id: str
    contact_source: str | None = None
    contact_external_id: str | None = None
    amount_minor: int = Field(ge=0)
    currency: Currency
    fee_minor: int = 0
    refunded_minor: int = Field(default=0, ge=0)
    status: DonationStatus
    received_at: UtcDateTime
    campaign: str | None = None
    team: str | None = None
    walker: str | None = None
    channel: str | None = None
    recurring_plan: str | None = None
    anonymous: bool = False
    public_name: str | None = None
    public_message: str | None = None
    matched: bool = False
    is_test: bool = False
    payout_id: str | None = None
    #: When this state was read from its source: an older state never overwrites a newer one (a list page
    #: read before a refund, saved after the refund's webhook, is ignored). Connectors set it to the time
    #: the answer arrived; it defaults to the moment the record is made.
    observed_at: UtcDateTime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _refund_within_amount(self) -> Donation:
        if self.refunded_minor > self.amount_minor:
            raise ValueError("refunded amount exceeds the gift")
        return self

    @property
    def amount(self) -> Money:
        """Gross amount."""
        return Money(self.amount_minor, self.currency)

    @property
    def net_of_refunds(self) -> Money:
        """Gross minus refunds (fees not subtracted)."""
        return Money(self.amount_minor - self.refunded_minor, self.currency)


class RecurringPlan(Record):
    """A monthly (or other interval) giving plan."""

    source: str
    external_id: str
    contact_source: str | None = None
    contact_external_id: str | None = None
    amount_minor: int = Field(ge=0)
    currency: Currency
    interval: str = "month"
    status: str = "active"
    started_at: UtcDateTime
    ended_at: UtcDateTime | None = None
    campaign: str | None = None


class CampaignKind(StrEnum):
    """The kinds of fundraising campaign."""

    APPEAL = "appeal"
    CROWDFUNDING = "crowdfunding"
    WALK = "walk"


class Campaign(Record):
    """A fundraising campaign, keyed by a short code used in metadata and imports."""

    code: str
    name: str
    kind: CampaignKind = CampaignKind.APPEAL
    currency: Currency = "EUR"
    goal_minor: int | None = None
    starts_at: UtcDateTime | None = None
    ends_at: UtcDateTime | None = None
    settings: dict[str, Any] = Field(default_factory=dict)


class MailingMember(Record):
    """A member of a newsletter audience, with engagement."""

    audience: str
    email: Annotated[str, BeforeValidator(normalise_email)]
    status: str
    first_name: str | None = None
    last_name: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    opted_in_at: UtcDateTime | None = None
    last_changed: UtcDateTime | None = None
    avg_open_rate: float | None = None
    avg_click_rate: float | None = None
    member_rating: int | None = None
    marketing_permissions: dict[str, bool] = Field(default_factory=dict)


class EngagementEvent(Record):
    """One email campaign event for one member: sent, open or click."""

    audience: str
    email_hash: str
    mailing_id: str
    kind: str
    at: UtcDateTime


class GroupMembership(Record):
    """A contact's membership of a group in a system of record (CiviCRM groups), as last read."""

    source: str
    group_id: str
    group_name: str
    contact_external_id: str
    status: str = "added"


class GroupSnapshotDone(Record):
    """Marks a complete read of a source's group memberships: those not seen since ``started_at`` are gone."""

    source: str
    started_at: UtcDateTime


class Payout(Record):
    """Money paid out by a payment provider to the bank, with the gifts it settled."""

    source: str
    external_id: str
    amount_minor: int
    currency: Currency
    status: str
    arrival_at: UtcDateTime | None = None


class PayoutLine(Record):
    """One balance transaction inside a payout (a charge, refund, dispute or fee)."""

    source: str
    external_id: str
    payout_id: str
    kind: str
    donation_external_id: str | None = None
    gross_minor: int
    fee_minor: int
    net_minor: int
    currency: Currency


class AuditEntry(Record):
    """What was done to whom, by which rule, with the outside system's answer."""

    at: UtcDateTime
    actor: str
    action: str
    contact_id: int | None = None
    rule: str | None = None
    system: str | None = None
    before_digest: str | None = None
    after_digest: str | None = None
    answer: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
