"""Bad input, generated: the Stripe webhook endpoint and the segment filter language.

Webhook deliveries with random bodies, headers, signatures, stale timestamps, a valid signature over
malformed JSON or over something that is not an event, get 400; an event of a type vwfund does not use
gets 2xx (Stripe retries anything else for days); never a traceback, never a changed gift or contact.
Filter expressions either parse (and then compile and evaluate to yes/no on every row) or raise a
FilterError naming a column inside the expression; never another exception.

``VWFUND_FUZZ_EXAMPLES`` raises the number of examples (the benchmark does); ``VWFUND_FUZZ_COUNT_FILE``
names a file to which the inputs tried are written as JSON.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.test import Client

from vwfund.app import App
from vwfund.campaigns.segments.filters import (
    FLAG_FIELDS,
    MONEY_FIELDS,
    NUMERIC_FIELDS,
    FilterError,
    parse_filter,
)
from vwfund.campaigns.segments.selection import compile_filter
from vwfund.connectors.stripe.webhook import make_webhook_app
from vwfund.errors import ConfigError
from vwfund.store.schema import contacts, donations
from vwfund.testing.fake_stripe import FakeStripe, sign_payload, stripe_settings

EXAMPLES = int(os.environ.get("VWFUND_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SECRET = "whsec_fuzzsecret0123456789"
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _write_counts() -> Iterator[None]:
    """Report the inputs tried to the benchmark, when it asks."""
    yield
    target = os.environ.get("VWFUND_FUZZ_COUNT_FILE")
    if target:
        Path(target).write_text(json.dumps(dict(TRIED)))


# ---- the webhook endpoint -------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    """A started fake Stripe holding one charge (test mode)."""
    with FakeStripe() as f:
        f.state.clock_offset = -60
        f.add_charge(2500, email="an@example.org", metadata={"campaign": "walk26"})
        f.state.clock_offset = 0
        yield f


@pytest.fixture
def hook(sqlite_store: Any, builtin_plugins: Any, fake: FakeStripe) -> Iterator[tuple[App, Client]]:
    """The webhook app on a SQLite store, its secret set, reading objects back from the fake."""
    app = make_app(sqlite_store, builtin_plugins, stripe_settings(fake, SECRET))
    yield app, Client(make_webhook_app(app))
    app.close()


def _gifts_and_contacts(app: App) -> tuple[int, int]:
    with app.store.read() as conn:
        return (conn.execute(select(func.count()).select_from(donations)).scalar_one(),
                conn.execute(select(func.count()).select_from(contacts)).scalar_one())


def _deliver(client: Client, body: bytes, headers: dict[str, str]) -> Any:
    response = client.post("/webhook", data=body, headers=headers)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text, text
    return response, text


event_json = st.fixed_dictionaries({
    "id": st.one_of(st.text(min_size=1, max_size=20), st.just("evt_1")),
    "object": st.sampled_from(["event", "charge", "", "EVENT"]),
    "type": st.one_of(st.sampled_from(["charge.succeeded", "charge.refunded", "made.up", ""]), st.text(max_size=15)),
    "created": st.one_of(st.integers(min_value=-(2**40), max_value=2**40), st.none(), st.text(max_size=5)),
    "livemode": st.one_of(st.booleans(), st.none(), st.text(max_size=3)),
    "data": st.one_of(st.none(), st.fixed_dictionaries({"object": st.one_of(st.fixed_dictionaries({}), st.fixed_dictionaries(
        {"id": st.one_of(st.text(min_size=1, max_size=12), st.sampled_from(["ch_00000000000001", "cus_1", "po_1"]))},
        optional={"object": st.sampled_from(["charge", "customer", "payout", "x"]),
                  "amount": st.one_of(st.integers(), st.text(max_size=4)), "charge": st.text(max_size=8)}))})),
})


@FUZZ
@given(body=st.binary(max_size=300), signature=st.one_of(st.none(), st.text(max_size=80).filter(
    lambda t: "\n" not in t and "\r" not in t),  # a header cannot carry a line break
                                                         st.from_regex(r"t=-?\d{0,12},v1=[0-9a-f]{0,64}",
                                                                       fullmatch=True)))
def test_unsigned_or_badly_signed_deliveries_get_400_and_change_nothing(hook, body, signature):
    app, client = hook
    before = _gifts_and_contacts(app)
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    response, text = _deliver(client, body, headers)
    TRIED["webhook_bad_signature"] += 1
    assert response.status_code == 400, text
    assert _gifts_and_contacts(app) == before


@FUZZ
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      st.sampled_from([b"", b"{", b"[]", b"null", b'"event"', b"{\"object\": \"event\"}",
                                       b"{\"id\": \"evt_1\"}", b"\xff\xfe", b"{\"id\": \"evt_1\", \"object\": 1}"])))
def test_valid_signature_over_something_not_an_event_gets_400(hook, body):
    app, client = hook
    before = _gifts_and_contacts(app)
    response, text = _deliver(client, body, {"Stripe-Signature": sign_payload(body, SECRET)})
    TRIED["webhook_not_an_event"] += 1
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    is_event = isinstance(parsed, dict) and parsed.get("object") == "event" and bool(parsed.get("id"))
    if not is_event:
        assert response.status_code == 400, text
    assert _gifts_and_contacts(app) == before


@FUZZ
@given(event=event_json, age=st.one_of(st.integers(min_value=301, max_value=10**7),
                                       st.integers(min_value=-10**7, max_value=-301)))
def test_stale_or_future_signatures_get_400(hook, event, age):
    app, client = hook
    before = _gifts_and_contacts(app)
    body = json.dumps(event).encode()
    response, text = _deliver(client, body, {"Stripe-Signature": sign_payload(body, SECRET, int(time.time()) - age)})
    TRIED["webhook_stale"] += 1
    if age > 0:  # older than the 300 s tolerance: a replay
        assert response.status_code == 400, text
    else:  # signed in the future: never applied as anything but a verified event
        assert response.status_code in (200, 202, 400), text
    if response.status_code == 400:
        assert _gifts_and_contacts(app) == before


@FUZZ
@given(event=event_json, wrong_secret=st.booleans())
def test_fuzzed_events_are_refused_ignored_or_kept_never_a_traceback(hook, event, wrong_secret):
    app, client = hook
    before = _gifts_and_contacts(app)
    body = json.dumps(event).encode()
    response, text = _deliver(client, body,
                              {"Stripe-Signature": sign_payload(body, "whsec_other" if wrong_secret else SECRET)})
    TRIED["webhook_fuzzed_event"] += 1
    assert response.status_code in (200, 202, 400), text
    if wrong_secret:
        assert response.status_code == 400
    if response.status_code == 400 or event["type"] not in ("charge.succeeded", "charge.refunded"):
        assert _gifts_and_contacts(app) == before


@FUZZ
@given(etype=st.one_of(st.sampled_from(["made.up", "invoice.upcoming", "customer.tax_id.created", "ping"]),
                       st.from_regex(r"[a-z]{1,10}\.[a-z_]{1,12}", fullmatch=True)))
def test_a_valid_event_of_an_unknown_type_is_answered_2xx_and_stores_no_gift(hook, etype):
    app, client = hook
    before = _gifts_and_contacts(app)
    event = {"id": f"evt_fuzz_{TRIED['webhook_unknown_type']}", "object": "event", "type": etype,
             "created": int(time.time()), "livemode": False, "data": {"object": {"id": "x_1", "object": "thing"}}}
    body = json.dumps(event).encode()
    response, text = _deliver(client, body, {"Stripe-Signature": sign_payload(body, SECRET)})
    TRIED["webhook_unknown_type"] += 1
    assert response.status_code in (200, 202), text  # anything else and Stripe retries it for days
    assert _gifts_and_contacts(app)[0] == before[0]


def test_a_live_event_at_a_test_key_is_refused(hook):
    app, client = hook
    body = json.dumps({"id": "evt_live", "object": "event", "type": "charge.succeeded", "created": int(time.time()),
                       "livemode": True, "data": {"object": {"id": "ch_x", "object": "charge"}}}).encode()
    response, text = _deliver(client, body, {"Stripe-Signature": sign_payload(body, SECRET)})
    assert response.status_code == 400 and "mode" in text
    assert _gifts_and_contacts(app) == (0, 0)


# ---- the segment filter language ------------------------------------------------------------------------

SEGMENTS = ["lybunt", "major"]
ROWS = 5
COLUMNS: dict[str, Any] = {name: [(i * 37 + len(name)) % 9000 for i in range(ROWS)] for name in NUMERIC_FIELDS}
COLUMNS.update({name: [i % 2 == 0 for i in range(ROWS)] for name in FLAG_FIELDS})
COLUMNS.update({f"segment.{s}": bytearray([i % 3 == 0 for i in range(ROWS)]) for s in SEGMENTS})
WORDS = [*NUMERIC_FIELDS, *FLAG_FIELDS, *(f"segment.{s}" for s in SEGMENTS), "segment.unknown", "and", "or", "not",
         "AND", "Not", "true", "false", "=", "==", "!=", "<", "<=", ">", ">=", "=>", "(", ")", "0", "1", "249.99",
         "250", "0.001", "12,50", "1e5", "-3", "gifts_total", "rfm", "rfm.", ".gifts", "'x'", '"y"', ";", "$", "€"]
tokens = st.lists(st.sampled_from(WORDS), min_size=0, max_size=25)
separators = st.sampled_from([" ", "", "  ", "\t", "\n"])


@st.composite
def expressions(draw: st.DrawFn) -> str:
    """Sequences of the language's own words (mostly near-valid), or any text."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=60))
    words = draw(tokens)
    return "".join(w + draw(separators) for w in words)


