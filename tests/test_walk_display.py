"""How sponsors appear in public: as they chose, anonymous when asked, never with an email or phone number."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from vwfund.campaigns.walk.display import sponsor_label, sponsor_message
from vwfund.campaigns.walk.totals import Gift

BASE = Gift(external_id="g", source="stripe", amount_minor=1000, currency="EUR", fee_minor=0, refunded_minor=0,
            status="succeeded", is_test=False, received_at=datetime(2024, 10, 1, tzinfo=UTC), team="t", walker=None,
            matched=False, anonymous=False, public_name=None, public_message=None, contact_id=1,
            first_name="Jan", last_name="de Vries")


@pytest.mark.parametrize("changes, shown", [
    ({}, "Jan D."),
    ({"public_name": "  Familie Peeters "}, "Familie Peeters"),
    ({"anonymous": True, "public_name": "Familie Peeters"}, "anonymous"),
    ({"public_name": "jan@example.org"}, "Jan D."),  # an email typed as a name is never shown
    ({"first_name": None, "last_name": None}, "anonymous"),
    ({"last_name": None}, "Jan"),
    ({"first_name": "jan@example.org"}, "anonymous"),
])
def test_sponsor_label(changes: dict[str, object], shown: str) -> None:
    assert sponsor_label(replace(BASE, **changes), "anonymous") == shown


def test_messages_lose_contact_details_and_keep_the_rest() -> None:
    gift = replace(BASE, public_message="Call me on +32 470 12 34 56 or mail jan@example.org! Walk on 12-10-2024")
    message = sponsor_message(gift)
    assert message is not None
    assert "470" not in message and "@" not in message
    assert "12-10-2024" in message and message.startswith("Call me on")
    assert sponsor_message(replace(BASE, public_message="  ")) is None
