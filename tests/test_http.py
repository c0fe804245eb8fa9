"""The HTTP session: retries 429 (honouring Retry-After) and 5xx for safe methods, never a POST by default."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from vwfund.http import USER_AGENT, make_session


class Script:
    """Answers requests in order from a list of (status, headers); then 200."""

    def __init__(self, answers: list[tuple[int, dict[str, str]]]) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[str, float, str]] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script([])

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            script.seen.append((self.command, time.monotonic(), self.headers.get("User-Agent", "")))
            status, headers = script.answers.pop(0) if script.answers else (200, {})
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            body = b'{"ok": true}'
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()


def test_429_is_retried_after_the_time_the_server_asks(server):
    url, script = server
    script.answers = [(429, {"Retry-After": "1"})]
    response = make_session(backoff=0.01).get(url + "/v1/charges")
    assert response.status_code == 200 and len(script.seen) == 2
    assert script.seen[1][1] - script.seen[0][1] >= 0.9
    assert script.seen[0][2] == USER_AGENT


def test_5xx_retried_for_reads_but_a_post_is_not_repeated_unless_declared_safe(server):
    url, script = server
    script.answers = [(503, {}), (502, {})]
    assert make_session(backoff=0.01).get(url).status_code == 200
    assert len(script.seen) == 3
    script.seen.clear()
    script.answers = [(503, {})]
    assert make_session(backoff=0.01).post(url, data={"x": 1}).status_code == 503
    assert len(script.seen) == 1
    script.seen.clear()
    script.answers = [(503, {})]
    assert make_session(backoff=0.01, retry_methods={"POST"}).post(url).status_code == 200
    assert len(script.seen) == 2


def test_every_request_has_a_timeout():
    session = make_session(timeout=(0.2, 0.2), total_retries=0)
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get("http://127.0.0.1:9/")  # discard port: refused at once, never hangs
    assert session.default_timeout == (0.2, 0.2)  # type: ignore[attr-defined]
