"""The Mailchimp REST client: every call through the core's HTTP session, at most 10 at once.

We call the REST API through ``vwfund.http.make_session`` instead of wrapping the official SDK
(``mailchimp-marketing``): the SDK calls module-level ``requests`` functions, so it opens a new connection
per call, has no retries, no timeout of ours and no way to cap simultaneous connections; wrapping it would
mean patching its transport. Our session gives timeouts, retries with ``Retry-After`` on 429 and 5xx, a pool
of at most ``connections`` (10, Mailchimp's limit per key) guarded by a semaphore, and one place where
answers are turned into :class:`RemoteError` messages that carry no key and no email address.

Mailchimp may also throttle with 403: a 403 that says so (``Retry-After``, or a title about too many
requests) is waited out and retried here; any other 403 is an error.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from vwfund.connectors.mailchimp.settings import MailchimpSettings
from vwfund.errors import RemoteError
from vwfund.http import GARBLED, GARBLED_RETRIES, IDEMPOTENT, garbled_wait, json_answer, make_session
from vwfund.identity import email_hash
from vwfund.secrets import redact

_EMAILS = re.compile(r"[^@\s\"'<>,;:]+@[^@\s\"'<>,;:]+\.[A-Za-z]{2,}")
_THROTTLE = re.compile(r"too many|throttl|rate.?limit", re.IGNORECASE)
_HEX = re.compile(r"/[0-9a-f]{32}(?=/|$)")
#: Every POST we send may be repeated safely: bulk upserts with update_existing and tag changes land in the
#: same state, a repeated permanent delete answers 404, and a repeated batch of reads only reads twice.
RETRY_METHODS = IDEMPOTENT | {"POST", "PATCH"}


def scrub(text: str) -> str:
    """Replace email addresses by their hashes (and mask secrets): safe for logs and errors."""
    return redact(_EMAILS.sub(lambda m: f"<{email_hash(m.group(0))}>", text))


def route_of(path: str) -> str:
    """A path with member hashes replaced by ``{hash}`` (for counting calls and for messages)."""
    return "/" + _HEX.sub("/{hash}", path.split("?")[0]).lstrip("/")


@dataclass(frozen=True)
class BatchResult:
    """One operation's answer from a finished ``/batches`` run."""

    operation_id: str | None
    status_code: int
    body: Any


