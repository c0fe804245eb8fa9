"""Recorded Mailchimp payloads through the mapping and the store's save path."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from vwfund.connectors.mailchimp.mapping import activity_events, member_records
from vwfund.identity import email_hash
from vwfund.models import ConsentRecord, Contact, EngagementEvent, MailingMember
from vwfund.store.records import save_records
from vwfund.store.schema import consents, contacts, mailing_members

# Shaped like GET /lists/{id}/members answers (fields trimmed to those vwfund reads, values as Mailchimp sends them).
RECORDED = [
    {"id": email_hash("jan.peeters@example.be"), "email_address": "Jan.Peeters@example.be", "status": "subscribed",
     "merge_fields": {"FNAME": "Jan", "LNAME": "Peeters", "ADDRESS": ""}, "language": "nl",
     "stats": {"avg_open_rate": 0.25, "avg_click_rate": 0}, "member_rating": 3,
     "timestamp_opt": "2021-04-12T08:15:02+00:00", "last_changed": "2024-02-01T10:00:00+00:00",
     "marketing_permissions": [{"marketing_permission_id": "a1b2", "text": "Email", "enabled": True}],
     "tags": [{"id": 101, "name": "walk-2024"}], "list_id": "L1"},
    {"id": email_hash("left@example.be"), "email_address": "left@example.be", "status": "unsubscribed",
     "merge_fields": {"FNAME": "", "LNAME": ""}, "language": "", "stats": {}, "member_rating": 1,
     "timestamp_opt": "", "last_changed": "2024-02-03T10:00:00+00:00", "marketing_permissions": [],
     "tags": [], "list_id": "L1"},
    {"id": "x", "email_address": "not-an-address", "status": "subscribed", "last_changed": "2024-02-03T10:00:00Z"},
]


def test_recorded_members_become_contacts_members_and_consent(store):
    records = [r for m in RECORDED for r in member_records(m, "L1")]
    assert [type(r) for r in records] == [Contact, MailingMember, ConsentRecord, Contact, MailingMember]
    jan, jan_member, _consent, left, left_member = records
    assert (jan.email, jan.first_name, jan.is_opt_out) == ("jan.peeters@example.be", "Jan", False)
    assert jan_member.opted_in_at == datetime(2021, 4, 12, 8, 15, 2, tzinfo=UTC) and jan_member.tags == ("walk-2024",)
    assert left.is_opt_out and left.do_not_email and left.first_name is None and left_member.opted_in_at is None
    with store.begin() as conn:
        counts = save_records(conn, records)
    assert counts["contacts_created"] == 2 and counts["MailingMember"] == 2 and counts["ConsentRecord"] == 1
    with store.read() as conn:
        stored = conn.execute(select(consents)).one()
        member = conn.execute(select(mailing_members).where(mailing_members.c.email == "left@example.be")).one()
        left_id = conn.execute(select(contacts.c.id).where(contacts.c.email == "left@example.be")).scalar()
    assert stored.contact_id is not None and stored.granted
    assert member.status == "unsubscribed" and member.contact_id == left_id


def test_activity_gives_sent_open_and_click_and_ignores_the_rest():
    sent = datetime(2024, 5, 1, 9, tzinfo=UTC)
    row = {"campaign_id": "c1", "list_id": "L1", "email_id": "h1", "email_address": "a@example.org",
           "activity": [{"action": "open", "timestamp": "2024-05-01T10:00:00+00:00"},
                        {"action": "click", "timestamp": "2024-05-01T10:01:00+00:00", "url": "https://x"},
                        {"action": "bounce", "timestamp": "2024-05-01T09:00:05+00:00", "type": "hard"}]}
    events = list(activity_events(row, "L1", sent))
    assert [(e.kind, e.at) for e in events] == [
        ("sent", sent), ("open", datetime(2024, 5, 1, 10, tzinfo=UTC)), ("click", datetime(2024, 5, 1, 10, 1, tzinfo=UTC))]
    assert all(isinstance(e, EngagementEvent) and e.email_hash == "h1" for e in events)
