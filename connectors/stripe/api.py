"""Talking to the Stripe REST API: one client, one paginator, errors as one clear line.

We call the REST API through ``vwfund.http.make_session`` rather than through ``stripe.StripeClient``:
the SDK retries on its own (``max_network_retries``) with its own backoff and its own idea of timeouts,
so routing it through our session would stack two retry layers; calling the few endpoints we need
ourselves keeps one retry policy (429 with ``Retry-After``, 5xx, dropped connections), one place that
counts calls, and one paginator that refuses a repeated page. The SDK is still used where it adds
something we should not rewrite: webhook signature checks (``stripe.WebhookSignature``).

Every POST carries an ``Idempotency-Key``, so POSTs are retried as safely as GETs.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from vwfund.errors import ConfigError, RemoteError
from vwfund.http import GARBLED_RETRIES, IDEMPOTENT, garbled_wait, json_answer, make_session
from vwfund.secrets import redact

DEFAULT_API_BASE = "https://api.stripe.com"
#: Key under which :meth:`StripeApi.get` stamps each object with the Unix time its answer arrived.
OBSERVED_AT = "_vwfund_observed_at"
PAGE_LIMIT = 100
Params = Sequence[tuple[str, str | int]]


def encode_params(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: nested dicts as ``a[b]``, lists as ``a[0][b]`` (or ``a[]`` for scalars)."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            out += encode_params(value, name)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    out += encode_params(item, f"{name}[{i}]")
                else:
                    out.append((f"{name}[]", str(item)))
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        else:
            out.append((name, str(value)))
    return out


@dataclass
class StripeApi:
    """A Stripe REST client over our retrying session; ``calls`` counts the requests made."""

    api_key: str
    api_base: str = DEFAULT_API_BASE
    session: requests.Session | None = None
    calls: int = 0
    _count_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ConfigError("[stripe] api_key is not set: set VWFUND_STRIPE_API_KEY")
        self.api_base = (self.api_base or DEFAULT_API_BASE).rstrip("/")
        if self.session is None:
            self.session = make_session(retry_methods=IDEMPOTENT | {"POST"})

    @property
    def key_livemode(self) -> bool | None:
        """The mode the key's shape tells (``sk_live_``/``rk_live_``: live; ``_test_``: test), if it tells."""
        if "_live_" in self.api_key[:8]:
            return True
        if "_test_" in self.api_key[:8]:
            return False
        return None

    def _request(self, method: str, path: str, params: Params = (), data: Params = (),
                 idempotency_key: str | None = None) -> dict[str, Any]:
        assert self.session is not None
        headers = {"Authorization": f"Bearer {self.api_key}", "Stripe-Version": "2024-06-20"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        # a read, or a write under an Idempotency-Key (Stripe replays its first answer), is safe to send again
        # when its answer arrives garbled
        tries = 1 + (GARBLED_RETRIES if method == "GET" or idempotency_key else 0)
        for attempt in range(tries):
            with self._count_lock:
                self.calls += 1
            try:
                resp = self.session.request(method, f"{self.api_base}{path}", params=list(params) or None,
                                            data=list(data) or None, headers=headers)
            except requests.RequestException as exc:
                raise RemoteError(f"Stripe did not answer {method} {path}: {type(exc).__name__}") from None
            if resp.status_code >= 400:
                raise RemoteError(describe_failure(method, path, resp))
            body = json_answer(resp)
            if isinstance(body, dict):
                return body
            if attempt + 1 < tries:
                time.sleep(garbled_wait(attempt))
        raise RemoteError(f"Stripe answered {method} {path} with something that is not JSON ({tries} tries)")

    def get(self, path: str, params: Params = ()) -> dict[str, Any]:
        """GET one object or list page; each object is stamped with when the answer arrived (OBSERVED_AT)."""
        body = self._request("GET", path, params)
        stamp = time.time()
        body[OBSERVED_AT] = stamp
        listed = body.get("data")
        if isinstance(listed, list):
            for obj in listed:
                if isinstance(obj, dict):
                    obj[OBSERVED_AT] = stamp
        return body

    def post(self, path: str, data: Mapping[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """POST a write with an Idempotency-Key (a fresh one unless given: give a stable one to dedupe)."""
        return self._request("POST", path, data=encode_params(data),
                             idempotency_key=idempotency_key or str(uuid.uuid4()))

    def find(self, path: str, params: Params = ()) -> dict[str, Any] | None:
        """GET one object; None when Stripe says it does not exist (404)."""
        try:
            return self.get(path, params)
        except RemoteError as exc:
            if "(404)" in str(exc):
                return None
            raise

    def pages(self, path: str, params: Params = (), starting_after: str | None = None
              ) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """Pages of a list (newest first): (objects, has_more); refuses a page that repeats the last id.

        The next page is requested while the caller works on this one (one request ahead, never more),
        so waiting for Stripe and saving to the store overlap.
        """
        def fetch(after: str | None) -> dict[str, Any]:
            query = [*params, ("limit", PAGE_LIMIT)] + ([("starting_after", after)] if after else [])
            return self.get(path, query)

        after = starting_after
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stripe-page") as ahead:
            pending: Future[dict[str, Any]] = ahead.submit(fetch, after)
            try:
                while True:
                    body = pending.result()
                    data: list[dict[str, Any]] = body.get("data") or []
                    more = bool(body.get("has_more")) and bool(data)
                    if data and data[-1]["id"] == after:
                        raise RemoteError(f"Stripe repeated a page of {path} after {after}: stopped to avoid a loop")
                    if more:
                        after = data[-1]["id"]
                        pending = ahead.submit(fetch, after)
                    yield data, more
                    if not more:
                        return
            finally:
                pending.cancel()


def describe_failure(method: str, path: str, resp: requests.Response) -> str:
    """One line for a Stripe error answer: status, type, message and request id; never the key."""
    try:
        err = resp.json().get("error", {})
    except ValueError:
        err = {}
    message = err.get("message") or resp.reason or "no message"
    request_id = resp.headers.get("Request-Id")
    ref = f", request {request_id}" if request_id else ""
    kind = err.get("type") or "error"
    return redact(f"Stripe refused {method} {path} ({resp.status_code}) {kind}: {message}{ref}")