class MailchimpClient:
    """Calls to one Mailchimp account: ``get``/``post``/... return parsed JSON or raise RemoteError."""

    def __init__(self, settings: MailchimpSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or make_session(
            total_retries=settings.retries, backoff=settings.backoff, retry_methods=RETRY_METHODS,
            timeout=(10.0, settings.timeout), pool_size=settings.connections,
        )
        self._auth = ("vwfund", settings.api_key)
        self._slots = threading.BoundedSemaphore(settings.connections)
        self.calls: Counter[str] = Counter()

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, missing_ok: bool = False) -> Any:
        """Send one call; returns the JSON answer ({} for 204), None for 404 when ``missing_ok``."""
        url = f"{self.settings.api_base}/{path.lstrip('/')}"
        where = f"{method} {route_of(path)}"
        self.calls[where] += 1
        garbled = 0
        for attempt in range(self.settings.retries + 1):
            try:
                with self._slots:
                    resp = self.session.request(method, url, params=params, json=body, auth=self._auth)
            except requests.RequestException as exc:
                late = " (timed out)" if "timed out" in str(exc).lower() else ""
                raise RemoteError(f"Mailchimp did not answer {where}: {type(exc).__name__}{late}") from exc
            if resp.status_code == 403 and _is_throttle(resp) and attempt < self.settings.retries:
                time.sleep(_wait(resp, attempt, self.settings.backoff))
                continue
            if resp.status_code == 404 and missing_ok:
                return None
            if resp.status_code >= 400:
                raise RemoteError(describe_failure(resp, where))
            if resp.status_code == 204 or not resp.content:
                return {}
            answer = json_answer(resp)
            if answer is not GARBLED:
                return answer
            if method != "GET" or garbled >= GARBLED_RETRIES:  # a write is not sent twice on a garbled answer
                break
            time.sleep(garbled_wait(garbled, self.settings.backoff))
            garbled += 1
        raise RemoteError(f"Mailchimp answered {where} with something that is not JSON")

    def get(self, path: str, **params: Any) -> Any:
        """GET with query parameters."""
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        """POST a JSON body."""
        return self.request("POST", path, body=body)

    def pages(self, path: str, key: str, params: Mapping[str, Any] | None = None,
              count: int | None = None) -> Iterator[tuple[list[dict[str, Any]], int]]:
        """Offset/count paging: yields (items, total_items) per page; refuses a page that repeats the last."""
        count = count or self.settings.page_size
        offset, last_ids = 0, None
        while True:
            answer = self.get(path, **{**(params or {}), "count": count, "offset": offset})
            items = list(answer.get(key) or [])
            total = int(answer.get("total_items") or 0)
            if not items:
                return
            ids = [_identity(i) for i in items]
            if ids == last_ids:
                raise RemoteError(f"Mailchimp returned the same page twice for GET {route_of(path)} "
                                  f"at offset {offset}: stopped to avoid a loop")
            last_ids = ids
            yield items, total
            offset += len(items)
            if offset >= total or len(items) < count:
                return

    def run_batch(self, operations: Sequence[Mapping[str, Any]], timeout: float = 3600.0) -> list[BatchResult]:
        """Run operations through ``/batches``: submit, poll until finished, read the gzipped results."""
        batch = self.post("batches", {"operations": list(operations)})
        batch_id = batch["id"]
        deadline = time.monotonic() + timeout
        while batch.get("status") != "finished":
            if time.monotonic() > deadline:
                raise RemoteError(f"Mailchimp batch {batch_id} did not finish within {timeout:.0f} s "
                                  f"(status {batch.get('status')}); it is left to finish on its own")
            time.sleep(self.settings.poll_interval)
            batch = self.get(f"batches/{batch_id}")
        results = self._batch_results(batch_id, str(batch.get("response_body_url") or ""))
        self.request("DELETE", f"batches/{batch_id}", missing_ok=True)
        return results

    def _batch_results(self, batch_id: str, url: str) -> list[BatchResult]:
        if not url:
            raise RemoteError(f"Mailchimp batch {batch_id} finished without a results address")
        self.calls["GET batch results"] += 1
        try:
            with self._slots:
                resp = self.session.get(url)  # a signed storage address: no API key sent there
        except requests.RequestException as exc:
            raise RemoteError(f"the results of Mailchimp batch {batch_id} could not be read: "
                              f"{type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise RemoteError(f"the results of Mailchimp batch {batch_id} could not be read ({resp.status_code})")
        return list(parse_batch_archive(resp.content))


def parse_batch_archive(data: bytes) -> Iterator[BatchResult]:
    """Read a batch's results: a gzipped tar of JSON files, each a list of {status_code, operation_id, response}."""
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
            for info in tar:
                if not info.isfile() or not info.name.endswith(".json"):
                    continue
                handle = tar.extractfile(info)
                if handle is None:
                    continue
                for row in json.loads(handle.read()):
                    raw = row.get("response") or ""
                    yield BatchResult(row.get("operation_id"), int(row.get("status_code", 0)),
                                      json.loads(raw) if raw else None)
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise RemoteError(f"Mailchimp batch results are not a readable archive: {exc}") from exc


def describe_failure(resp: requests.Response, where: str) -> str:
    """One line for a failed call: status, Mailchimp's title and detail, with emails hashed."""
    try:
        problem = resp.json()
    except ValueError:
        problem = {}
    title = problem.get("title") or resp.reason or "error"
    detail = problem.get("detail") or ""
    hint = ""
    if resp.status_code == 401:
        hint = " (check [mailchimp] api_key and that api_base matches its data centre)"
    elif resp.status_code in (403, 429):
        hint = " (throttled: try again later)" if _is_throttle(resp) or resp.status_code == 429 else ""
    text = f"Mailchimp answered {resp.status_code} {title} to {where}: {detail}".rstrip(": ") + hint
    return scrub(text)


def is_forgotten(text: str) -> bool:
    """Whether an error says the address was permanently deleted (it cannot be added again)."""
    lowered = text.lower()
    return "forgotten email" in lowered or "permanently deleted" in lowered


def _is_throttle(resp: requests.Response) -> bool:
    if "Retry-After" in resp.headers:
        return True
    try:
        problem = resp.json()
    except ValueError:
        return False
    return bool(_THROTTLE.search(f"{problem.get('title', '')} {problem.get('detail', '')}"))


def _wait(resp: requests.Response, attempt: int, backoff: float) -> float:
    try:
        return min(float(str(resp.headers.get("Retry-After", ""))), 120.0)
    except ValueError:
        return min(backoff * 2.0**attempt, 60.0)


def _identity(item: Mapping[str, Any]) -> str:
    return str(item.get("id") or item.get("email_id") or item.get("email_address") or json.dumps(item)[:64])
