"""A fault-injecting HTTP proxy on loopback, to put in front of any local fake (or test server).

Each request is forwarded to the upstream server, or answered with a fault chosen by a seeded random
generator: 429 with Retry-After, a 5xx, a response that never comes (the client times out), a dropped
connection, or malformed JSON. A fault can strike before the request reaches the upstream (nothing
happened there) or after it (the upstream acted, its answer is lost): the second kind is what tests
exactly-once writes. The proxy counts what it did, for tests and benchmarks to print.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

FAULT_KINDS = ("throttle", "server_error", "timeout", "drop", "malformed", "lost_answer")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


@dataclass
class FaultPlan:
    """How often each fault strikes (a share of requests, 0..1 each) and how long a timeout hangs."""

    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after: str = "0"
    hang_seconds: float = 3.0

    @classmethod
    def uniform(cls, share: float, seed: int = 0, kinds: tuple[str, ...] = FAULT_KINDS) -> FaultPlan:
        """Spread ``share`` of requests evenly over ``kinds``."""
        return cls({k: share / len(kinds) for k in kinds}, seed)


class FaultProxy:
    """``with FaultProxy(upstream_url, plan) as proxy:`` then point the client at ``proxy.url``."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("the fault proxy only forwards to a server on this machine")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.upstream_prefix = parts.path.rstrip("/")
        self.plan = plan or FaultPlan()
        self._rng = random.Random(self.plan.seed)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.enabled = True
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's base URL (same path prefix as the upstream)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.upstream_prefix}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _choose(self) -> str | None:
        with self._lock:
            if not self.enabled:
                return None
            roll = self._rng.random()
            for kind, rate in self.plan.rates.items():
                if roll < rate:
                    return kind
                roll -= rate
            return None

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                """Quiet."""

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                result = (answer.status, [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP
                                          and k.lower() != "content-length"], data)
                conn.close()
                return result

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._choose()
                proxy._count("requests")
                if fault == "throttle":
                    proxy._count(fault)
                    return self._reply(429, b'{"error": "rate limited"}', {"Retry-After": proxy.plan.retry_after,
                                                                           "Content-Type": "application/json"})
                if fault == "server_error":
                    proxy._count(fault)
                    return self._reply(503, b'{"error": "unavailable"}', {"Content-Type": "application/json"})
                if fault == "timeout":
                    proxy._count(fault)
                    time.sleep(proxy.plan.hang_seconds)
                    self.close_connection = True
                    return None
                if fault == "drop":
                    proxy._count(fault)
                    self.close_connection = True
                    return None
                status, headers, data = self._forward(body)
                proxy._count("forwarded")
                if fault == "lost_answer":
                    proxy._count(fault)
                    self.close_connection = True
                    return None
                if fault == "malformed" and data[:1] in (b"{", b"["):
                    proxy._count(fault)
                    data = data[: max(1, len(data) // 2)]
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler
