"""Pull streams: audience members (incremental on ``last_changed``) and campaign engagement.

Members are read in ``count=1000`` pages sorted by ``last_changed`` (oldest first), between the saved
cursor and the run's start, so each page's last change is a safe cursor. If the number of matching members
changes during the run (someone changed while we paged, which shifts offsets), the cursor stops moving
and the next run reads again from the last safe point.

Engagement comes from each sent campaign's ``/reports/{id}/email-activity``; a campaign with more
recipients than ``batch_threshold`` is read through ``/batches`` (all its pages in one asynchronous run).
Opens and clicks keep arriving after a send, so every run re-reads the campaigns of the last
``engagement_days`` days; events are stored once (the store ignores ones it has).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from vwfund.connectors.mailchimp.client import MailchimpClient
from vwfund.connectors.mailchimp.mapping import activity_events, instant, member_records
from vwfund.connectors.mailchimp.settings import MailchimpSettings
from vwfund.errors import RemoteError
from vwfund.sync import Page, Stream, StreamContext
from vwfund.timeutil import parse_instant

MEMBERS_STREAM = "mailchimp.members"
ENGAGEMENT_STREAM = "mailchimp.engagement"
#: Re-read one second before the cursor: members changed in the same second are read again, never missed.
OVERLAP = timedelta(seconds=1)


def iso(at: datetime) -> str:
    """An instant as Mailchimp wants it in filters (seconds, with offset)."""
    return at.replace(microsecond=0).isoformat()


def fetch_members(client: MailchimpClient, list_id: str, ctx: StreamContext) -> Iterator[Page]:
    """Pages of members changed since the cursor (all with ``--full``), each with its cursor."""
    params: dict[str, Any] = {"sort_field": "last_changed", "sort_dir": "ASC",
                              "before_last_changed": iso(ctx.started_at)}
    since = ctx.since or (parse_instant(ctx.cursor, "UTC") if ctx.cursor and not ctx.full else None)
    if since is not None:
        params["since_last_changed"] = iso(since - OVERLAP)
    first_total: int | None = None
    moving = True
    skipped = 0
    for items, total in client.pages(f"lists/{list_id}/members", "members", params):
        if first_total is None:
            first_total = total
        elif total != first_total and moving:
            moving = False
            ctx.note(f"members of audience {list_id} changed while they were read ({first_total} then {total}); "
                     "the next sync reads again from the last safe point")
        records: list[Any] = []
        latest: datetime | None = None
        for member in items:
            found = member_records(member, list_id)
            skipped += not found
            records += found
            changed = instant(member.get("last_changed"))
            if changed is not None and (latest is None or changed > latest):
                latest = changed
        cursor = iso(ctx.cap(latest)) if moving and latest is not None else None
        yield Page(records, cursor)
    if skipped:
        ctx.note(f"{skipped} members of audience {list_id} have a malformed address and were not saved")


def sent_campaigns(client: MailchimpClient, list_id: str, since: datetime | None) -> Iterator[dict[str, Any]]:
    """Campaigns sent to the audience (since ``since``), oldest first."""
    params: dict[str, Any] = {"list_id": list_id, "status": "sent", "sort_field": "send_time", "sort_dir": "ASC"}
    if since is not None:
        params["since_send_time"] = iso(since)
    for items, _ in client.pages("campaigns", "campaigns", params):
        yield from items


def email_activity(client: MailchimpClient, campaign: dict[str, Any], batch_threshold: int
                   ) -> Iterator[list[dict[str, Any]]]:
    """A campaign's recipients with their activity, page by page (through /batches when large)."""
    cid = str(campaign["id"])
    path = f"reports/{cid}/email-activity"
    expected = int(campaign.get("emails_sent") or 0)
    size = client.settings.page_size
    if expected <= batch_threshold:
        for items, _ in client.pages(path, "emails"):
            yield items
        return
    operations = [
        {"method": "GET", "path": f"/{path}", "params": {"count": size, "offset": offset},
         "operation_id": f"{cid}:{offset}"}
        for offset in range(0, expected, size)
    ]
    results = sorted(client.run_batch(operations), key=lambda r: int(str(r.operation_id).rsplit(":", 1)[-1]))
    failed = [r for r in results if r.status_code >= 400]
    if failed:
        raise RemoteError(f"{len(failed)} of {len(results)} email-activity reads of campaign {cid} failed in a "
                          f"Mailchimp batch (first: {failed[0].status_code}); the next sync tries again")
    total = 0
    for r in results:
        total = max(total, int((r.body or {}).get("total_items") or 0))
        yield list((r.body or {}).get("emails") or [])
    if total > expected:  # more recipients than the campaign said: read the rest directly
        offset = len(operations) * size
        while offset < total:
            answer = client.get(path, count=size, offset=offset)
            items = list(answer.get("emails") or [])
            if not items:
                break
            yield items
            offset += len(items)


def fetch_engagement(client: MailchimpClient, settings: MailchimpSettings, ctx: StreamContext) -> Iterator[Page]:
    """Sent/open/click events of campaigns sent within ``engagement_days`` of the last read (all with --full)."""
    since: datetime | None = ctx.since
    if since is None and ctx.cursor and not ctx.full:
        since = parse_instant(ctx.cursor, "UTC") - timedelta(days=settings.engagement_days)
    for campaign in sent_campaigns(client, settings.list_id, since):
        sent_at = instant(campaign.get("send_time"))
        if sent_at is not None and sent_at > ctx.started_at:
            continue
        for rows in email_activity(client, campaign, settings.batch_threshold):
            events = [e for row in rows for e in activity_events(row, settings.list_id, sent_at)]
            yield Page(events)
    yield Page([], cursor=iso(ctx.started_at))


def pull_streams(client: MailchimpClient, settings: MailchimpSettings) -> list[Stream]:
    """The streams of ``vwfund sync mailchimp``: members first (contacts), then engagement."""
    return [
        Stream(MEMBERS_STREAM, ("audience", "email_hash"),
               lambda ctx: fetch_members(client, settings.list_id, ctx), cursor_field="last_changed"),
        Stream(ENGAGEMENT_STREAM, ("audience", "email_hash", "mailing_id", "kind", "at"),
               lambda ctx: fetch_engagement(client, settings, ctx), cursor_field="send_time"),
    ]
