"""A thin client of CiviCRM's API v4 over REST, on vwfund's HTTP session.

Why our own client: the Python clients on PyPI do not fit. ``civipy`` calls itself brand-new and subject to
change, reads its own config files and makes its own HTTP calls; ``civicrm-py`` is async on httpx, so it
cannot go through :func:`vwfund.http.make_session` (timeouts, Retry-After), and neither documents the
multi-call form or CiviCRM's error shapes. The protocol is small (see the project's ``civicrm.md``), so a
hundred-odd lines here cover it exactly:

- ``POST {url}/civicrm/ajax/api4/{Entity}/{action}`` with form field ``params=<JSON>``; several calls in one
  request via ``POST {url}/civicrm/ajax/api4`` with ``calls=``, every answer checked.
- The base URL is configuration: ``{url}/civicrm/ajax/api4/...`` (Standalone, Drupal), or a url with a
  ``{path}`` placeholder for sites that route through a query string (WordPress, Joomla).
- Headers ``X-Civi-Auth: Bearer <api key>``, ``X-Civi-Key: <site key>`` when configured,
  ``X-Requested-With: XMLHttpRequest``.
- Answers parsed with amounts as Decimal (never float). Errors (401 text, 403, 500 with an error id,
  503 maintenance) become one :class:`RemoteError` line that carries CiviCRM's error id.
- Retries only where safe: reads (``get*``, sent as POST) go through a session that retries 429/5xx and
  dropped connections; writes go through one that does not (a write is retried by re-running the push,
  which looks the record up first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import requests

from vwfund.errors import RemoteError
from vwfund.http import IDEMPOTENT, make_session
from vwfund.secrets import redact
from vwfund.timeutil import as_utc

API_PATH = "civicrm/ajax/api4"
_ERROR_ID = re.compile(r"Error ID:\s*([A-Za-z0-9-]+)")
CIVI_TIME = "%Y-%m-%d %H:%M:%S"


def is_read(action: str) -> bool:
    """Whether an action only reads (``get*`` and ``autocomplete``): safe to retry."""
    return action.lower().startswith("get") or action == "autocomplete"


def error_id(message: str) -> str | None:
    """CiviCRM's error id in a generic error message ("... (Error ID: AB12-CD34-EF56)")."""
    found = _ERROR_ID.search(message or "")
    return found.group(1) if found else None


@dataclass(frozen=True)
class CallError:
    """One failed call inside a multi-call answer (the others may have succeeded)."""

    status: int
    message: str

    @property
    def error_id(self) -> str | None:
        """CiviCRM's error id, to quote to its administrators."""
        return error_id(self.message)

    def describe(self, what: str) -> str:
        """One line for the user, with the error id."""
        ref = f" (CiviCRM error id {self.error_id})" if self.error_id else f": {redact(self.message)[:200]}"
        return f"CiviCRM refused {what} (HTTP {self.status}){ref}"