def _check_expression(text: str) -> str:
    """Parse, compile and evaluate; return the outcome kind; fail on anything but a clear FilterError."""
    try:
        node = parse_filter(text, SEGMENTS)
        keep = compile_filter(node, COLUMNS, 2, text)
    except FilterError as exc:
        assert 1 <= exc.column <= len(text) + 1, (text, exc.column)
        message = str(exc)
        assert f"column {exc.column}" in message and exc.reason and "Traceback" not in message
        return "error"
    results = keep(ROWS).tolist()
    assert len(results) == ROWS
    assert all(isinstance(r, bool) for r in results), (text, results)
    return "parsed"


@FUZZ
@given(text=expressions())
def test_filter_expressions_parse_or_point_at_a_column(text):
    TRIED[f"filter_{_check_expression(text)}"] += 1


@FUZZ
@given(field=st.sampled_from(sorted(NUMERIC_FIELDS)), op=st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
       value=st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False), flip=st.booleans())
def test_valid_comparisons_select_exactly_the_rows_that_satisfy_them(field, op, value, flip):
    text = f"{value} {op} {field}" if flip else f"{field} {op} {value}"
    outcome = _check_expression(text)
    TRIED["filter_comparison"] += 1
    scaled = value.scaleb(2)
    if field in MONEY_FIELDS and scaled != scaled.to_integral_value():
        assert outcome == "error"  # more decimals than the currency has
        return
    assert outcome == "parsed"
    literal = int(scaled) if field in MONEY_FIELDS else value
    ops = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
    keep = compile_filter(parse_filter(text, SEGMENTS), COLUMNS, 2, text)
    expected = [ops[op](literal, COLUMNS[field][i]) if flip else ops[op](COLUMNS[field][i], literal)
                for i in range(ROWS)]
    assert keep(ROWS).tolist() == expected


