"""One HTTP session factory: timeouts, retries with backoff (Retry-After honoured), a vwfund User-Agent."""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from vwfund import __version__
from vwfund.errors import ConfigError

USER_AGENT = f"vwfund/{__version__} (+fundraising data sync)"
DEFAULT_TIMEOUT = (10.0, 120.0)
RETRY_STATUSES = (429, 500, 502, 503, 504)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class TimeoutSession(requests.Session):
    """A session whose requests always carry a timeout."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send a request with the default timeout unless one is given."""
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, *args, **kwargs)


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {value!r}") from exc
    if number < 0:
        raise ConfigError(f"{name} must not be negative")
    return number


def make_session(
    *,
    total_retries: int | None = None,
    backoff: float | None = None,
    retry_methods: Collection[str] = IDEMPOTENT,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    pool_size: int = 10,
    max_backoff: float = 60.0,
) -> requests.Session:
    """A session that retries 429/5xx and dropped connections for ``retry_methods``.

    POST is retried only where the caller says it is safe (an idempotency key, or a read sent as POST).
    Defaults: 5 retries (``VWFUND_HTTP_RETRIES``), backoff factor 0.5 s (``VWFUND_HTTP_BACKOFF``); a 429's
    Retry-After is always honoured.
    """
    if total_retries is None:
        total_retries = int(_env_number("VWFUND_HTTP_RETRIES", 5))
    if backoff is None:
        backoff = _env_number("VWFUND_HTTP_BACKOFF", 0.5)
    retry = Retry(
        total=total_retries,
        connect=total_retries,
        read=total_retries,
        status=total_retries,
        backoff_factor=backoff,
        backoff_max=max_backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset(m.upper() for m in retry_methods),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = TimeoutSession(timeout)
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


#: How many times a read whose answer is not JSON (cut short or garbled on the way) is sent again.
GARBLED_RETRIES = 2


def json_answer(resp: requests.Response) -> Any:
    """The answer's JSON body, or :data:`GARBLED` when it is not JSON (an answer cut short on the way)."""
    try:
        return resp.json()
    except ValueError:
        return GARBLED


class _Garbled:
    """The marker of an answer that is not JSON."""

    def __repr__(self) -> str:
        return "GARBLED"


GARBLED: Any = _Garbled()


def garbled_wait(attempt: int, backoff: float | None = None) -> float:
    """Seconds to wait before sending a read again after a garbled answer: doubling from ``backoff`` (by
    default the sessions' own, ``VWFUND_HTTP_BACKOFF``), at most 10 s."""
    if backoff is None:
        backoff = _env_number("VWFUND_HTTP_BACKOFF", 0.5)
    return min(backoff * 2.0**attempt, 10.0)
