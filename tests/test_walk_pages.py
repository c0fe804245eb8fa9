"""The walk's pages: static and live, numbers equal to the totals, public text escaped, no contact details,
Dutch by default with French and English, donate links, nothing loaded from elsewhere."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import make_app
from test_walk_totals import CODE, SPONSORS, gift, seed
from werkzeug.test import Client

from vwfund.app import App
from vwfund.campaigns.walk import service
from vwfund.campaigns.walk.editions import Team
from vwfund.money import Money
from vwfund.plugins import load_plugins
from vwfund.store.links import save_donate_link
from vwfund.store.records import save_records
from vwfund.web import build_wsgi_app

TEMPLATE = "https://give.example.org/walk?e={edition}&t={team}&w={walker}"


@pytest.fixture
def walk_app(sqlite_store: Any, builtin_plugins: Any) -> Iterator[App]:
    """A seeded walk with a donate-link template, a stored link for team-a and a hostile name and message."""
    app = make_app(sqlite_store, builtin_plugins, {"walk": {"donate_url": TEMPLATE}})
    seed(app, [Team("team-x", "<script>alert(1)</script>", None, None, 10000)])
    with app.store.begin() as conn:
        save_records(conn, [gift("cash-x", "7.50", team="team-x", public_name="Eve",
                                 public_message='<img src=x onerror="alert(2)"> mail me: eve@example.org')])
        save_donate_link(conn, CODE, "https://buy.stripe.com/test_team_a", "stripe", "plink_a", team="team-a")
        save_donate_link(conn, CODE, "javascript:alert(3)", "stripe", "plink_bad", walker="w-bea")
    yield app
    app.close()


def data_values(html: str, line: str) -> list[Decimal]:
    """Every amount the page marks with ``data-line=line``, as numbers."""
    return [Decimal(v) for v in re.findall(rf'data-line="{line}" value="([^"]+)"', html)]


def test_static_site_has_every_page_and_its_numbers_equal_the_totals(walk_app: App, tmp_path: Path) -> None:
    site = service.build_pages(walk_app, tmp_path / "site")
    assert site.pages == 1 + 3 + 3
    for name in ("index.html", "walk.css", "totals.json", "teams/team-a.html", "teams/team-x.html",
                 "walkers/w-ann.html", "walkers/w-mover.html"):
        assert (tmp_path / "site" / name).is_file(), name
    team_a = (tmp_path / "site/teams/team-a.html").read_text()
    totals = service.totals(walk_app, team="team-a").totals
    assert data_values(team_a, "raised")[0] == totals.raised.amount
    assert data_values(team_a, "matched") == [totals.matched.amount]
    assert data_values(team_a, "pending") == [totals.pending.amount]
    assert data_values(team_a, "net") == [totals.net.amount]
    index = (tmp_path / "site/index.html").read_text()
    assert data_values(index, "raised")[0] == service.totals(walk_app).totals.raised.amount
    feed = json.loads((tmp_path / "site/totals.json").read_text())
    assert Decimal(feed["teams"]["team-a"]["raised"]["amount"]) == totals.raised.amount
    # the leaderboard is in order of money raised
    assert re.findall(r'<tr data-team="([^"]+)"', index) == ["team-a", "team-b", "team-x"]


def test_sponsors_are_shown_as_they_chose_and_never_with_contact_details(walk_app: App, tmp_path: Path) -> None:
    service.build_pages(walk_app, tmp_path / "site")
    team_a = (tmp_path / "site/teams/team-a.html").read_text()
    assert "Piet P." in team_a  # first name and initial
    assert "Tante Marie" in team_a  # the public name given
    assert "anoniem" in team_a and "Should Not Show" not in team_a and "Hidden" not in team_a
    assert "Pieters" not in team_a
    everything = "".join(p.read_text() for p in (tmp_path / "site").rglob("*") if p.suffix in (".html", ".json"))
    for person in SPONSORS:
        assert person.email is not None and person.email not in everything
    assert "eve@example.org" not in everything and "@" not in everything


def test_hostile_names_and_messages_are_text(walk_app: App, tmp_path: Path) -> None:
    service.build_pages(walk_app, tmp_path / "site")
    team_x = (tmp_path / "site/teams/team-x.html").read_text()
    index = (tmp_path / "site/index.html").read_text()
    for html in (team_x, index):
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in team_x and "&lt;img src=x onerror=" in team_x


def test_pages_load_nothing_from_elsewhere_and_donate_links_are_safe(walk_app: App, tmp_path: Path) -> None:
    service.build_pages(walk_app, tmp_path / "site")
    for page in (tmp_path / "site").rglob("*.html"):
        html = page.read_text()
        assert "src=" not in html.replace("&lt;img src=", "")
        for href in re.findall(r'href="([^"]+)"', html):
            assert not href.startswith(("http:", "https:", "//")) or "give.example.org" in href \
                or "buy.stripe.com" in href, (page, href)
        assert "javascript:" not in html
    team_a = (tmp_path / "site/teams/team-a.html").read_text()
    assert 'href="https://buy.stripe.com/test_team_a"' in team_a
    team_b = (tmp_path / "site/teams/team-b.html").read_text()
    assert 'href="https://give.example.org/walk?e=walk24&amp;t=team-b&amp;w="' in team_b
    bea = (tmp_path / "site/walkers/w-bea.html").read_text()  # unsafe stored link: the template instead
    assert 'href="https://give.example.org/walk?e=walk24&amp;t=team-b&amp;w=w-bea"' in bea


@pytest.mark.parametrize("locale, word", [("nl_BE", "Sponsors en hun berichten"), ("nl_NL", "Opgehaald"),
                                          ("fr_BE", "Parrains et leurs messages"), ("en", "Sponsors and their messages")])
def test_each_locale_writes_its_words_and_amounts(walk_app: App, tmp_path: Path, locale: str, word: str) -> None:
    service.build_pages(walk_app, tmp_path / locale, locale=locale)
    html = (tmp_path / locale / "teams/team-a.html").read_text()
    raised = service.totals(walk_app, team="team-a").totals.raised
    assert word in html
    assert f'lang="{locale.replace("_", "-")}"' in html
    assert f'value="{raised.amount}">{Money(raised.minor, "EUR").format(locale)}</data>' in html


def test_default_locale_is_the_organisations(sqlite_store: Any, builtin_plugins: Any, tmp_path: Path) -> None:
    app = make_app(sqlite_store, builtin_plugins, {"organisation": {"locale": "fr_BE"}})
    seed(app)
    assert service.build_pages(app, tmp_path / "s").locale == "fr_BE"
    assert "Équipe" in (tmp_path / "s/index.html").read_text()
    app.close()


def test_live_pages_and_feed_under_serve(walk_app: App) -> None:
    import vwfund.campaigns.walk.plugin as walk_plugin

    only_walk = load_plugins(only_distribution="-none-", extra=[walk_plugin])  # other plugins' routes aside
    served = App(walk_app.config, db_url=walk_app.store.url, plugins=only_walk)
    client = Client(build_wsgi_app(served))
    assert client.get("/walk").status_code == 308
    index = client.get("/walk/")
    assert index.status_code == 200 and "text/html" in index.headers["Content-Type"]
    assert "default-src 'none'" in index.headers["Content-Security-Policy"]
    team = client.get("/walk/teams/team-a.html").get_data(as_text=True)
    assert data_values(team, "raised")[0] == service.totals(walk_app, team="team-a").totals.raised.amount
    walker = client.get("/walk/walkers/w-mover.html").get_data(as_text=True)
    assert data_values(walker, "raised")[0] == Decimal("15.00")
    feed = json.loads(client.get("/walk/totals.json").get_data(as_text=True))
    assert feed["totals"] == service.totals(walk_app).totals.to_json()
    assert client.get("/walk/teams/nope.html").status_code == 404
    assert client.get("/walk/teams/..%2f..%2fetc.html").status_code == 404
    assert client.get("/walk/walk.css").status_code == 200
    french = client.get("/walk/teams/team-a.html?lang=fr_BE").get_data(as_text=True)
    assert "Parrains" in french
    served.close()


def test_an_unknown_locale_is_refused_by_name(cli: Any, tmp_path: Path) -> None:
    seed(cli.app)
    result = cli("walk", "pages", "build", str(tmp_path / "s"), "--locale", "xx_YY", expect=1)
    assert "unknown locale 'xx_YY'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s").exists()


def test_live_pages_without_an_edition_say_how_to_make_one(sqlite_app: App) -> None:
    from vwfund.campaigns.walk.web import make_wsgi_app

    response = Client(make_wsgi_app(sqlite_app)).get("/")
    assert response.status_code == 503 and "vwfund walk edition" in response.get_data(as_text=True)


@pytest.mark.parametrize("seconds, index_sees_new_gift", [(0, True), (3600, False)])
def test_live_index_is_kept_for_the_cache_time_and_team_pages_are_fresh(
        sqlite_store: Any, builtin_plugins: Any, seconds: int, index_sees_new_gift: bool) -> None:
    from vwfund.campaigns.walk.web import make_wsgi_app

    app = make_app(sqlite_store, builtin_plugins, {"walk": {"live_cache_seconds": seconds}})
    seed(app)
    client = Client(make_wsgi_app(app))
    before = data_values(client.get("/").get_data(as_text=True), "raised")[0]
    with app.store.begin() as conn:
        save_records(conn, [gift("late-1", "100.00", team="team-b")])
    after = data_values(client.get("/").get_data(as_text=True), "raised")[0]
    assert (after == before + Decimal("100.00")) is index_sees_new_gift
    assert (after == before) is not index_sees_new_gift
    team_b = data_values(client.get("/teams/team-b.html").get_data(as_text=True), "raised")[0]
    assert team_b == Decimal("112.34")
    app.close()
