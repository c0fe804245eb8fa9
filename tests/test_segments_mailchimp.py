"""A segment pushed through the real Mailchimp connector to the local fake Marketing API."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from conftest import point_at_mailchimp
from sqlalchemy import select

from vwfund import nightly
from vwfund.campaigns.segments.push import push_segment
from vwfund.campaigns.segments.runs import run_segments
from vwfund.campaigns.segments.settings import load_settings
from vwfund.models import ConsentRecord, Contact, Donation
from vwfund.store.records import save_records
from vwfund.store.schema import contacts
from vwfund.sync import pushed_items
from vwfund.testing.fake_mailchimp import FakeMailchimp

LIST = "list0001"


@pytest.fixture
def fake():
    with FakeMailchimp() as f:
        yield f


@pytest.fixture
def mc_app(app, fake):
    return point_at_mailchimp(app, fake, LIST)


def donor(app, ext: str, gifts: list[datetime]) -> int:
    with app.store.begin() as conn:
        save_records(conn, [
            Contact(source="civicrm", external_id=ext, email=f"{ext}@example.org", first_name=ext),
            ConsentRecord(source="civicrm", external_id=f"c-{ext}", contact_source="civicrm", contact_external_id=ext,
                          purpose="newsletter", granted=True, at=datetime(2023, 1, 1, tzinfo=UTC)),
            *[Donation(source="offline", external_id=f"{ext}-{i}", contact_source="civicrm", contact_external_id=ext,
                       amount_minor=2500, currency="EUR", status="succeeded", received_at=at)
              for i, at in enumerate(gifts)],
        ])
    with app.store.read() as conn:
        return conn.execute(select(contacts.c.id).where(contacts.c.email == f"{ext}@example.org")).scalar_one()


def tags(fake, email: str) -> list[str]:
    return [t["name"] for t in fake.member(LIST, email)["tags"]]


def test_lybunt_becomes_a_tag_and_leaves_it_when_the_donor_gives_again(mc_app, fake):
    last_year = datetime(2024, 5, 1, 10, tzinfo=UTC)
    ann = donor(mc_app, "ann", [last_year])
    donor(mc_app, "bob", [last_year, datetime(2025, 3, 1, 10, tzinfo=UTC)])
    results = nightly.push(mc_app, "mailchimp")  # the audience members exist before tags are set
    assert all(r.ok for r in results), [r.errors for r in results]
    settings = load_settings(mc_app.config)
    run_segments(mc_app.store, settings, date(2025, 6, 30))
    plan = push_segment(mc_app, "lybunt", "mailchimp")
    assert (plan.add, plan.remove) == ([ann], []) and tags(fake, "ann@example.org") == []
    plan = push_segment(mc_app, "lybunt", "mailchimp", apply=True)
    assert plan.result is not None and plan.result.ok, plan.result.errors
    assert tags(fake, "ann@example.org") == ["lybunt"] and tags(fake, "bob@example.org") == []
    # Ann gives again; the next run drops her from LYBUNT and the push removes the tag
    with mc_app.store.begin() as conn:
        save_records(conn, [Donation(source="offline", external_id="ann-again", contact_source="civicrm",
                                     contact_external_id="ann", amount_minor=1000, currency="EUR",
                                     status="succeeded", received_at=datetime(2025, 6, 1, 10, tzinfo=UTC))])
    run_segments(mc_app.store, settings, date(2025, 6, 30))
    plan = push_segment(mc_app, "lybunt", "mailchimp", apply=True)
    assert plan.remove == [ann] and tags(fake, "ann@example.org") == []
    with mc_app.store.read() as conn:
        assert pushed_items(conn, "mailchimp", "segment:lybunt") == {}
