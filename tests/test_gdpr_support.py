"""Shared pieces of the GDPR tests: fake privacy targets and a small, hand-checked supporter base.

No tests here. The fakes record every call, answer like the real targets (idempotent: a repeated action
answers not_found), and can crash on their k-th call or refuse a contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from vwfund.campaigns.gdpr.policy import Policy, load_policy
from vwfund.config import Config
from vwfund.identity import email_hash
from vwfund.models import (
    ConsentRecord,
    Contact,
    Donation,
    EngagementEvent,
    MailingMember,
    RecurringPlan,
)
from vwfund.store.database import Store
from vwfund.store.records import save_records
from vwfund.sync import PushedItem, PushOutcome
from vwfund.targets import ActionAnswer, TargetContact

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
AUDIENCE = "news"
#: Twelve monthly mailings, 2025-06-01 .. 2026-05-01: with N=12 the click window starts 2025-06-01.
MAILINGS = [(f"m{i:02d}", datetime(2025 + (5 + i) // 12, (5 + i) % 12 + 1, 1, 10, tzinfo=UTC)) for i in range(12)]


class Crash(RuntimeError):
    """A simulated kill in the middle of a run."""


@dataclass
class FakeTarget:
    """A PrivacyTarget that records calls; ``crash_on`` makes its k-th perform raise; ``refuse`` fails contacts."""

    name: str
    supported_actions: frozenset[str]
    crash_on: int | None = None
    refuse: set[int] = field(default_factory=set)
    calls: list[tuple[str, int]] = field(default_factory=list)
    performed: set[tuple[str, int]] = field(default_factory=set)
    tagged: list[tuple[str, int]] = field(default_factory=list)
    attempts: int = 0

    def perform(self, action: str, contact: TargetContact) -> ActionAnswer:
        """Carry out (record) an action; the same action twice answers not_found."""
        self.attempts += 1
        if self.crash_on is not None and self.attempts == self.crash_on:
            raise Crash(f"{self.name} killed on call {self.attempts}")
        if contact.contact_id in self.refuse:
            return ActionAnswer(False, f"{self.name} refused contact {contact.contact_id}")
        key = (action, contact.contact_id)
        self.calls.append(key)
        if key in self.performed:
            return ActionAnswer(True, "already done", not_found=True)
        self.performed.add(key)
        return ActionAnswer(True, f"{action} done in {self.name}")

    def tag(self, contacts: Sequence[TargetContact], tag: str) -> PushOutcome:
        """Tag contacts; every one is accepted."""
        self.tagged += [(tag, c.contact_id) for c in contacts]
        return PushOutcome(pushed=[PushedItem(scope=f"tag:{tag}", item=str(c.contact_id)) for c in contacts])

    def export(self, contact: TargetContact) -> dict[str, Any]:
        """What the fake holds: the actions done on the contact."""
        return {"system": self.name, "contact_id": contact.contact_id,
                "actions": sorted(a for a, c in self.performed if c == contact.contact_id)}


def mailchimp(**kw: Any) -> FakeTarget:
    """A fake with the Mailchimp target's actions (and tagging)."""
    return FakeTarget("mailchimp", frozenset({"archive", "delete_permanently", "remove_consent"}), **kw)


def civicrm(**kw: Any) -> FakeTarget:
    """A fake with the CiviCRM target's actions (no tagging)."""
    target = FakeTarget("civicrm", frozenset({"anonymise", "remove_consent"}), **kw)
    return target


def policy(**gdpr: Any) -> Policy:
    """The policy of the tests: N=12 mailings, M=6 months, G=6 months, Y=2 years, unless overridden."""
    settings = {"inactive_campaigns": 12, "inactive_months": 6, "grace_months": 6, "no_gift_years": 2,
                "steward": "dpo-test", **gdpr}
    return load_policy(Config({"gdpr": settings}, env={}))


@dataclass(frozen=True)
class Person:
    """One supporter of the test base."""

    key: str
    email: str
    opted_in: datetime
    opens: int = 0
    click: datetime | None = None
    gift: datetime | None = None
    consent: bool = True
    monthly: bool = False
    tags: tuple[str, ...] = ()


