"""Donate links for the pages: the link made for a team or walker (``vwfund stripe link``), else the
``[walk] donate_url`` template, else none.

The template may use ``{edition}``, ``{team}`` and ``{walker}`` (URL-quoted slugs, empty when not known),
e.g. ``https://www.example.org/walk/sponsor?edition={edition}&team={team}&walker={walker}``.
Only http and https links are ever shown.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from urllib.parse import quote

from sqlalchemy import Connection, select

from vwfund.campaigns.walk.editions import Walker
from vwfund.config import Config
from vwfund.errors import ConfigError
from vwfund.store.schema import donate_links

PLACEHOLDERS = {"edition", "team", "walker"}


def _safe(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("https://", "http://")) else None


def check_template(template: str | None) -> str | None:
    """Validate ``[walk] donate_url``: an http(s) URL using only the known placeholders."""
    if not template:
        return None
    if not _safe(template):
        raise ConfigError(f"[walk] donate_url must start with https:// (got {template[:40]!r})")
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"[walk] donate_url is malformed: {exc}") from exc
    unknown = names - PLACEHOLDERS
    if unknown:
        raise ConfigError(f"[walk] donate_url: unknown placeholder(s) {sorted(unknown)}; use {{edition}}, "
                          "{team} and {walker}")
    return template


@dataclass
class DonateLinks:
    """The donate links of one edition, read once (the store's donate-link table, then the template)."""

    edition: str
    stored: dict[tuple[str, str], str] = field(default_factory=dict)
    template: str | None = None

    def _make(self, team: str, walker: str) -> str | None:
        if not self.template:
            return None
        return self.template.format(edition=quote(self.edition, safe=""), team=quote(team, safe=""),
                                    walker=quote(walker, safe=""))

    def for_edition(self) -> str | None:
        """The link to sponsor the walk as a whole."""
        return _safe(self.stored.get(("", ""))) or self._make("", "")

    def for_team(self, team: str) -> str | None:
        """The link to sponsor a team."""
        return _safe(self.stored.get((team, ""))) or self._make(team, "")

    def for_walker(self, walker: Walker) -> str | None:
        """The link to sponsor a walker (made for them on their team, or for them alone)."""
        team = walker.team_slug or ""
        stored = self.stored.get((team, walker.slug)) or self.stored.get(("", walker.slug))
        return _safe(stored) or self._make(team, walker.slug)


def load_donate_links(conn: Connection, config: Config, edition: str) -> DonateLinks:
    """Every donate link of an edition in one read (the same table ``vwfund.store.links.donate_link`` reads)."""
    rows = conn.execute(select(donate_links.c.team, donate_links.c.walker, donate_links.c.url)
                        .where(donate_links.c.campaign == edition))
    return DonateLinks(edition, {(r.team or "", r.walker or ""): r.url for r in rows},
                       check_template(config.get("walk", "donate_url")))
