"""The CiviCRM client against the local fake: credentials, headers, paging, multi-call, error shapes."""

from __future__ import annotations

import json

import pytest
import requests

from vwfund.connectors.civicrm.client import CiviClient
from vwfund.errors import RemoteError
from vwfund.testing.fake_civicrm import FakeCiviCRM

KEY, SITE = "k-1234567890", "s-1234567890"


@pytest.fixture
def fake():
    with FakeCiviCRM(api_key=KEY, site_key=SITE) as f:
        yield f


def client_for(fake: FakeCiviCRM, key: str = KEY, site: str | None = SITE) -> CiviClient:
    return CiviClient(fake.url, key, site, timezone="Europe/Amsterdam")


def raw_post(fake: FakeCiviCRM, path: str, headers: dict[str, str], **kw) -> requests.Response:
    return requests.post(f"{fake.url}/civicrm/ajax/api4/{path}", headers=headers, timeout=10, **kw)


GOOD = {"X-Civi-Auth": f"Bearer {KEY}", "X-Civi-Key": SITE, "X-Requested-With": "XMLHttpRequest"}


def test_wrong_key_is_a_clear_error_without_the_key(fake):
    with pytest.raises(RemoteError) as err:
        client_for(fake, key="wrong-key-123").get("Contact")
    assert "401" in str(err.value) and "api_key" in str(err.value)
    assert "wrong-key-123" not in str(err.value)


def test_missing_site_key_is_refused(fake):
    with pytest.raises(RemoteError, match="401"):
        client_for(fake, site=None).get("Contact")


def test_fake_enforces_the_protocol(fake):
    params = {"params": json.dumps({"values": {"first_name": "An"}})}
    no_auth = raw_post(fake, "Contact/create", {"X-Requested-With": "XMLHttpRequest"}, data=params)
    assert no_auth.status_code == 403 and "Error ID" in no_auth.json()["error_message"]
    wrong = raw_post(fake, "Contact/create", {**GOOD, "X-Civi-Auth": "Bearer nope"}, data=params)
    assert wrong.status_code == 401 and wrong.headers["Content-Type"].startswith("text/plain")
    no_xrw = raw_post(fake, "Contact/create", {k: v for k, v in GOOD.items() if k != "X-Requested-With"}, data=params)
    assert no_xrw.status_code == 400 and "SECURITY ALERT" in no_xrw.json()["error_message"]
    get_write = requests.get(f"{fake.url}/civicrm/ajax/api4/Contact/create", headers=GOOD, params=params, timeout=10)
    assert get_write.status_code == 405
    # A JSON body is ignored: the call runs with empty params, so nothing named An is created.
    raw_post(fake, "Contact/create", GOOD, json={"values": {"first_name": "An"}})
    assert fake.raw_json_bodies == 1
    assert not [c for c in fake.rows("Contact") if c.get("first_name") == "An"]
    no_where = raw_post(fake, "Contact/update", GOOD, data={"params": json.dumps({"values": {"first_name": "X"}})})
    assert no_where.status_code == 500
    ok = raw_post(fake, "Contact/create", GOOD, data=params)
    assert ok.status_code == 200 and ok.json()["values"][0]["first_name"] == "An"


def test_paging_reads_every_row_once_in_order(fake):
    for i in range(23):
        fake.seed("Contact", {"first_name": f"P{i}"})
    client = client_for(fake)
    pages = list(client.pages("Contact", {"select": ["id"]}, page_size=5))
    ids = [r["id"] for page in pages for r in page]
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert ids == sorted(ids) and len(set(ids)) == 23


def test_error_answers_carry_civicrm_error_id(fake):
    client = client_for(fake)
    fake.inject("Contact", "get", 500)
    with pytest.raises(RemoteError) as err:
        # the read session retries 500s: inject more failures than it retries
        fake.faults[-1].times = 10
        client.read_session.adapters["http://"].max_retries.total = 0  # keep the test fast
        client.get("Contact")
    message = str(err.value)
    assert "HTTP 500" in message and "error id" in message
    assert message.split("error id ")[1].rstrip(")").count("-") == 2


def test_permission_and_maintenance_answers(fake):
    client = client_for(fake)
    fake.inject("Contribution", "create", 403)
    with pytest.raises(RemoteError, match="403"):
        client.call("Contribution", "create", {"values": {}})
    fake.maintenance = True
    client.read_session.adapters["http://"].max_retries.total = 0
    with pytest.raises(RemoteError, match="maintenance"):
        client.get("Contact")


def test_reads_are_retried_writes_are_not(fake):
    client = client_for(fake)
    client.read_session.adapters["http://"].max_retries.backoff_factor = 0
    fake.inject("Contact", "get", 503)
    assert client.get("Contact") == []  # retried once, then answered
    before = fake.calls
    fake.inject("Contact", "create", 500)
    with pytest.raises(RemoteError):
        client.call("Contact", "create", {"values": {"first_name": "B"}})
    assert fake.calls == before + 1


def test_multi_call_checks_every_answer(fake):
    client = client_for(fake)
    answers = client.multi({
        "good": ("Contact", "create", {"values": {"first_name": "C"}}),
        "bad": ("Payment", "create", {"values": {"contribution_id": 999, "total_amount": "5"}}),
    })
    assert answers["good"]["values"][0]["first_name"] == "C"
    assert answers["bad"].status == 500 and answers["bad"].error_id
    assert client.requests == 1


def test_sites_that_route_through_a_query_string(fake):
    client = CiviClient(f"{fake.url}/wp-admin/admin.php?page=CiviCRM&q={{path}}", KEY, SITE)
    client.call("Contact", "create", {"values": {"first_name": "W"}})
    assert [c["first_name"] for c in client.get("Contact")] == ["W"]
