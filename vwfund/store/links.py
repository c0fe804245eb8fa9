"""Donate links (Payment Links / Checkout pages) per campaign, team and walker, for pages to show."""

from __future__ import annotations

from sqlalchemy import Connection, select

from vwfund.store.schema import donate_links
from vwfund.store.upsert import upsert
from vwfund.timeutil import utcnow


def save_donate_link(
    conn: Connection, campaign: str, url: str, source: str, external_id: str, team: str = "", walker: str = ""
) -> None:
    """Keep the donate link for (campaign, team, walker), replacing an older one."""
    upsert(
        conn,
        donate_links,
        [
            {
                "campaign": campaign,
                "team": team or "",
                "walker": walker or "",
                "url": url,
                "source": source,
                "external_id": external_id,
                "created_at": utcnow(),
            }
        ],
        ["campaign", "team", "walker"],
        keep=["created_at"],
    )


def donate_link(conn: Connection, campaign: str, team: str = "", walker: str = "") -> str | None:
    """The donate link for (campaign, team, walker), if one was made."""
    return conn.execute(
        select(donate_links.c.url).where(
            (donate_links.c.campaign == campaign)
            & (donate_links.c.team == (team or ""))
            & (donate_links.c.walker == (walker or ""))
        )
    ).scalar()