#: The base, with what the policy must decide (derived by hand in each test's comment).
PEOPLE = [
    Person("opener", "opener@example.org", datetime(2020, 1, 1, tzinfo=UTC), opens=12),   # archive: opens only
    Person("clicker", "clicker@example.org", datetime(2020, 1, 1, tzinfo=UTC), click=datetime(2026, 3, 2, tzinfo=UTC)),
    Person("newcomer", "new@example.org", datetime(2026, 4, 1, tzinfo=UTC)),               # grace period
    Person("donor", "donor@example.org", datetime(2020, 1, 1, tzinfo=UTC), gift=datetime(2025, 10, 1, tzinfo=UTC)),
    Person("monthly", "monthly@example.org", datetime(2020, 1, 1, tzinfo=UTC), monthly=True),  # keep
    Person("noconsent", "=cmd@example.org", datetime(2020, 1, 1, tzinfo=UTC), click=datetime(2026, 4, 2, tzinfo=UTC),
           consent=False),                                                                     # remove consent
    Person("bequest", "bequest@example.org", datetime(2019, 1, 1, tzinfo=UTC), tags=("bequest-pledged",)),  # keep
    Person("sleeper", "sleeper@example.org", datetime(2018, 5, 1, tzinfo=UTC),
           gift=datetime(2021, 3, 1, tzinfo=UTC)),                                             # archive: old gift
]


def seed(store: Store, people: Sequence[Person] = PEOPLE, audience: str = AUDIENCE) -> dict[str, int]:
    """Write the base (as CiviCRM contacts linked to Mailchimp members); returns contact ids by key."""
    records: list[Any] = []
    for p in people:
        h = email_hash(p.email)
        records.append(Contact(source="civicrm", external_id=f"civi-{p.key}", email=p.email,
                               first_name=p.key.title(), last_name="Jansen", street="Dorpsstraat 1",
                               postcode="1234 AB", city="Utrecht", phone="+31 6 1234 5678"))
        records.append(Contact(source="mailchimp", external_id=h, email=p.email))
        records.append(MailingMember(audience=audience, email=p.email, status="subscribed", opted_in_at=p.opted_in,
                                     first_name=p.key.title(), last_name="Jansen", tags=p.tags))
        for mailing, at in MAILINGS:
            records.append(EngagementEvent(audience=audience, email_hash=h, mailing_id=mailing, kind="sent", at=at))
        for mailing, at in MAILINGS[: p.opens]:
            records.append(EngagementEvent(audience=audience, email_hash=h, mailing_id=mailing, kind="open",
                                           at=at + timedelta(hours=1)))
        if p.click:
            records.append(EngagementEvent(audience=audience, email_hash=h, mailing_id="m09", kind="click",
                                           at=p.click))
        if p.gift:
            records.append(Donation(source="civicrm", external_id=f"gift-{p.key}", contact_source="civicrm",
                                    contact_external_id=f"civi-{p.key}", amount_minor=2500, currency="EUR",
                                    status="succeeded", received_at=p.gift, public_name=f"{p.key.title()} Jansen",
                                    public_message=f"Sterkte! groet van {p.key}"))
        if p.consent:
            records.append(ConsentRecord(source="civicrm", external_id=f"consent-{p.key}", contact_source="civicrm",
                                         contact_external_id=f"civi-{p.key}", purpose="newsletter", granted=True,
                                         at=p.opted_in, evidence="Ja, ik wil de nieuwsbrief ontvangen (form v3)"))
        if p.monthly:
            records.append(RecurringPlan(source="civicrm", external_id=f"plan-{p.key}", contact_source="civicrm",
                                         contact_external_id=f"civi-{p.key}", amount_minor=1000, currency="EUR",
                                         started_at=datetime(2019, 1, 1, tzinfo=UTC)))
    with store.begin() as conn:
        save_records(conn, [r for r in records if isinstance(r, Contact)])
        save_records(conn, [r for r in records if not isinstance(r, Contact)])
    from sqlalchemy import select

    from vwfund.store.schema import contact_links
    with store.read() as conn:
        links = {r.external_id: r.contact_id for r in conn.execute(
            select(contact_links).where(contact_links.c.system == "civicrm"))}
    return {p.key: links[f"civi-{p.key}"] for p in people}


def add_records(store: Store, records: Sequence[Any]) -> None:
    """Save more records (a gift, a click, a consent after the plan)."""
    with store.begin() as conn:
        save_records(conn, records)
