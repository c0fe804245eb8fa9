"""The REST client and converters on payloads shaped as Stripe's API reference shows them (``responses``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from responses import matchers

from vwfund.connectors.stripe.api import StripeApi, encode_params
from vwfund.connectors.stripe.convert import charge_records, donation_status, email_contact_id, payout_line
from vwfund.connectors.stripe.links import create_donate_link
from vwfund.errors import InputError, RemoteError
from vwfund.http import IDEMPOTENT, make_session
from vwfund.models import Contact, Donation
from vwfund.money import Money

BASE = "https://api.stripe.com"


def reference_charge(**changes: Any) -> dict[str, Any]:
    """A charge as in Stripe's API reference (trimmed of fields we do not read), balance transaction expanded."""
    charge: dict[str, Any] = {
        "id": "ch_3MmlLrLkdIwHu7ix0snN0B15", "object": "charge", "amount": 1099, "amount_captured": 1099,
        "amount_refunded": 0, "application_fee": None, "balance_transaction": {
            "id": "txn_3MmlLrLkdIwHu7ix0uke3Ezy", "object": "balance_transaction", "amount": 1099,
            "available_on": 1679961600, "created": 1679090539, "currency": "usd", "fee": 62,
            "fee_details": [{"amount": 62, "currency": "usd", "description": "Stripe processing fees",
                             "type": "stripe_fee"}], "net": 1037, "reporting_category": "charge",
            "source": "ch_3MmlLrLkdIwHu7ix0snN0B15", "status": "pending", "type": "charge"},
        "billing_details": {"address": {"city": None, "country": None, "line1": None, "line2": None,
                                        "postal_code": None, "state": None},
                            "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": "Stripe", "captured": True, "created": 1679090539, "currency": "usd",
        "customer": None, "description": None, "disputed": False, "failure_code": None, "failure_message": None,
        "invoice": None, "livemode": False, "metadata": {}, "outcome": {"network_status": "approved_by_network",
                                                                          "type": "authorized"},
        "paid": True, "payment_intent": None, "payment_method": "card_1MmlLrLkdIwHu7ixIJwEWSNR",
        "receipt_email": None, "refunded": False, "refunds": {"object": "list", "data": [], "has_more": False,
                                                              "url": "/v1/charges/ch_3MmlLrLkdIwHu7ix0snN0B15/refunds"},
        "status": "succeeded",
    }
    charge.update(changes)
    return charge


def _donation(records: list[Any]) -> Donation:
    return next(r for r in records if isinstance(r, Donation))


def test_reference_charge_becomes_a_test_mode_gift_with_its_fee():
    gift = _donation(charge_records(reference_charge()))
    assert (gift.amount_minor, gift.fee_minor, gift.currency, gift.status, gift.is_test) == (
        1099, 62, "USD", "succeeded", True)
    assert gift.received_at.timestamp() == 1679090539


def test_zero_decimal_and_three_decimal_amounts_are_kept_as_given():
    jpy = _donation(charge_records(reference_charge(amount=1500, currency="jpy",
                                                    balance_transaction={"fee": 54, "net": 1446})))
    assert (jpy.amount_minor, jpy.fee_minor, str(jpy.amount)) == (1500, 54, "1500 JPY")
    kwd = _donation(charge_records(reference_charge(amount=1500, currency="kwd")))
    assert str(kwd.amount) == "1.500 KWD"


@pytest.mark.parametrize("refunded, dispute, expected", [
    (0, None, "succeeded"), (300, None, "partially_refunded"), (1099, None, "refunded"),
])
def test_status_from_the_running_refund_total(refunded, dispute, expected):
    assert donation_status(reference_charge(amount_refunded=refunded), dispute) == expected


@pytest.mark.parametrize("dispute, expected", [
    ("needs_response", "disputed"), ("under_review", "disputed"), ("lost", "disputed"),
    ("won", "succeeded"), ("warning_closed", "succeeded"),
])
def test_status_while_disputed(dispute, expected):
    assert donation_status(reference_charge(disputed=True), dispute) == expected


def test_pending_and_failed_charges():
    assert donation_status(reference_charge(status="pending", paid=False, balance_transaction=None)) == "pending"
    gift = _donation(charge_records(reference_charge(status="failed", paid=False, balance_transaction=None)))
    assert (gift.status, gift.fee_minor) == ("failed", 0)


def test_attribution_from_a_payment_link_and_public_fields():
    charge = reference_charge(
        payment_intent={"id": "pi_1", "object": "payment_intent", "metadata": {"campaign": "walk26", "team": "Ede"}},
        metadata={"walker": "jan", "display_name": "Jan", "message": "Go!", "anonymous": "true"})
    gift = _donation(charge_records(charge))
    assert (gift.campaign, gift.team, gift.walker) == ("walk26", "Ede", "jan")
    assert (gift.public_name, gift.public_message, gift.anonymous) == ("Jan", "Go!", True)


def test_guest_known_by_billing_email_only():
    charge = reference_charge(billing_details={"email": " Piet@Example.ORG ", "name": "Piet"})
    contact, gift = charge_records(charge)
    assert isinstance(contact, Contact)
    assert contact.external_id == email_contact_id("piet@example.org") == gift.contact_external_id
    assert "piet" not in contact.external_id


def test_payout_line_of_a_refund_points_at_its_charge():
    line = payout_line("po_1", {"id": "txn_2", "amount": -500, "fee": 0, "net": -500, "currency": "eur",
                                "type": "refund", "source": {"id": "re_1", "object": "refund", "charge": "ch_9"}})
    assert (line.donation_external_id, line.gross_minor, line.kind) == ("ch_9", -500, "refund")


def test_form_encoding_of_nested_metadata_and_line_items():
    encoded = encode_params({"line_items": [{"price": "price_1", "quantity": 1}], "metadata": {"campaign": "w"},
                             "expand": ["data.balance_transaction"], "custom": {"enabled": True}})
    assert encoded == [("line_items[0][price]", "price_1"), ("line_items[0][quantity]", "1"),
                       ("metadata[campaign]", "w"), ("expand[]", "data.balance_transaction"),
                       ("custom[enabled]", "true")]


@responses.activate
def test_list_pages_follow_starting_after_and_send_the_key():
    first = [reference_charge(id=f"ch_{i}") for i in (5, 4, 3)]
    second = [reference_charge(id=f"ch_{i}") for i in (2, 1)]
    auth = matchers.header_matcher({"Authorization": "Bearer sk_test_abcdef123456"})
    responses.get(f"{BASE}/v1/charges", json={"object": "list", "data": first, "has_more": True, "url": "/v1/charges"},
                  match=[matchers.query_param_matcher({"limit": "100", "created[lt]": "99"}), auth])
    responses.get(f"{BASE}/v1/charges", json={"object": "list", "data": second, "has_more": False,
                                              "url": "/v1/charges"},
                  match=[matchers.query_param_matcher({"limit": "100", "created[lt]": "99", "starting_after": "ch_3"})])
    api = StripeApi("sk_test_abcdef123456")
    pages = list(api.pages("/v1/charges", [("created[lt]", 99)]))
    assert [[c["id"] for c in data] for data, _ in pages] == [["ch_5", "ch_4", "ch_3"], ["ch_2", "ch_1"]]
    assert api.calls == 2


@responses.activate
def test_a_repeated_page_is_refused():
    page = {"object": "list", "data": [reference_charge(id="ch_1")], "has_more": True, "url": "/v1/charges"}
    responses.get(f"{BASE}/v1/charges", json=page)
    with pytest.raises(RemoteError, match="repeated a page"):
        list(StripeApi("sk_test_abcdef123456").pages("/v1/charges"))


@responses.activate
def test_429_is_retried_by_the_session():
    rate = responses.get(f"{BASE}/v1/balance", status=429, headers={"Retry-After": "1", "Stripe-Should-Retry": "true"},
                         json={"error": {"type": "invalid_request_error", "message": "Too many requests"}})
    api = StripeApi("sk_test_abcdef123456", session=make_session(backoff=0))
    ok = responses.get(f"{BASE}/v1/balance", json={"object": "balance", "livemode": False})
    body = api.get("/v1/balance")  # responses serves the registrations in order: 429, then 200
    assert body["object"] == "balance"
    assert (rate.call_count, ok.call_count, api.calls) == (1, 1, 1)


@responses.activate
def test_error_answer_is_one_line_with_request_id_and_no_key():
    responses.get(f"{BASE}/v1/charges/ch_x", status=404, headers={"Request-Id": "req_123"},
                  json={"error": {"type": "invalid_request_error", "code": "resource_missing",
                                  "message": "No such charge: 'ch_x'"}})
    api = StripeApi("sk_test_abcdef123456")
    assert api.find("/v1/charges/ch_x") is None
    with pytest.raises(RemoteError) as err:
        api.get("/v1/charges/ch_x")
    assert "req_123" in str(err.value) and "abcdef123456" not in str(err.value)


@responses.activate
def test_donate_link_sends_metadata_and_idempotency_keys():
    price = responses.post(f"{BASE}/v1/prices", json={"id": "price_1", "object": "price"})
    link = responses.post(f"{BASE}/v1/payment_links", json={"id": "plink_1", "object": "payment_link",
                                                           "url": "https://buy.stripe.com/test_1"})
    api = StripeApi("sk_test_abcdef123456", session=make_session(retry_methods=IDEMPOTENT | {"POST"}))
    made = create_donate_link(api, "walk26", "EUR", team="Ede", amount=Money.parse("25", "EUR"))
    assert made.url == "https://buy.stripe.com/test_1"
    price_body = dict(p.split("=", 1) for p in price.calls[0].request.body.split("&"))
    assert price_body["unit_amount"] == "2500" and price_body["metadata%5Bteam%5D"] == "Ede"
    link_body = link.calls[0].request.body
    assert "payment_intent_data%5Bmetadata%5D%5Bcampaign%5D=walk26" in link_body
    assert all(c.request.headers.get("Idempotency-Key") for c in responses.calls)
    again = create_donate_link(api, "walk26", "EUR", team="Ede", amount=Money.parse("25", "EUR"))
    assert again.external_id == "plink_1"
    keys = [c.request.headers["Idempotency-Key"] for c in responses.calls]
    assert keys[0] == keys[2] and keys[1] == keys[3]  # the same link asked twice: Stripe makes one


def test_donate_link_refuses_empty_campaign():
    with pytest.raises(InputError):
        create_donate_link(StripeApi("sk_test_abcdef123456"), " ", "EUR")


def test_json_of_an_event_is_not_logged(caplog):
    from vwfund.connectors.stripe.events import describe_event

    text = describe_event({"id": "evt_1", "type": "charge.succeeded", "data": {"object": {"billing_details": {
        "email": "x@example.org"}}}})
    assert text == "evt_1 (charge.succeeded)" and "example.org" not in json.dumps(text)


def test_a_read_whose_answer_arrives_garbled_is_read_again_and_then_reported():
    api = StripeApi("sk_test_abcdef123456", session=make_session(backoff=0))
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/v1/charges/ch_1", body='{"id": "ch_1", "obj', status=200)
        rsps.add(responses.GET, f"{BASE}/v1/charges/ch_1", json=reference_charge(id="ch_1"))
        assert api.get("/v1/charges/ch_1")["id"] == "ch_1"
        rsps.add(responses.GET, f"{BASE}/v1/charges/ch_2", body="<html>bad gateway</html>", status=200)
        with pytest.raises(RemoteError, match=r"GET /v1/charges/ch_2 with something that is not JSON \(3 tries\)"):
            api.get("/v1/charges/ch_2")
    assert api.calls == 5