def test_a_filter_that_is_not_text_is_a_config_error():
    with pytest.raises(ConfigError, match="text in double quotes"):
        parse_filter(12, SEGMENTS)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["(" * 300 + "true" + ")" * 300, "not " * 1200 + "true"])
def test_deeply_nested_filters_get_a_clear_error(text):
    with pytest.raises(FilterError, match="nested more than"):
        parse_filter(text, SEGMENTS)


@pytest.mark.parametrize("event", [
    {"id": "evt_bad_created", "object": "event", "type": "made.up", "created": "yesterday", "livemode": False,
     "data": {"object": {"id": "x_1"}}},
    {"id": "evt_created_out_of_range", "object": "event", "type": "made.up", "created": -10**12,
     "livemode": False, "data": {"object": {"id": "x_1"}}},
    {"id": "evt_no_object_id", "object": "event", "type": "charge.succeeded", "created": 0, "livemode": False,
     "data": {"object": {}}},
    {"id": "evt_no_data", "object": "event", "type": "charge.refunded", "created": 0, "livemode": False,
     "data": None},
])
def test_a_signed_event_of_unexpected_shape_gets_400(hook, event):
    app, client = hook
    body = json.dumps(event).encode()
    response, text = _deliver(client, body, {"Stripe-Signature": sign_payload(body, SECRET)})
    assert response.status_code == 400, text
    assert _gifts_and_contacts(app) == (0, 0)
