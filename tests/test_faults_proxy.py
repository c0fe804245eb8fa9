"""The fault proxy itself: it forwards faithfully, injects each fault, and counts."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from vwfund.testing.faults import FaultPlan, FaultProxy


@pytest.fixture
def upstream():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = json.dumps({"path": self.path, "n": len(hits)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api", hits
    server.shutdown()


def test_forwards_when_no_fault_is_planned(upstream):
    url, hits = upstream
    with FaultProxy(url) as proxy:
        answer = requests.get(proxy.url + "/x?y=1", timeout=5).json()
    assert answer["path"] == "/api/x?y=1" and hits == ["/api/x?y=1"]


@pytest.mark.parametrize("kind,reached", [("throttle", False), ("server_error", False), ("drop", False),
                                          ("lost_answer", True), ("malformed", True)])
def test_each_fault(upstream, kind, reached):
    url, hits = upstream
    with FaultProxy(url, FaultPlan({kind: 1.0})) as proxy:
        try:
            response = requests.post(proxy.url + "/w", timeout=2)
            if kind == "throttle":
                assert response.status_code == 429 and response.headers["Retry-After"] == "0"
            elif kind == "server_error":
                assert response.status_code == 503
            else:
                with pytest.raises(ValueError):
                    response.json()
        except requests.ConnectionError:
            assert kind in {"drop", "lost_answer"}
        assert proxy.counts[kind] == 1
    assert bool(hits) is reached


def test_timeout_hangs_longer_than_the_client_waits(upstream):
    url, hits = upstream
    with FaultProxy(url, FaultPlan({"timeout": 1.0}, hang_seconds=1.0)) as proxy, pytest.raises(requests.Timeout):
        requests.get(proxy.url, timeout=0.3)
    assert hits == []


def test_share_of_faults_follows_the_plan(upstream):
    url, _ = upstream
    with FaultProxy(url, FaultPlan.uniform(0.5, seed=3, kinds=("throttle", "server_error"))) as proxy:
        statuses = [requests.get(proxy.url, timeout=5).status_code for _ in range(200)]
    faults = sum(s != 200 for s in statuses)
    assert 70 <= faults <= 130 and proxy.counts["requests"] == 200
