"""A stateful local fake of the Mailchimp Marketing API 3.0, for tests, benchmarks and trials.

It listens on 127.0.0.1 and enforces the parts of the protocol vwfund relies on:

- HTTP basic auth with the API key (any user name), 401 ``API Key Invalid`` otherwise;
- at most 10 requests in flight at once (more are answered 429, as Mailchimp does);
- members paged with ``count`` (at most 1000) and ``offset``, filtered by ``since_last_changed`` /
  ``before_last_changed`` / ``status`` / ``unsubscribed_since``, sorted by ``sort_field`` and ``sort_dir``;
- ``POST /lists/{id}`` bulk subscribe of at most 500 members with ``update_existing`` and per-member errors
  (``ERROR_CONTACT_EXISTS``, invalid addresses, permanently deleted addresses);
- ``PUT`` upsert with ``status_if_new``, ``PATCH``, tags per member and static segments (tags) in bulk;
- ``DELETE`` archives; ``actions/delete-permanent`` erases and blocks the address: adding it again fails with
  ``Forgotten Email Not Subscribed``;
- campaigns and ``/reports/{id}/email-activity``;
- ``/batches``: pending, started, finished over successive polls, results as a gzipped tar of JSON files;
- failures injected on demand: a status (429, 403, 5xx) with ``Retry-After``, a delay (for timeouts), or a
  transient per-member error in the bulk answer.

Run it alone with ``python -m vwfund.testing.fake_mailchimp --port 8099 --api-key KEY --list-id LIST``.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import gzip
import hashlib
import io
import json
import re
import tarfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vwfund.testing.server import LoopbackService

DEFAULT_KEY = "0123456789abcdef0123456789abcdef-us21"
MAX_CONNECTIONS = 10
MAX_BULK = 500
MAX_COUNT = 1000
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 hex of the lowercased address."""
    return hashlib.md5(email.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


def _parse(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class FakeError(Exception):
    """An error answer in Mailchimp's problem+json shape."""

    def __init__(self, status: int, title: str, detail: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers or {}


@dataclass
class Injected:
    """A failure to answer instead of the real one, for requests whose path contains ``path``."""

    status: int | None
    times: int
    path: str = ""
    method: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    title: str = ""


@dataclass
class FakeList:
    """One audience: members by hash, forgotten (permanently deleted) hashes, static segments."""

    id: str
    name: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)
    segments: dict[int, str] = field(default_factory=dict)
    activity: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _order: list[tuple[datetime, int, str]] | None = None
    _seq: int = 0

    def touch(self, member: dict[str, Any], at: datetime) -> None:
        """Mark a member changed now (moves it in last_changed order)."""
        member["last_changed"] = _iso(at)
        self._seq += 1
        member["_seq"] = self._seq
        self._order = None

    def ordered(self) -> list[tuple[datetime, int, str]]:
        """Members as (last_changed, change sequence, hash), oldest change first (cached until a change)."""
        if self._order is None:
            self._order = sorted((_parse(m["last_changed"]), m["_seq"], h) for h, m in self.members.items())
        return self._order


class FakeMailchimp(LoopbackService):
    """The fake server and its state; ``with FakeMailchimp() as fake: fake.url`` is the API base."""

    def __init__(self, api_key: str = DEFAULT_KEY, list_ids: tuple[str, ...] = ("list0001",),
                 port: int = 0, max_connections: int = MAX_CONNECTIONS) -> None:
        self.api_key = api_key
        self.lists = {lid: FakeList(lid, f"Audience {lid}") for lid in list_ids}
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.reports: dict[str, list[dict[str, Any]]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls_to_finish = 2
        self.max_connections = max_connections
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.calls: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.transient_member_errors: set[str] = set()
        self.key_sent_to_storage = False
        self._injected: list[Injected] = []
        self._lock = threading.RLock()
        self._flight_lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True

    # -- life cycle -------------------------------------------------------------------------------------

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The API base (``.../3.0``) to give as ``[mailchimp] api_base``."""
        return f"{self.root}/3.0"

    # -- seeding and inspection ----------------------------------------------------------------------------

    def add_member(self, list_id: str, email: str, status: str = "subscribed", *, first_name: str = "",
                   last_name: str = "", language: str = "", tags: tuple[str, ...] = (),
                   permissions: dict[str, tuple[str, bool]] | None = None, opted_in: datetime | None = None,
                   changed: datetime | None = None, open_rate: float = 0.0, click_rate: float = 0.0,
                   rating: int = 2) -> dict[str, Any]:
        """Put a member in an audience as if it had been there (``permissions``: id -> (text, enabled))."""
        with self._lock:
            audience = self.lists[list_id]
            member = self._new_member(audience, email, status, changed or self.clock())
            member["merge_fields"].update({"FNAME": first_name, "LNAME": last_name})
            member["language"] = language
            member["tags"] = [{"id": self._segment_id(audience, t), "name": t} for t in tags]
            member["tags_count"] = len(tags)
            member["stats"] = {"avg_open_rate": open_rate, "avg_click_rate": click_rate}
            member["member_rating"] = rating
            if opted_in is not None:
                member["timestamp_opt"] = _iso(opted_in)
            member["marketing_permissions"] = [
                {"marketing_permission_id": pid, "text": text, "enabled": enabled}
                for pid, (text, enabled) in (permissions or {}).items()
            ]
            return member

    def member(self, list_id: str, email: str) -> dict[str, Any] | None:
        """A member as stored, or None."""
        return self.lists[list_id].members.get(subscriber_hash(email))

    def add_campaign(self, list_id: str, campaign_id: str, sent_at: datetime,
                     recipients: dict[str, list[tuple[str, datetime]]]) -> None:
        """A sent campaign and its email activity: email -> [(action, when)] (open, click, bounce)."""
        with self._lock:
            self.campaigns[campaign_id] = {
                "id": campaign_id, "type": "regular", "status": "sent", "send_time": _iso(sent_at),
                "emails_sent": len(recipients), "recipients": {"list_id": list_id},
            }
            self.reports[campaign_id] = [
                {"campaign_id": campaign_id, "list_id": list_id, "email_id": subscriber_hash(email),
                 "email_address": email,
                 "activity": [{"action": a, "timestamp": _iso(at), "ip": "192.0.2.1"} for a, at in acts]}
                for email, acts in recipients.items()
            ]

    def inject(self, status: int | None, times: int = 1, *, path: str = "", method: str = "",
               retry_after: float | None = None, delay: float = 0.0, title: str = "") -> None:
        """Answer the next ``times`` matching requests with ``status`` (None: the real answer) after ``delay``."""
        with self._lock:
            self._injected.append(Injected(status, times, path, method.upper(), retry_after, delay, title))

    def writes(self) -> int:
        """Bulk-subscribe calls made (``POST /lists/{id}``)."""
        return self.calls["POST /lists/{id}"]

    def reads(self) -> int:
        """Member page reads made (``GET /lists/{id}/members``)."""
        return self.calls["GET /lists/{id}/members"]

    # -- request handling ----------------------------------------------------------------------------------

    def _take_injected(self, method: str, path: str) -> Injected | None:
        with self._lock:
            for inj in self._injected:
                if inj.times > 0 and inj.path in path and (not inj.method or inj.method == method):
                    inj.times -= 1
                    if inj.times == 0:
                        self._injected.remove(inj)
                    return inj
        return None

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request: (status, headers, body)."""
        parts = urlsplit(raw_path)
        if parts.path.startswith("/_fake/batch-results/"):  # a storage address: no API key belongs here
            self.key_sent_to_storage = self.key_sent_to_storage or "authorization" in headers
            return self._batch_results(parts.path.rsplit("/", 1)[-1])
        if parts.path == "/_fake/stats":
            stats = {"calls": dict(self.calls), "max_in_flight": self.max_in_flight}
            return 200, {"Content-Type": "application/json"}, json.dumps(stats).encode()
        with self._flight_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            too_many = self.in_flight > self.max_connections
        try:
            if too_many:
                raise FakeError(429, "Too Many Requests",
                                "You have exceeded the limit of 10 simultaneous connections.")
            if not self._authorised(headers.get("authorization", "")):
                raise FakeError(401, "API Key Invalid", "Your API key may be invalid, or you've attempted "
                                "to access the wrong datacenter.")
            injected = self._take_injected(method, parts.path)
            if injected is not None:
                if injected.delay:
                    time.sleep(injected.delay)
                if injected.status is not None:
                    extra = {"Retry-After": str(injected.retry_after)} if injected.retry_after is not None else {}
                    raise FakeError(injected.status, injected.title or _TITLES.get(injected.status, "Error"),
                                    "injected failure", extra)
            if not parts.path.startswith("/3.0/"):
                raise FakeError(404, "Resource Not Found", "The requested resource could not be found.")
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            data = json.loads(body) if body else None
            status, answer = self.dispatch(method, parts.path[len("/3.0"):], query, data)
            if status == 204:
                return 204, {}, b""
            return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(answer).encode()
        except FakeError as exc:
            problem = {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": exc.title,
                       "status": exc.status, "detail": exc.detail, "instance": str(uuid.uuid4())}
            return exc.status, {"Content-Type": "application/problem+json; charset=utf-8", **exc.headers}, \
                json.dumps(problem).encode()
        finally:
            with self._flight_lock:
                self.in_flight -= 1

    def _authorised(self, header: str) -> bool:
        if not header.lower().startswith("basic "):
            return False
        try:
            _user, _, key = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return key == self.api_key

    def dispatch(self, method: str, path: str, query: dict[str, str], data: Any) -> tuple[int, Any]:
        """Route a request (also used for the operations of a batch)."""
        segs = [s for s in path.split("/") if s]
        for (m, pattern), handler in _ROUTES.items():
            if m != method or len(pattern) != len(segs):
                continue
            args = []
            for p, s in zip(pattern, segs, strict=True):
                if p.startswith("{"):
                    args.append(s)
                elif p != s:
                    break
            else:
                self.calls[f"{method} /{'/'.join(pattern)}"] += 1
                with self._lock:
                    return handler(self, *args, query=query, data=data)
        raise FakeError(404 if method == "GET" else 405, "Resource Not Found",
                        "The requested resource could not be found.")

    # -- helpers -------------------------------------------------------------------------------------------

    def _audience(self, list_id: str) -> FakeList:
        try:
            return self.lists[list_id]
        except KeyError:
            raise FakeError(404, "Resource Not Found", "The requested resource could not be found.") from None

    def _existing(self, audience: FakeList, h: str) -> dict[str, Any]:
        member = audience.members.get(h)
        if member is None:
            raise FakeError(404, "Resource Not Found", "The requested resource could not be found.")
        return member

    def _new_member(self, audience: FakeList, email: str, status: str, at: datetime) -> dict[str, Any]:
        h = subscriber_hash(email)
        member = {
            "id": h, "email_address": email.strip(), "unique_email_id": h[:10], "status": status,
            "merge_fields": {"FNAME": "", "LNAME": ""}, "language": "", "list_id": audience.id,
            "stats": {"avg_open_rate": 0.0, "avg_click_rate": 0.0}, "member_rating": 2,
            "timestamp_opt": _iso(at) if status == "subscribed" else "", "tags": [], "tags_count": 0,
            "marketing_permissions": [],
        }
        audience.members[h] = member
        audience.touch(member, at)
        return member

    def _segment_id(self, audience: FakeList, name: str) -> int:
        for sid, tag in audience.segments.items():
            if tag == name:
                return sid
        sid = 1000 + len(audience.segments) + 1
        audience.segments[sid] = name
        return sid

    def _apply_fields(self, audience: FakeList, member: dict[str, Any], data: dict[str, Any]) -> None:
        if "merge_fields" in data:
            member["merge_fields"].update(data["merge_fields"] or {})
        if "language" in data:
            member["language"] = data["language"]
        if "marketing_permissions" in data:
            known = {p["marketing_permission_id"]: p for p in member["marketing_permissions"]}
            for p in data["marketing_permissions"]:
                known.setdefault(p["marketing_permission_id"], {"marketing_permission_id":
                                                                p["marketing_permission_id"], "text": ""})
                known[p["marketing_permission_id"]]["enabled"] = bool(p.get("enabled"))
            member["marketing_permissions"] = list(known.values())
        if "tags" in data and isinstance(data["tags"], list):
            names = [t if isinstance(t, str) else t["name"] for t in data["tags"]]
            self._set_tags(audience, member, [{"name": n, "status": "active"} for n in names])

    def _set_status(self, member: dict[str, Any], status: str, at: datetime) -> None:
        if status not in STATUSES:
            raise FakeError(400, "Invalid Resource", f"The status {status!r} is not valid.")
        if status == "subscribed" and member["status"] != "subscribed":
            member["timestamp_opt"] = _iso(at)
        member["status"] = status

    def _set_tags(self, audience: FakeList, member: dict[str, Any], tags: list[dict[str, str]]) -> None:
        current = {t["name"]: t for t in member["tags"]}
        for t in tags:
            if t.get("status") == "inactive":
                current.pop(t["name"], None)
            else:
                current.setdefault(t["name"], {"id": self._segment_id(audience, t["name"]), "name": t["name"]})
        member["tags"] = list(current.values())
        member["tags_count"] = len(current)

    def _forgotten(self, email: str) -> FakeError:
        return FakeError(400, "Forgotten Email Not Subscribed",
                         f"{email} was permanently deleted and cannot be re-imported. "
                         "The contact must re-subscribe to get back on the list.")

    @staticmethod
    def _page(items: Sequence[Any], query: dict[str, str]) -> Sequence[Any]:
        count = int(query.get("count", 10))
        offset = int(query.get("offset", 0))
        if count > MAX_COUNT or count < 1 or offset < 0:
            raise FakeError(400, "Invalid Resource", "count must be between 1 and 1000")
        return items[offset : offset + count]

    # -- routes ---------------------------------------------------------------------------------------------

    def r_ping(self, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        return 200, {"health_status": "Everything's Chimpy!"}

    def r_list(self, list_id: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        subscribed = sum(1 for m in audience.members.values() if m["status"] == "subscribed")
        return 200, {"id": list_id, "name": audience.name, "stats": {"member_count": subscribed}}

    def r_members(self, list_id: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        order = audience.ordered()
        if query.get("sort_field", "last_changed") not in ("last_changed", "timestamp_opt", "timestamp_signup"):
            raise FakeError(400, "Invalid Resource", "sort_field is not valid")
        lo, hi = 0, len(order)
        if "since_last_changed" in query:
            lo = bisect.bisect_left(order, (_parse(query["since_last_changed"]), -1, ""))
        if "before_last_changed" in query:
            hi = bisect.bisect_left(order, (_parse(query["before_last_changed"]), -1, ""))
        if "unsubscribed_since" in query and query.get("status") != "unsubscribed":
            raise FakeError(400, "Invalid Resource", "unsubscribed_since needs status=unsubscribed")
        descending = query.get("sort_dir", "ASC").upper() == "DESC"
        if "status" not in query:  # page over index positions, never copying the audience
            positions = range(hi - 1, lo - 1, -1) if descending else range(lo, hi)
            page_hashes = [order[i][2] for i in self._page(positions, query)]
            return 200, {"members": [_public(audience.members[h]) for h in page_hashes], "list_id": list_id,
                         "total_items": len(positions)}
        picked = [audience.members[h] for _, _, h in order[lo:hi]]
        if descending:
            picked.reverse()
        picked = [m for m in picked if m["status"] == query["status"]]
        if "unsubscribed_since" in query:
            since = _parse(query["unsubscribed_since"])
            picked = [m for m in picked if _parse(m["last_changed"]) >= since]
        page = self._page(picked, query)
        return 200, {"members": [_public(m) for m in page], "list_id": list_id, "total_items": len(picked)}

    def r_member(self, list_id: str, h: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        return 200, _public(self._existing(self._audience(list_id), h))

    def r_put_member(self, list_id: str, h: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        email = str(data.get("email_address", ""))
        if subscriber_hash(email) != h:
            raise FakeError(400, "Invalid Resource", "The email address does not match the subscriber hash.")
        now = self.clock()
        member = audience.members.get(h)
        if member is None:
            if h in audience.forgotten:
                raise self._forgotten(email)
            status = data.get("status_if_new") or data.get("status")
            if not status:
                raise FakeError(400, "Invalid Resource", "status_if_new is required for a new member")
            member = self._new_member(audience, email, "subscribed", now)
            self._set_status(member, status, now)
        elif data.get("status"):
            self._set_status(member, data["status"], now)
        self._apply_fields(audience, member, data)
        audience.touch(member, now)
        return 200, _public(member)

    def r_patch_member(self, list_id: str, h: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        member = self._existing(audience, h)
        now = self.clock()
        if data.get("status"):
            self._set_status(member, data["status"], now)
        self._apply_fields(audience, member, data)
        audience.touch(member, now)
        return 200, _public(member)

    def r_archive(self, list_id: str, h: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        member = self._existing(audience, h)
        if member["status"] == "archived":
            raise FakeError(404, "Resource Not Found", "The requested resource could not be found.")
        member["status"] = "archived"
        audience.touch(member, self.clock())
        return 204, None

    def r_delete_permanent(self, list_id: str, h: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        self._existing(audience, h)
        del audience.members[h]
        audience.forgotten.add(h)
        audience._order = None
        return 204, None

    def r_post_tags(self, list_id: str, h: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        member = self._existing(audience, h)
        self._set_tags(audience, member, list(data.get("tags", [])))
        audience.touch(member, self.clock())
        return 204, None

    def r_get_tags(self, list_id: str, h: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        member = self._existing(self._audience(list_id), h)
        return 200, {"tags": member["tags"], "total_items": len(member["tags"])}

    def r_activity(self, list_id: str, h: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        self._existing(audience, h)
        events = []
        for cid, rows in self.reports.items():
            for row in rows:
                if row["email_id"] == h and row["list_id"] == list_id:
                    events += [{"action": a["action"], "timestamp": a["timestamp"], "campaign_id": cid}
                               for a in row["activity"]]
        events.sort(key=lambda e: e["timestamp"], reverse=True)
        return 200, {"activity": events[:50], "email_id": h, "list_id": list_id, "total_items": len(events[:50])}

    def r_bulk(self, list_id: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        members = list((data or {}).get("members", []))
        if len(members) > MAX_BULK:
            raise FakeError(400, "Invalid Resource", f"You may add at most {MAX_BULK} members per call.")
        update = bool(data.get("update_existing"))
        now = self.clock()
        created: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in members:
            email = str(item.get("email_address", "")).strip()
            h = subscriber_hash(email)
            if not _EMAIL.match(email):
                errors.append({"email_address": email, "error": f"{email} looks fake or invalid, please enter a "
                               "real email address.", "error_code": "ERROR_GENERIC"})
                continue
            if h in self.transient_member_errors:
                self.transient_member_errors.discard(h)
                errors.append({"email_address": email, "error": "Service temporarily unavailable, please try "
                               "again.", "error_code": "ERROR_GENERIC"})
                continue
            status = item.get("status")
            if status not in STATUSES or status == "archived":
                errors.append({"email_address": email, "error": "Invalid status", "error_code": "ERROR_GENERIC",
                               "field": "status", "field_message": "status is required"})
                continue
            member = audience.members.get(h)
            if member is None:
                if h in audience.forgotten:
                    errors.append({"email_address": email, "error": self._forgotten(email).detail,
                                   "error_code": "ERROR_GENERIC"})
                    continue
                member = self._new_member(audience, email, status, now)
                self._apply_fields(audience, member, item)
                created.append({"id": h, "email_address": email, "status": member["status"]})
            elif not update:
                errors.append({"email_address": email, "error": f"{email} is already a list member, do you want "
                               "to update? please provide update_existing:true in the request body",
                               "error_code": "ERROR_CONTACT_EXISTS"})
                continue
            else:
                self._set_status(member, status, now)  # the real API changes an existing member's status too
                self._apply_fields(audience, member, item)
                audience.touch(member, now)
                updated.append({"id": h, "email_address": email, "status": member["status"]})
        return 200, {"new_members": created, "updated_members": updated, "errors": errors,
                     "total_created": len(created), "total_updated": len(updated), "error_count": len(errors)}

    def r_segments(self, list_id: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        rows = [{"id": sid, "name": name, "type": "static",
                 "member_count": sum(1 for m in audience.members.values() if any(t["id"] == sid for t in m["tags"]))}
                for sid, name in sorted(audience.segments.items())]
        return 200, {"segments": self._page(rows, query), "total_items": len(rows), "list_id": list_id}

    def r_new_segment(self, list_id: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        name = str((data or {}).get("name", "")).strip()
        if not name or name in audience.segments.values():
            raise FakeError(400, "Invalid Resource", "A segment name is required and must be unique.")
        sid = self._segment_id(audience, name)
        return 200, {"id": sid, "name": name, "type": "static", "member_count": 0, "list_id": list_id}

    def r_segment_members(self, list_id: str, sid: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        audience = self._audience(list_id)
        try:
            name = audience.segments[int(sid)]
        except (KeyError, ValueError):
            raise FakeError(404, "Resource Not Found", "The requested resource could not be found.") from None
        add, remove = list(data.get("members_to_add", [])), list(data.get("members_to_remove", []))
        if len(add) > MAX_BULK or len(remove) > MAX_BULK:
            raise FakeError(400, "Invalid Resource", f"At most {MAX_BULK} members to add and to remove per call.")
        now = self.clock()
        result: dict[str, list[Any]] = {"members_added": [], "members_removed": []}
        missing: list[str] = []
        for emails, status, key in ((add, "active", "members_added"), (remove, "inactive", "members_removed")):
            for email in emails:
                member = audience.members.get(subscriber_hash(email))
                if member is None or member["status"] == "archived":
                    missing.append(email)
                    continue
                self._set_tags(audience, member, [{"name": name, "status": status}])
                audience.touch(member, now)
                result[key].append({"id": member["id"], "email_address": member["email_address"]})
        errors = [{"email_addresses": missing, "error": "Email addresses are not list members"}] if missing else []
        return 200, {**result, "errors": errors, "total_added": len(result["members_added"]),
                     "total_removed": len(result["members_removed"]), "error_count": len(missing)}

    def r_campaigns(self, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        rows = sorted(self.campaigns.values(), key=lambda c: c["send_time"])
        if "list_id" in query:
            rows = [c for c in rows if c["recipients"]["list_id"] == query["list_id"]]
        if "status" in query:
            rows = [c for c in rows if c["status"] == query["status"]]
        if "since_send_time" in query:
            since = _parse(query["since_send_time"])
            rows = [c for c in rows if _parse(c["send_time"]) >= since]
        if query.get("sort_dir", "ASC").upper() == "DESC":
            rows.reverse()
        return 200, {"campaigns": self._page(rows, query), "total_items": len(rows)}

    def r_email_activity(self, cid: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        if cid not in self.reports:
            raise FakeError(404, "Resource Not Found", "The requested resource could not be found.")
        rows = self.reports[cid]
        return 200, {"emails": self._page(rows, query), "campaign_id": cid, "total_items": len(rows)}

    def r_new_batch(self, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        ops = list((data or {}).get("operations", []))
        if not ops:
            raise FakeError(400, "Invalid Resource", "operations must not be empty")
        bid = uuid.uuid4().hex[:10]
        self.batches[bid] = {"id": bid, "status": "pending", "total_operations": len(ops),
                             "finished_operations": 0, "errored_operations": 0,
                             "submitted_at": _iso(self.clock()), "completed_at": "", "response_body_url": "",
                             "_ops": ops, "_polls": 0, "_results": b""}
        return 200, _batch_view(self.batches[bid])

    def r_batch(self, bid: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        batch = self.batches.get(bid)
        if batch is None:
            raise FakeError(404, "Resource Not Found", "The requested resource could not be found.")
        batch["_polls"] += 1
        if batch["status"] == "pending":
            batch["status"] = "started"
        elif batch["status"] == "started" and batch["_polls"] >= self.batch_polls_to_finish:
            self._run_batch(batch)
        return 200, _batch_view(batch)

    def r_delete_batch(self, bid: str, *, query: dict[str, str], data: Any) -> tuple[int, Any]:
        if self.batches.pop(bid, None) is None:
            raise FakeError(404, "Resource Not Found", "The requested resource could not be found.")
        return 204, None

    def _run_batch(self, batch: dict[str, Any]) -> None:
        results = []
        for op in batch["_ops"]:
            params = {k: str(v) for k, v in (op.get("params") or {}).items()}
            body = json.loads(op["body"]) if op.get("body") else None
            try:
                status, answer = self.dispatch(op["method"].upper(), "/" + op["path"].lstrip("/"), params, body)
            except FakeError as exc:
                status, answer = exc.status, {"title": exc.title, "status": exc.status, "detail": exc.detail}
            if status >= 400:
                batch["errored_operations"] += 1
            results.append({"status_code": status, "operation_id": op.get("operation_id"),
                            "response": json.dumps(answer) if answer is not None else ""})
        half = (len(results) + 1) // 2  # two files, as Mailchimp splits large results
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for i, chunk in enumerate((results[:half], results[half:])):
                if not chunk:
                    continue
                raw = json.dumps(chunk).encode()
                info = tarfile.TarInfo(f"{batch['id']}/{i}.json")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
        batch["_results"] = gzip.compress(buf.getvalue())
        batch["finished_operations"] = len(results)
        batch["status"] = "finished"
        batch["completed_at"] = _iso(self.clock())
        batch["response_body_url"] = f"{self.root}/_fake/batch-results/{batch['id']}.tar.gz"

    def _batch_results(self, name: str) -> tuple[int, dict[str, str], bytes]:
        batch = self.batches.get(name.split(".")[0])
        if batch is None or not batch["_results"]:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        return 200, {"Content-Type": "application/x-gzip"}, batch["_results"]


_TITLES = {429: "Too Many Requests", 403: "Forbidden", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


def _public(member: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in member.items() if not k.startswith("_")}


def _batch_view(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


_ROUTES: dict[tuple[str, tuple[str, ...]], Callable[..., tuple[int, Any]]] = {
    ("GET", ("ping",)): FakeMailchimp.r_ping,
    ("GET", ("lists", "{id}")): FakeMailchimp.r_list,
    ("POST", ("lists", "{id}")): FakeMailchimp.r_bulk,
    ("GET", ("lists", "{id}", "members")): FakeMailchimp.r_members,
    ("GET", ("lists", "{id}", "members", "{hash}")): FakeMailchimp.r_member,
    ("PUT", ("lists", "{id}", "members", "{hash}")): FakeMailchimp.r_put_member,
    ("PATCH", ("lists", "{id}", "members", "{hash}")): FakeMailchimp.r_patch_member,
    ("DELETE", ("lists", "{id}", "members", "{hash}")): FakeMailchimp.r_archive,
    ("POST", ("lists", "{id}", "members", "{hash}", "actions", "delete-permanent")):
        FakeMailchimp.r_delete_permanent,
    ("POST", ("lists", "{id}", "members", "{hash}", "tags")): FakeMailchimp.r_post_tags,
    ("GET", ("lists", "{id}", "members", "{hash}", "tags")): FakeMailchimp.r_get_tags,
    ("GET", ("lists", "{id}", "members", "{hash}", "activity")): FakeMailchimp.r_activity,
    ("GET", ("lists", "{id}", "segments")): FakeMailchimp.r_segments,
    ("POST", ("lists", "{id}", "segments")): FakeMailchimp.r_new_segment,
    ("POST", ("lists", "{id}", "segments", "{sid}")): FakeMailchimp.r_segment_members,
    ("GET", ("campaigns",)): FakeMailchimp.r_campaigns,
    ("GET", ("reports", "{id}", "email-activity")): FakeMailchimp.r_email_activity,
    ("POST", ("batches",)): FakeMailchimp.r_new_batch,
    ("GET", ("batches", "{id}")): FakeMailchimp.r_batch,
    ("DELETE", ("batches", "{id}")): FakeMailchimp.r_delete_batch,
}


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


def _handler_for(fake: FakeMailchimp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, out_headers, payload = fake.handle(self.command, self.path, headers, body)
            try:
                self.send_response(status)
                for k, v in out_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: requests carry email hashes in their paths."""

    return Handler


def main() -> None:
    """Serve the fake until interrupted (for benchmarks and trials)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--api-key", default=DEFAULT_KEY)
    parser.add_argument("--list-id", action="append", help="an audience id (repeat for several)")
    args = parser.parse_args()
    fake = FakeMailchimp(args.api_key, tuple(args.list_id or ["list0001"]), port=args.port)
    print(fake.url, flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()


if __name__ == "__main__":
    main()


