"""Walk totals: one rule (vwfund.store.amounts) for the CLI, the pages and the JSON feed.

A gift belongs to the walk when its ``campaign`` is the edition's code. It counts for a walker when it names
the walker, and for a team when it names the team or one of the team's walkers; a gift that names a known
walker follows the walker's *current* team (a walker who moved takes their gifts along), whatever team the
gift itself recorded. What counts is ``vwfund.store.amounts.counted_minor``: refunds subtracted once; pending
gifts shown apart and not counted; failed, disputed and test gifts count nothing. Matched gifts count in the
total and are shown as their own line; fees are shown apart (gross, fees, net). Gifts in another currency
than the edition's are never added: they are listed apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import Connection, and_, case, select, union

from vwfund.campaigns.walk.editions import Edition, Team, Walker, load_teams, load_walkers
from vwfund.campaigns.walk.tables import walk_walkers
from vwfund.money import Money
from vwfund.store.amounts import COUNTED, counted_minor, fee_counted_minor
from vwfund.store.schema import contacts, donations

ONLINE_SOURCES = frozenset({"stripe"})


@dataclass(frozen=True)
class Gift:
    """One sponsorship as the walk sees it (the team is the walker's current team when a walker is named).

    Only what the pages may show about the sponsor is read: the public name, the first and last name for an
    initial, and the message; never an email or an address.
    """

    external_id: str
    source: str
    amount_minor: int
    currency: str
    fee_minor: int
    refunded_minor: int
    status: str
    is_test: bool
    received_at: datetime
    team: str | None
    walker: str | None
    matched: bool
    anonymous: bool
    public_name: str | None
    public_message: str | None
    contact_id: int | None
    first_name: str | None
    last_name: str | None

    @property
    def counted_minor(self) -> int:
        """What this gift adds to money raised (the store's one rule)."""
        return counted_minor(self.status, self.amount_minor, self.refunded_minor, self.is_test)


@dataclass
class Totals:
    """Money raised by a walker, a team or the whole edition, line by line, in the edition's currency."""

    currency: str
    raised: Money
    sponsored: Money
    matched: Money
    gross: Money
    refunded: Money
    fees: Money
    net: Money
    online: Money
    offline: Money
    pending: Money
    pending_gifts: int
    gifts: int
    sponsors: int
    anonymous_gifts: int
    goal: Money | None = None
    other_currencies: dict[str, int] = field(default_factory=dict)

    @property
    def progress_percent(self) -> Decimal | None:
        """Raised as a percentage of the goal (one decimal, rounded down), None without a goal."""
        if self.goal is None or self.goal.minor <= 0:
            return None
        return (Decimal(self.raised.minor) * 100 / Decimal(self.goal.minor)).quantize(Decimal("0.1"), ROUND_DOWN)

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form: every amount exact (string and minor units)."""
        money = ("raised", "sponsored", "matched", "gross", "refunded", "fees", "net", "online", "offline", "pending")
        data: dict[str, Any] = {"currency": self.currency}
        data.update({name: getattr(self, name).to_json() for name in money})
        data.update({"pending_gifts": self.pending_gifts, "gifts": self.gifts, "sponsors": self.sponsors,
                     "anonymous_gifts": self.anonymous_gifts,
                     "goal": self.goal.to_json() if self.goal is not None else None,
                     "progress_percent": str(self.progress_percent) if self.progress_percent is not None else None,
                     "other_currencies": {c: str(Money(m, c).amount) for c, m in sorted(self.other_currencies.items())}})
        return data


def summarise(gifts: Iterable[Gift], currency: str, goal_minor: int | None = None) -> Totals:
    """Add up gifts by the store's rule: the one place walk totals are made."""
    raised = matched = gross = refunded = fees = online = pending = 0
    pending_gifts = counted_gifts = anonymous = 0
    people: set[int] = set()
    unnamed = 0
    other: dict[str, int] = defaultdict(int)
    for gift in gifts:
        if gift.is_test:
            continue
        if gift.currency != currency:
            other[gift.currency] += gift.counted_minor
            continue
        if gift.status == "pending":
            pending += gift.amount_minor
            pending_gifts += 1
            continue
        if gift.status not in COUNTED:
            continue
        counted = gift.counted_minor
        raised += counted
        gross += gift.amount_minor
        refunded += gift.refunded_minor
        fees += fee_counted_minor(gift.status, gift.fee_minor, gift.is_test)
        if gift.source in ONLINE_SOURCES:
            online += counted
        if gift.matched:
            matched += counted
        if counted <= 0:
            continue
        counted_gifts += 1
        if not gift.matched:  # a matching funder is not a sponsor
            anonymous += int(gift.anonymous)
            if gift.contact_id is None:
                unnamed += 1
            else:
                people.add(gift.contact_id)

    def m(minor: int) -> Money:
        return Money(minor, currency)

    return Totals(
        currency=currency, raised=m(raised), sponsored=m(raised - matched), matched=m(matched), gross=m(gross),
        refunded=m(refunded), fees=m(fees), net=m(raised - fees), online=m(online), offline=m(raised - online),
        pending=m(pending), pending_gifts=pending_gifts, gifts=counted_gifts, sponsors=len(people) + unnamed,
        anonymous_gifts=anonymous, goal=m(goal_minor) if goal_minor is not None else None,
        other_currencies={c: v for c, v in other.items() if v},
    )


def _gift_query(edition: str) -> Any:
    w = walk_walkers
    team = case((w.c.slug.is_not(None), w.c.team_slug), else_=donations.c.team).label("effective_team")
    d = donations.c
    return (
        select(d.external_id, d.source, d.amount_minor, d.currency, d.fee_minor, d.refunded_minor, d.status,
               d.is_test, d.received_at, team, d.walker, d.matched, d.anonymous, d.public_name, d.public_message,
               d.contact_id, contacts.c.first_name, contacts.c.last_name)
        .select_from(
            donations.outerjoin(w, and_(w.c.edition == edition, w.c.slug == d.walker))
            .outerjoin(contacts, contacts.c.id == d.contact_id)
        )
        .where(d.campaign == edition)
    )


def fetch_gifts(conn: Connection, edition: str, *, team: str | None = None, walker: str | None = None) -> list[Gift]:
    """The edition's gifts, newest first; only a team's (its own and its walkers') or one walker's when asked."""
    query = _gift_query(edition)
    w, d = walk_walkers, donations.c
    if team is not None:
        members = select(w.c.slug).where((w.c.edition == edition) & (w.c.team_slug == team))
        # candidates found through the team and walker indexes (not by scanning the walk); the rule is below
        candidates = union(select(d.id).where(d.team == team), select(d.id).where(d.walker.in_(members)))
        query = query.where(d.id.in_(candidates))
    if walker is not None:
        query = query.where(d.walker == walker)
    query = query.order_by(d.received_at.desc(), d.external_id)
    gifts = [Gift(*row) for row in conn.execute(query)]
    if team is not None:
        gifts = [g for g in gifts if g.team == team]
    return gifts


@dataclass(frozen=True)
class Unknown:
    """Gifts of the edition naming a team or walker the edition does not know (a typo, or not imported yet):
    they count for the walk as a whole but for no team or walker."""

    kind: str
    slug: str
    gifts: int
    counted: Money

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form."""
        return {"kind": self.kind, "slug": self.slug, "gifts": self.gifts, "counted": self.counted.to_json()}


def unknown_slugs(gifts: Iterable[Gift], teams: Iterable[str], walkers: Iterable[str], currency: str) -> list[Unknown]:
    """The team and walker slugs that gifts name but the edition does not know, with what they hold."""
    known_teams, known_walkers = set(teams), set(walkers)
    found: dict[tuple[str, str], list[Gift]] = defaultdict(list)
    for gift in gifts:
        if gift.walker and gift.walker not in known_walkers:
            found[("walker", gift.walker)].append(gift)
        elif gift.team and gift.team not in known_teams:
            found[("team", gift.team)].append(gift)
    return [Unknown(kind, slug, len(items), summarise(items, currency).raised)
            for (kind, slug), items in sorted(found.items())]


def team_totals(conn: Connection, edition: Edition, team: Team) -> Totals:
    """One team's totals: its own gifts and its current walkers'."""
    return summarise(fetch_gifts(conn, edition.code, team=team.slug), edition.currency, team.goal_minor)


def walker_totals(conn: Connection, edition: Edition, walker: Walker) -> Totals:
    """One walker's totals."""
    return summarise(fetch_gifts(conn, edition.code, walker=walker.slug), edition.currency, walker.goal_minor)


def edition_totals(conn: Connection, edition: Edition) -> Totals:
    """The whole edition's totals (every gift to the walk, attributed or not)."""
    return summarise(fetch_gifts(conn, edition.code), edition.currency, edition.goal_minor)


@dataclass
class WalkReport:
    """Everything the pages show, from one read: totals and gifts of the edition, each team and walker."""

    edition: Edition
    totals: Totals
    teams: dict[str, Team]
    walkers: dict[str, Walker]
    team_totals: dict[str, Totals]
    walker_totals: dict[str, Totals]
    team_gifts: dict[str, list[Gift]]
    walker_gifts: dict[str, list[Gift]]
    all_teams: dict[str, Team] = field(default_factory=dict)
    _by_team: dict[str, list[Walker]] | None = field(default=None, repr=False)

    def team_walkers(self, team: str) -> list[Walker]:
        """A team's current walkers, by name."""
        if self._by_team is None:
            grouped: dict[str, list[Walker]] = defaultdict(list)
            for walker in sorted(self.walkers.values(), key=lambda w: (w.name.lower(), w.slug)):
                if walker.team_slug is not None:
                    grouped[walker.team_slug].append(walker)
            self._by_team = dict(grouped)
        return self._by_team.get(team, [])


def walk_report(conn: Connection, edition: Edition, *, team: str | None = None, walker: str | None = None) -> WalkReport:
    """Read the edition once and total it per team and per walker (same rule as :func:`team_totals`).

    With ``team`` (or ``walker``) the report covers only that team and its walkers (or that walker): what a
    live page needs, read by index; its ``totals`` are then that scope's.
    """
    all_teams = load_teams(conn, edition.code)
    if team is not None:
        gifts = fetch_gifts(conn, edition.code, team=team)
        teams = {team: all_teams[team]} if team in all_teams else {}
        walkers = load_walkers(conn, edition.code, team=team)
    elif walker is not None:
        gifts = fetch_gifts(conn, edition.code, walker=walker)
        teams = {}
        walkers = {s: w for s, w in load_walkers(conn, edition.code).items() if s == walker}
    else:
        gifts = fetch_gifts(conn, edition.code)
        teams, walkers = all_teams, load_walkers(conn, edition.code)
    by_team: dict[str, list[Gift]] = defaultdict(list)
    by_walker: dict[str, list[Gift]] = defaultdict(list)
    for gift in gifts:
        if gift.team is not None:
            by_team[gift.team].append(gift)
        if gift.walker is not None:
            by_walker[gift.walker].append(gift)
    cur = edition.currency
    goal = edition.goal_minor if team is None and walker is None else None
    return WalkReport(
        edition=edition, totals=summarise(gifts, cur, goal), teams=teams, walkers=walkers, all_teams=all_teams,
        team_totals={s: summarise(by_team.get(s, ()), cur, t.goal_minor) for s, t in teams.items()},
        walker_totals={s: summarise(by_walker.get(s, ()), cur, w.goal_minor) for s, w in walkers.items()},
        team_gifts={s: by_team.get(s, []) for s in teams}, walker_gifts={s: by_walker.get(s, []) for s in walkers},
    )


@dataclass(frozen=True)
class Standing:
    """One line of a leaderboard."""

    rank: int
    key: str
    name: str
    team: str | None
    company: str | None
    totals: Totals

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe form."""
        return {"rank": self.rank, "key": self.key, "name": self.name, "team": self.team, "company": self.company,
                "raised": self.totals.raised.to_json(), "matched": self.totals.matched.to_json(),
                "sponsors": self.totals.sponsors,
                "goal": self.totals.goal.to_json() if self.totals.goal is not None else None,
                "progress_percent": str(self.totals.progress_percent) if self.totals.progress_percent is not None
                else None}


def _ranked(items: Sequence[tuple[str, str, str | None, str | None, Totals]]) -> list[Standing]:
    ordered = sorted(items, key=lambda i: (-i[4].raised.minor, i[1].lower(), i[0]))
    return [Standing(n, key, name, team, company, totals)
            for n, (key, name, team, company, totals) in enumerate(ordered, start=1)]


def leaderboard(report: WalkReport, by: str = "team") -> list[Standing]:
    """Teams, walkers or companies (their teams added up) ranked by money raised."""
    if by == "team":
        return _ranked([(s, t.name, s, t.company, report.team_totals[s]) for s, t in report.teams.items()])
    if by == "walker":
        companies = {s: t.company for s, t in report.all_teams.items()}
        return _ranked([(s, w.name, w.team_slug, companies.get(w.team_slug or ""), report.walker_totals[s])
                        for s, w in report.walkers.items()])
    if by == "company":
        groups: dict[str, list[Gift]] = defaultdict(list)
        for slug, team in report.teams.items():
            if team.company:
                groups[team.company].extend(report.team_gifts[slug])
        return _ranked([(c, c, None, c, summarise(g, report.edition.currency)) for c, g in groups.items()])
    raise ValueError(f"unknown leaderboard {by!r}: use team, walker or company")