class CiviClient:
    """Calls CiviCRM API v4; ``call`` for one, ``multi`` for several in one request, ``pages`` to page a get."""

    def __init__(
        self,
        url: str,
        api_key: str,
        site_key: str | None = None,
        *,
        timezone: str = "Europe/Amsterdam",
        read_session: requests.Session | None = None,
        write_session: requests.Session | None = None,
    ) -> None:
        self.base = url.rstrip("/")
        self.zone = ZoneInfo(timezone)
        self.headers = {"X-Civi-Auth": f"Bearer {api_key}", "X-Requested-With": "XMLHttpRequest",
                        "Accept": "application/json"}
        if site_key:
            self.headers["X-Civi-Key"] = site_key
        self.read_session = read_session or make_session(retry_methods=IDEMPOTENT | {"POST"})
        self.write_session = write_session or make_session()
        #: HTTP requests sent (for benchmarks and tests).
        self.requests = 0

    # -- time ----------------------------------------------------------------------------------------
    def to_civi_time(self, instant: datetime) -> str:
        """An instant as CiviCRM writes times: the site's local time, to the second."""
        return as_utc(instant).astimezone(self.zone).strftime(CIVI_TIME)

    def from_civi_time(self, text: str | None) -> datetime | None:
        """A CiviCRM time (site local, "YYYY-MM-DD HH:MM:SS" or a date) as aware UTC."""
        if not text:
            return None
        value = datetime.fromisoformat(str(text))
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return as_utc(value)

    # -- calls ---------------------------------------------------------------------------------------
    def url_for(self, path: str) -> str:
        """The URL of an API path: ``{url}/{path}``, or the url with ``{path}`` filled in for sites that route
        through a query (WordPress: ``https://site/wp-admin/admin.php?page=CiviCRM&q={path}``)."""
        if "{path}" in self.base:
            return self.base.replace("{path}", path)
        return f"{self.base}/{path}"

    def _post(self, path: str, form: Mapping[str, str], write: bool, what: str) -> requests.Response:
        session = self.write_session if write else self.read_session
        self.requests += 1
        try:
            return session.post(self.url_for(path), data=dict(form), headers=self.headers)
        except requests.RequestException as exc:
            raise RemoteError(f"CiviCRM could not be reached for {what}: {type(exc).__name__}") from exc

    def _answer(self, response: requests.Response, what: str) -> Any:
        status = response.status_code
        if status == 401:
            raise RemoteError(
                f"CiviCRM refused the credential for {what} (HTTP 401): check [civicrm] api_key and site_key "
                "(VWFUND_CIVICRM_API_KEY, VWFUND_CIVICRM_SITE_KEY)")
        try:
            data = json.loads(response.text, parse_float=Decimal)
        except ValueError:
            raise RemoteError(f"CiviCRM answered {what} with HTTP {status} and no JSON "
                              f"(is [civicrm] url the site's base URL?)") from None
        if status == 503:
            raise RemoteError(f"CiviCRM is in maintenance mode (HTTP 503) during {what}: try again later")
        if status == 400 and "SECURITY ALERT" in str(data.get("error_message", "")):
            raise RemoteError(f"CiviCRM rejected {what} as not an API request (HTTP 400 SECURITY ALERT)")
        if status == 405:
            raise RemoteError(f"CiviCRM refused {what}: writes must be sent as POST (HTTP 405)")
        return data

    def call(self, entity: str, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One API call; returns the answer (``values``, ``count``, ``countMatched``...) or raises RemoteError."""
        what = f"{entity}.{action}"
        response = self._post(f"{API_PATH}/{entity}/{action}", {"params": encode(params or {})},
                              not is_read(action), what)
        data = self._answer(response, what)
        if response.status_code != 200 or "error_message" in data:
            raise RemoteError(CallError(int(data.get("status") or response.status_code),
                                        str(data.get("error_message", ""))).describe(what))
        return data  # type: ignore[no-any-return]

    def get(self, entity: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """The rows of one ``get``."""
        return list(self.call(entity, "get", params)["values"])

    def multi(self, calls: Mapping[str, tuple[str, str, Mapping[str, Any]]]) -> dict[str, dict[str, Any] | CallError]:
        """Several calls in one request; each answer is checked: a failed one comes back as a CallError."""
        if not calls:
            return {}
        write = any(not is_read(action) for _, action, _ in calls.values())
        what = f"{len(calls)} calls"
        body = {name: [entity, action, dict(params)] for name, (entity, action, params) in calls.items()}
        response = self._post(API_PATH, {"calls": encode(body)}, write, what)
        data = self._answer(response, what)
        if not isinstance(data, dict) or ("error_message" in data and not set(calls) & set(data)):
            raise RemoteError(CallError(response.status_code, str(data.get("error_message", ""))).describe(what))
        out: dict[str, dict[str, Any] | CallError] = {}
        for name in calls:
            answer = data.get(name)
            if not isinstance(answer, dict):
                out[name] = CallError(response.status_code, "no answer for this call")
            elif "error_message" in answer or "values" not in answer:
                out[name] = CallError(int(answer.get("status") or 500), str(answer.get("error_message", "")))
            else:
                out[name] = answer
        return out

    def multi_strict(self, calls: Mapping[str, tuple[str, str, Mapping[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        """Several reads in one request; any failed call raises (reads have no partial use)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for name, answer in self.multi(calls).items():
            if isinstance(answer, CallError):
                entity, action, _ = calls[name]
                raise RemoteError(answer.describe(f"{entity}.{action}"))
            out[name] = list(answer["values"])
        return out

    def pages(self, entity: str, params: Mapping[str, Any], page_size: int = 500) -> Iterator[list[dict[str, Any]]]:
        """Page a ``get`` with limit/offset in a stable order (``orderBy`` must end on ``id``).

        A page that repeats the previous one's first id is refused (the order is not stable).
        """
        order = dict(params.get("orderBy") or {"id": "ASC"})
        if list(order)[-1] != "id":
            order["id"] = "ASC"
        offset, last_first = 0, None
        while True:
            rows = self.get(entity, {**params, "orderBy": order, "limit": page_size, "offset": offset})
            if not rows:
                return
            if last_first is not None and rows[0].get("id") == last_first:
                raise RemoteError(f"CiviCRM returned the same page twice for {entity}.get: order is not stable")
            last_first = rows[0].get("id")
            yield rows
            if len(rows) < page_size:
                return
            offset += len(rows)


def encode(value: Any) -> str:
    """JSON for CiviCRM: amounts (Decimal) as exact strings, never floats."""
    return json.dumps(value, default=_default, separators=(",", ":"))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to CiviCRM")


def to_decimal(value: Any) -> Decimal:
    """An amount from an answer (number or text) as Decimal; empty is zero."""
    if value in (None, ""):
        return Decimal(0)
    if isinstance(value, float):
        raise TypeError("amounts are parsed as Decimal, never float")
    return Decimal(str(value))
