"""Walk totals, hand-computed: online + offline + walker gifts, refunds, pending, anonymous, matched, a walker
who moved teams; the same numbers from the library, the CLI and totals.json, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from vwfund.app import App
from vwfund.campaigns.walk import service
from vwfund.campaigns.walk.editions import Edition, Team, Walker, move_walker, save_edition, save_teams, save_walkers
from vwfund.models import Contact, Donation
from vwfund.store.records import save_records

CODE = "walk24"
WHEN = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)


def gift(external_id: str, amount: str, *, source: str = "offline", contact: str | None = None, **extra: Any) -> Donation:
    """A walk gift of ``amount`` euro (given as text, e.g. "12.34")."""
    minor = int(Decimal(amount) * 100)
    fields: dict[str, Any] = {"status": "succeeded", "currency": "EUR", "received_at": WHEN, "campaign": CODE}
    fields.update(extra)
    if contact:
        fields.update(contact_source="demo", contact_external_id=contact)
    return Donation(source=source, external_id=external_id, amount_minor=minor, **fields)


SPONSORS = [
    Contact(source="demo", external_id="c1", first_name="Piet", last_name="Pieters", email="piet@example.org"),
    Contact(source="demo", external_id="c2", first_name="Marie", last_name="Dubois", email="marie@example.org"),
    Contact(source="demo", external_id="c3", first_name="Refund", last_name="Ed", email="ed@example.org"),
    Contact(source="demo", external_id="c4", first_name="Hidden", last_name="Person", email="hidden@example.org"),
    Contact(source="demo", external_id="c5", first_name="Bea", last_name="Bos", email="bea@example.org"),
]

GIFTS = [
    gift("ch_online", "50.00", source="stripe", contact="c1", team="team-a", fee_minor=100,
         public_message="Go team!"),
    gift("cash-1", "20.00", team="team-a"),
    gift("ch_walker", "30.00", source="stripe", contact="c2", walker="w-ann", fee_minor=70, public_name="Tante Marie"),
    gift("ch_partial", "40.00", source="stripe", contact="c1", team="team-a", fee_minor=100, refunded_minor=1500,
         status="partially_refunded"),
    gift("ch_refunded", "10.00", source="stripe", contact="c3", team="team-a", refunded_minor=1000, status="refunded"),
    gift("ch_pending", "100.00", source="stripe", team="team-a", status="pending"),
    gift("cash-anon", "5.00", contact="c4", team="team-a", anonymous=True, public_name="Should Not Show"),
    gift("match-1", "50.00", source="demo", team="team-a", matched=True),
    gift("cash-moved", "15.00", team="team-b", walker="w-mover"),
    gift("ch_disputed", "60.00", source="stripe", team="team-a", status="disputed"),
    gift("ch_test", "70.00", source="stripe", team="team-a", is_test=True),
    gift("cash-b", "12.34", contact="c5", team="team-b"),
    gift("other-campaign", "999.00", team="team-a", campaign="appeal24"),
    Donation(source="stripe", external_id="ch_usd", amount_minor=800, currency="USD", status="succeeded",
             received_at=WHEN, campaign=CODE, team="team-a"),
]


def seed(app: App, extra_teams: list[Team] | None = None) -> Edition:
    """The hand-computed walk: two teams, three walkers (w-mover moved from team-b to team-a), 14 gifts."""
    edition = Edition(CODE, "Walk 2024", 2024, date(2024, 10, 12), "EUR", 200000)
    with app.store.begin() as conn:
        save_edition(conn, edition)
        save_teams(conn, CODE, [Team("team-a", "Alpha Walkers", "ACME", "Ann", 100000),
                                Team("team-b", "Blue Feet", None, "Bob", 50000), *(extra_teams or [])])
        save_walkers(conn, CODE, [Walker("w-ann", "Ann", "Achter", "team-a", 20000),
                                  Walker("w-mover", "Mo", "Ver", "team-b", None),
                                  Walker("w-bea", "Bea", "Bos", "team-b", 10000)])
        save_records(conn, SPONSORS)
        save_records(conn, GIFTS)
        move_walker(conn, CODE, "w-mover", "team-a")
    return edition


def amount(value: dict[str, Any]) -> Decimal:
    """An amount from JSON output, as a number."""
    return Decimal(value["amount"])


def test_team_total_counts_every_channel_once_minus_refunds_with_lines_apart(app: App) -> None:
    seed(app)
    t = service.totals(app, team="team-a").totals
    # counted: 50 + 20 + 30 (via walker w-ann) + (40 - 15) + (10 - 10) + 5 (anonymous) + 50 (matched)
    #          + 15 (w-mover's gift follows the walker to team-a) = 195.00
    assert t.raised.amount == Decimal("195.00")
    assert t.matched.amount == Decimal("50.00") and t.sponsored.amount == Decimal("145.00")
    assert t.gross.amount == Decimal("220.00") and t.refunded.amount == Decimal("25.00")
    assert t.fees.amount == Decimal("2.70") and t.net.amount == Decimal("192.30")
    assert t.online.amount == Decimal("105.00") and t.offline.amount == Decimal("90.00")
    assert t.pending.amount == Decimal("100.00") and t.pending_gifts == 1
    assert t.gifts == 7
    # sponsors: c1 (two gifts), cash-1, c2, c4 (anonymous), cash-moved; not the refunded c3, not the matcher
    assert t.sponsors == 5 and t.anonymous_gifts == 1
    assert t.other_currencies == {"USD": 800}
    assert t.progress_percent == Decimal("19.5")


def test_moved_walker_takes_gifts_along_and_back(app: App) -> None:
    seed(app)
    assert service.totals(app, team="team-b").totals.raised.amount == Decimal("12.34")
    assert service.totals(app, walker="w-mover").totals.raised.amount == Decimal("15.00")
    service.move(app, "w-mover", "team-b")
    assert service.totals(app, team="team-b").totals.raised.amount == Decimal("27.34")
    assert service.totals(app, team="team-a").totals.raised.amount == Decimal("180.00")
    service.move(app, "w-ann", None)  # walking alone: her gifts leave team-a, whatever team they recorded
    assert service.totals(app, team="team-a").totals.raised.amount == Decimal("150.00")
    assert service.totals(app, walker="w-ann").totals.raised.amount == Decimal("30.00")


def test_walker_and_edition_totals(app: App) -> None:
    seed(app)
    ann = service.totals(app, walker="w-ann").totals
    assert ann.raised.amount == Decimal("30.00") and ann.sponsors == 1 and ann.fees.amount == Decimal("0.70")
    whole = service.totals(app).totals
    assert whole.raised.amount == Decimal("207.34")
    assert whole.sponsors == 6  # c5 joins the five of team-a
    assert whole.goal is not None and whole.goal.amount == Decimal("2000.00")


def test_leaderboards_rank_by_money_raised(app: App) -> None:
    seed(app, [Team("team-c", "Company Two", "ACME", None, None)])
    teams = service.standings(app, "team")
    assert [(r.rank, r.key, r.totals.raised.amount) for r in teams] == [
        (1, "team-a", Decimal("195.00")), (2, "team-b", Decimal("12.34")), (3, "team-c", Decimal("0.00"))]
    companies = service.standings(app, "company")
    assert [(r.name, r.totals.raised.amount) for r in companies] == [("ACME", Decimal("195.00"))]
    walkers = service.standings(app, "walker", limit=2)
    assert [(r.key, r.team) for r in walkers] == [("w-ann", "team-a"), ("w-mover", "team-a")]


def test_one_rule_for_library_feed_and_report(app: App) -> None:
    seed(app)
    with app.store.read() as conn:
        from vwfund.campaigns.walk.pages import totals_feed
        from vwfund.campaigns.walk.totals import walk_report

        feed = totals_feed(walk_report(conn, service.current_edition(app)))
    for slug in ("team-a", "team-b"):
        direct = service.totals(app, team=slug).totals.to_json()
        assert {k: v for k, v in feed["teams"][slug].items() if k not in ("name", "company")} == direct
    assert feed["totals"] == service.totals(app).totals.to_json()
    assert "piet@example.org" not in json.dumps(feed)


def test_cli_totals_and_leaderboard_as_json(cli: Any) -> None:
    seed(cli.app)
    data = json.loads(cli("--json", "walk", "totals", "--team", "team-a").stdout)
    assert amount(data["raised"]) == Decimal("195.00") and amount(data["matched"]) == Decimal("50.00")
    assert amount(data["pending"]) == Decimal("100.00") and data["sponsors"] == 5
    text = cli("walk", "totals", "--walker", "w-ann").stdout
    assert "30.00 EUR" in text
    board = json.loads(cli("--json", "walk", "leaderboard", "--by", "team").stdout)
    assert [row["key"] for row in board] == ["team-a", "team-b"]
    result = cli("walk", "totals", "--team", "nope", expect=1)
    assert "no team 'nope'" in result.output


def test_no_edition_gives_a_clear_error(cli: Any) -> None:
    result = cli("walk", "totals", expect=1)
    assert "vwfund walk edition" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("goal, expected", [("750000", 75000000), ("750.000,00", 75000000)])
def test_edition_goal_is_parsed_as_typed(cli: Any, goal: str, expected: int) -> None:
    out = cli("--json", "walk", "edition", "walk25", "--name", "Walk 2025", "--year", "2025", "--goal", goal)
    assert json.loads(out.stdout)["goal_minor"] == expected


def test_gifts_naming_unknown_teams_or_walkers_are_listed_apart(cli: Any) -> None:
    seed(cli.app)
    with cli.app.store.begin() as conn:
        save_records(conn, [gift("typo-1", "8.00", team="tem-a"), gift("typo-2", "2.00", team="tem-a"),
                            gift("typo-3", "4.00", team="team-a", walker="w-nobody")])
    data = json.loads(cli("--json", "walk", "totals").stdout)
    assert amount(data["raised"]) == Decimal("207.34") + Decimal("14.00")  # they count for the walk
    unknown = {(u["kind"], u["slug"]): (u["gifts"], amount(u["counted"])) for u in data["unknown"]}
    # a gift naming an unknown walker is listed under the walker (and still counts for the team it named)
    assert unknown == {("team", "tem-a"): (2, Decimal("10.00")), ("walker", "w-nobody"): (1, Decimal("4.00"))}
    assert service.totals(cli.app, team="team-a").totals.raised.amount == Decimal("199.00")
    assert "unknown team 'tem-a': 2 gifts, 10.00 EUR" in cli("walk", "totals").stdout
