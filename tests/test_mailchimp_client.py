"""The Mailchimp client against the local fake and `responses`: paging, throttling, errors, batches, limits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import requests
import responses

from vwfund.config import Config
from vwfund.connectors.mailchimp.client import MailchimpClient, parse_batch_archive, scrub
from vwfund.connectors.mailchimp.settings import MailchimpSettings, data_centre
from vwfund.errors import ConfigError, RemoteError
from vwfund.identity import email_hash
from vwfund.testing.fake_mailchimp import FakeMailchimp

LIST = "list0001"


@pytest.fixture
def fake():
    with FakeMailchimp() as f:
        yield f


def settings_for(fake: FakeMailchimp, **kw) -> MailchimpSettings:
    values = {"api_key": fake.api_key, "list_id": LIST, "api_base": fake.url, "retries": 3, "backoff": 0.01,
              "timeout": 2.0, "poll_interval": 0.01, **kw}
    return MailchimpSettings(**values)


@pytest.fixture
def client(fake):
    c = MailchimpClient(settings_for(fake))
    yield c
    c.close()


def test_api_base_comes_from_the_key_data_centre_and_errors_name_the_setting():
    key = "0123456789abcdef0123456789abcdef-us21"
    assert data_centre(key) == "us21"
    s = MailchimpSettings.from_config(Config({"mailchimp": {"api_key": key, "list_id": "abc"}}, env={}))
    assert s.api_base == "https://us21.api.mailchimp.com/3.0"
    env = {"VWFUND_MAILCHIMP_API_KEY": key, "VWFUND_MAILCHIMP_LIST_ID": "L", "VWFUND_MAILCHIMP_API_BASE": "http://x/3.0"}
    assert MailchimpSettings.from_config(Config({}, env=env)).api_base == "http://x/3.0"
    with pytest.raises(ConfigError, match="VWFUND_MAILCHIMP_LIST_ID"):
        MailchimpSettings.from_config(Config({"mailchimp": {"api_key": key}}, env={}))
    with pytest.raises(ConfigError, match="data centre"):
        MailchimpSettings.from_config(Config({"mailchimp": {"api_key": "nodc", "list_id": "L"}}, env={}))
    with pytest.raises(ConfigError, match="connections"):
        MailchimpSettings.from_config(Config({"mailchimp": {"api_key": key, "list_id": "L", "connections": 11}},
                                             env={}))


def test_pages_read_every_member_once_in_count_sized_pages(fake, client):
    for i in range(25):
        fake.add_member(LIST, f"p{i}@example.org", changed=datetime(2024, 1, 1, 0, i, tzinfo=UTC))
    pages = list(client.pages(f"lists/{LIST}/members", "members", {"sort_field": "last_changed"}, count=10))
    assert [len(items) for items, _ in pages] == [10, 10, 5]
    ids = [m["id"] for items, _ in pages for m in items]
    assert len(set(ids)) == 25 and fake.reads() == 3


def test_a_repeated_page_is_refused():
    s = MailchimpSettings(api_key="k" * 32 + "-us1", list_id=LIST, api_base="https://us1.api.mailchimp.com/3.0",
                          retries=0)
    with responses.RequestsMock() as rsps:
        same = {"members": [{"id": "a"}, {"id": "b"}], "total_items": 10}
        rsps.add(responses.GET, f"{s.api_base}/lists/{LIST}/members", json=same)
        rsps.add(responses.GET, f"{s.api_base}/lists/{LIST}/members", json=same)
        with pytest.raises(RemoteError, match="same page twice"):
            list(MailchimpClient(s).pages(f"lists/{LIST}/members", "members", count=2))


def test_a_wrong_key_is_reported_without_the_key(fake):
    bad = MailchimpClient(settings_for(fake, api_key="ffffffffffffffffffffffffffffffff-us21"))
    with pytest.raises(RemoteError) as err:
        bad.get("ping")
    assert "401 API Key Invalid" in str(err.value) and "ffffffff" not in str(err.value)


@pytest.mark.parametrize("status", [429, 403])
def test_throttling_is_waited_out_and_retried(fake, client, status):
    fake.inject(status, times=2, path="/ping", retry_after=0, title="Too Many Requests")
    assert client.get("ping")["health_status"]
    assert fake.calls["GET /ping"] == 1  # the two throttled answers never reached the route


def test_a_403_that_is_not_throttling_fails_at_once(fake, client):
    fake.inject(403, times=1, path="/ping", title="Forbidden")
    with pytest.raises(RemoteError, match="403 Forbidden"):
        client.get("ping")


def test_server_errors_are_retried_then_reported(fake, client):
    fake.inject(503, times=2, path="/ping")
    assert client.get("ping")["health_status"]
    fake.inject(500, times=10, path="/ping")
    with pytest.raises(RemoteError, match="500"):
        client.get("ping")


def test_a_timeout_is_retried_and_a_dead_server_reported(fake):
    c = MailchimpClient(settings_for(fake, timeout=0.3))
    fake.inject(None, times=1, path="/ping", delay=0.8)
    assert c.get("ping")["health_status"]
    fake.inject(None, times=10, path="/ping", delay=0.8)
    with pytest.raises(RemoteError, match="did not answer GET /ping"):
        c.get("ping")


def test_never_more_than_ten_calls_at_once(fake):
    fake.inject(None, times=40, path="/ping", delay=0.5)
    raw_statuses: list[int] = []
    start = threading.Barrier(14)

    def raw() -> None:
        start.wait()
        raw_statuses.append(requests.get(f"{fake.url}/ping", auth=("x", fake.api_key), timeout=5).status_code)

    threads = [threading.Thread(target=raw) for _ in range(14)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 429 in raw_statuses  # the fake enforces Mailchimp's limit
    fake.max_in_flight = 0
    fake.inject(None, times=40, path="/ping", delay=0.2)
    c = MailchimpClient(settings_for(fake, retries=0))
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(c.get("ping")["health_status"])) for _ in range(14)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 14 and fake.max_in_flight <= 10


def test_batch_life_cycle_submits_polls_and_reads_gzipped_results(fake, client):
    fake.add_member(LIST, "b1@example.org")
    ops = [{"method": "GET", "path": f"/lists/{LIST}/members/{email_hash('b1@example.org')}", "operation_id": "one"},
           {"method": "GET", "path": f"/lists/{LIST}/members/{'0' * 32}", "operation_id": "two"}]
    results = {r.operation_id: r for r in client.run_batch(ops)}
    assert results["one"].status_code == 200 and results["one"].body["email_address"] == "b1@example.org"
    assert results["two"].status_code == 404
    assert fake.calls["POST /batches"] == 1 and fake.calls["GET /batches/{id}"] >= 2
    assert fake.calls["DELETE /batches/{id}"] == 1 and not fake.batches
    assert not fake.key_sent_to_storage  # the results address never receives the API key


def test_unreadable_batch_results_are_an_error():
    with pytest.raises(RemoteError, match="not a readable archive"):
        list(parse_batch_archive(b"not gzip"))


def test_errors_carry_hashes_not_emails():
    text = scrub("an@example.org is already a list member")
    assert "an@example.org" not in text and email_hash("an@example.org") in text


def test_a_read_whose_answer_arrives_garbled_is_read_again_and_a_write_is_not_sent_twice():
    s = MailchimpSettings(api_key="k" * 32 + "-us1", list_id=LIST, api_base="https://us1.api.mailchimp.com/3.0",
                          retries=3, backoff=0.001)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{s.api_base}/ping", body='{"health_status": "Everything\'s Ch', status=200)
        rsps.add(responses.GET, f"{s.api_base}/ping", json={"health_status": "Everything's Chimpy!"})
        assert MailchimpClient(s).get("ping") == {"health_status": "Everything's Chimpy!"}
        rsps.add(responses.POST, f"{s.api_base}/lists/{LIST}/members", body="<html>proxy error", status=200)
        with pytest.raises(RemoteError, match=r"POST .* with something that is not JSON"):
            MailchimpClient(s).post(f"lists/{LIST}/members", {"email_address": "a@example.org"})
        assert len([c for c in rsps.calls if c.request.method == "POST"]) == 1
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{s.api_base}/ping", body="{", status=200)
        with pytest.raises(RemoteError, match=r"GET .* with something that is not JSON"):
            MailchimpClient(s).get("ping")
        assert len(rsps.calls) == 3  # the first answer and two more tries
