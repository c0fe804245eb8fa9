"""Pull streams: contacts, contributions and recurring contributions, incrementally by ``modified_date``;
group memberships, read whole each run (CiviCRM keeps no modification date on them).

Each stream reads rows with ``modified_date`` before the run's start (``ctx.cap``), in the stable order
(modified_date, id), a page at a time. A page is asked for with ``limit`` and a keyset ("after this
(modified_date, id)") rather than a growing ``offset``: rows modified while the run pages would shift an
offset window and make it skip rows. The cursor ``"<modified_date>|<id>"`` is saved with each page.

Loop rule: a contribution (or recurring contribution) whose ``invoice_id`` starts with ``vwfund:`` was
created by our own push from a Stripe or offline gift (or plan) that the store already holds under its own
source; it is not imported again (the run's notes count them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from vwfund.connectors.civicrm.client import CiviClient
from vwfund.connectors.civicrm.mapping import (
    CONTACT_FIELDS,
    CONTRIBUTION_FIELDS,
    RECUR_FIELDS,
    pushed_by_us,
    to_contact,
    to_donation,
    to_plan,
)
from vwfund.errors import RemoteError
from vwfund.models import GroupMembership, GroupSnapshotDone
from vwfund.sync import Page, Stream, StreamContext

Convert = Callable[[list[dict[str, Any]], StreamContext], list[Any]]


def window(client: CiviClient, ctx: StreamContext) -> tuple[list[Any], tuple[str, int] | None]:
    """The where clauses of this run's window, and the (modified_date, id) to start after."""
    where: list[Any] = [["modified_date", "<", client.to_civi_time(ctx.cap(ctx.started_at))]]
    after: tuple[str, int] | None = None
    if ctx.since is not None:
        where.append(["modified_date", ">=", client.to_civi_time(ctx.since)])
    elif ctx.cursor and not ctx.full:
        stamp, _, last_id = ctx.cursor.rpartition("|")
        after = (stamp, int(last_id))
    return where, after


def fetch_modified(
    client: CiviClient, entity: str, select: list[str], ctx: StreamContext, convert: Convert,
    page_size: int = 500, extra_where: list[Any] | None = None,
) -> Iterator[Page]:
    """Pages of rows of ``entity`` modified in this run's window, in (modified_date, id) order."""
    where, after = window(client, ctx)
    where += extra_where or []
    while True:
        keyset = [] if after is None else [["OR", [["modified_date", ">", after[0]], ["AND", [
            ["modified_date", "=", after[0]], ["id", ">", after[1]]]]]]]
        rows = client.get(entity, {"select": select, "where": where + keyset,
                                   "orderBy": {"modified_date": "ASC", "id": "ASC"}, "limit": page_size})
        if not rows:
            return
        last = rows[-1]
        if after is not None and (str(last["modified_date"]), int(last["id"])) <= after:
            raise RemoteError(f"CiviCRM {entity}.get did not move past {after}: order is not stable")
        after = (str(last["modified_date"]), int(last["id"]))
        yield Page(convert(rows, ctx), cursor=f"{after[0]}|{after[1]}")
        if len(rows) < page_size:
            return


def contact_stream(client: CiviClient, page_size: int = 500) -> Stream:
    """``civicrm.contacts``: contacts (trashed ones too, flagged) with primary email and privacy flags."""

    def convert(rows: list[dict[str, Any]], ctx: StreamContext) -> list[Any]:
        return [to_contact(r, client, ctx.notes) for r in rows]

    def fetch(ctx: StreamContext) -> Iterator[Page]:
        # API v4 hides trashed contacts unless is_deleted is named in the where clause.
        yield from fetch_modified(client, "Contact", CONTACT_FIELDS, ctx, convert, page_size,
                                  [["is_deleted", "IN", [True, False]]])

    return Stream("civicrm.contacts", ("source", "external_id"), fetch, cursor_field="modified_date")


def _not_ours_stream(
    client: CiviClient, name: str, entity: str, select: list[str], to_record: Callable[[dict[str, Any], CiviClient], Any],
    what: str, page_size: int,
) -> Stream:
    """A stream of ``entity`` rows modified in the window, leaving out those our own push created."""

    def convert(rows: list[dict[str, Any]], ctx: StreamContext) -> list[Any]:
        ours = [r for r in rows if pushed_by_us(r)]
        if ours:
            ctx.note(f"{len(ours)} {what} created by vwfund's push were not imported again")
        return [to_record(r, client) for r in rows if not pushed_by_us(r)]

    def fetch(ctx: StreamContext) -> Iterator[Page]:
        yield from fetch_modified(client, entity, select, ctx, convert, page_size)

    return Stream(name, ("source", "external_id"), fetch, cursor_field="modified_date")


def contribution_stream(client: CiviClient, page_size: int = 500) -> Stream:
    """``civicrm.contributions``: contributions entered in CiviCRM (not those our push created)."""
    return _not_ours_stream(client, "civicrm.contributions", "Contribution", CONTRIBUTION_FIELDS, to_donation,
                            "contributions", page_size)


def recurring_stream(client: CiviClient, page_size: int = 500) -> Stream:
    """``civicrm.recurring``: recurring contributions (monthly donors), not those our push created."""
    return _not_ours_stream(client, "civicrm.recurring", "ContributionRecur", RECUR_FIELDS, to_plan,
                            "recurring contributions", page_size)


def group_stream(client: CiviClient, page_size: int = 500) -> Stream:
    """``civicrm.groups``: every contact's group memberships, read whole (keyset by id), then a snapshot mark.

    A crash restarts the read from the first page (the stream keeps no cursor): memberships are upserted,
    and only the mark at the end lets the store forget those this complete read did not see.
    """

    def fetch(ctx: StreamContext) -> Iterator[Page]:
        groups = {int(g["id"]): str(g.get("title") or g.get("name") or g["id"])
                  for g in client.get("Group", {"select": ["id", "name", "title"], "orderBy": {"id": "ASC"}})}
        after = 0
        while True:
            rows = client.get("GroupContact", {
                "select": ["id", "group_id", "contact_id", "status"], "where": [["id", ">", after]],
                "orderBy": {"id": "ASC"}, "limit": page_size,
            })
            if not rows:
                break
            if int(rows[-1]["id"]) <= after:
                raise RemoteError(f"CiviCRM GroupContact.get did not move past id {after}: order is not stable")
            after = int(rows[-1]["id"])
            yield Page([
                GroupMembership(source="civicrm", group_id=str(r["group_id"]),
                                group_name=groups.get(int(r["group_id"]), str(r["group_id"])),
                                contact_external_id=str(r["contact_id"]),
                                status=str(r.get("status") or "Added").lower())
                for r in rows
            ])
            if len(rows) < page_size:
                break
        yield Page([GroupSnapshotDone(source="civicrm", started_at=ctx.started_at)])

    return Stream("civicrm.groups", ("source", "group_id", "contact_external_id"), fetch)
