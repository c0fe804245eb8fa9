"""The walk's pages in headless Chromium: they render, their numbers equal `walk totals`, hostile names and
messages run nothing, nothing is loaded from elsewhere, phones need no sideways scrolling; a screenshot of a
team page is kept in test-artifacts/."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.numbers import parse_decimal
from conftest import Cli, skip_or_fail
from test_walk_pages import walk_app  # noqa: F401  (the seeded walk, shared with the page tests)
from test_walk_totals import gift
from werkzeug.serving import make_server

from vwfund.app import App
from vwfund.plugins import load_plugins
from vwfund.store.records import save_records
from vwfund.web import build_wsgi_app

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Debian Chromium driven by Selenium through Debian's chromedriver."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        skip_or_fail("Chromium or chromedriver is missing (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=1280,1400")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def live(walk_app: App) -> Iterator[tuple[str, App]]:  # noqa: F811
    """The live pages served on 127.0.0.1 (only the walk's routes mounted), with a hostile message added."""
    import vwfund.campaigns.walk.plugin as walk_plugin

    with walk_app.store.begin() as conn:
        save_records(conn, [gift("cash-xss", "3.00", team="team-x",
                                 public_message="<img src=x onerror=\"window.__pwned=1;alert(2)\">")])
    app = App(walk_app.config, db_url=walk_app.store.url,
              plugins=load_plugins(only_distribution="-none-", extra=[walk_plugin]))
    server = make_server("127.0.0.1", 0, build_wsgi_app(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/walk/", app
    finally:
        server.shutdown()
        thread.join(5)
        app.close()


def _amounts(driver: Any, selector: str) -> list[tuple[Decimal, Decimal]]:
    """(machine value, visible text read as a number) of each amount matching ``selector``."""
    pairs = []
    for el in driver.find_elements("css selector", selector):
        text = el.text.replace("€", "").replace("\u00a0", " ").strip()
        pairs.append((Decimal(el.get_attribute("value")), parse_decimal(text, locale="nl_NL")))
    return pairs


def _ran_nothing(driver: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert
    assert driver.execute_script("return window.__pwned === undefined")


def _totals(app: App, *args: str) -> dict[str, Any]:
    return json.loads(Cli(app)("--json", "walk", "totals", *args).stdout)


def test_team_page_numbers_equal_walk_totals_and_screenshot(browser: Any, live: tuple[str, App]) -> None:
    base, app = live
    browser.get(base + "teams/team-a.html")
    assert browser.find_element("css selector", "h1").text == "Alpha Walkers"
    expected = _totals(app, "--team", "team-a")
    browser.find_element("css selector", "details.lines summary").click()  # show the lines, as a reader would
    page = {line: _amounts(browser, f".summary data[data-line='{line}']")
            for line in ("raised", "goal", "matched", "gross", "refunded", "fees", "net", "pending")}
    for line, pairs in page.items():
        want = Decimal((expected["goal"] if line == "goal" else expected[line])["amount"])
        assert pairs, line
        for value, shown in pairs:
            assert value == want and shown == want, line
    count = browser.find_element("css selector", "data[data-line='sponsor-count']")
    assert int(count.get_attribute("value")) == parse_decimal(count.text, locale="nl_NL") == expected["sponsors"]
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    origin = base.removesuffix("walk/")
    assert resources and all(r.startswith(origin) for r in resources)  # nothing from elsewhere
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "walk-team-page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000


def test_index_leaderboard_equals_walk_totals(browser: Any, live: tuple[str, App]) -> None:
    base, app = live
    browser.get(base)
    whole = _totals(app)
    (raised, shown), *_ = _amounts(browser, ".summary data[data-line='raised']")
    assert raised == shown == Decimal(whole["raised"]["amount"])
    for row in browser.find_elements("css selector", "tr[data-team]"):
        slug = row.get_attribute("data-team")
        (value, text), = _amounts(row, "data[data-line='raised']")
        assert value == text == Decimal(_totals(app, "--team", slug)["raised"]["amount"])
    browser.find_element("link text", "Alpha Walkers").click()
    assert browser.current_url == base + "teams/team-a.html"


def test_hostile_team_name_and_message_run_nothing(browser: Any, live: tuple[str, App], tmp_path: Path) -> None:
    base, app = live
    browser.get(base + "teams/team-x.html")
    _ran_nothing(browser)
    assert browser.find_element("css selector", "h1").text == "<script>alert(1)</script>"
    messages = [m.text for m in browser.find_elements("css selector", ".message")]
    assert any(m.startswith("<img src=x onerror=") for m in messages)
    browser.get(base)
    _ran_nothing(browser)
    # the static site (no server, no security headers) must be just as inert
    from vwfund.campaigns.walk import service

    service.build_pages(app, tmp_path / "site")
    browser.get((tmp_path / "site" / "teams" / "team-x.html").as_uri())
    _ran_nothing(browser)
    assert browser.find_element("css selector", "h1").text == "<script>alert(1)</script>"


def test_phone_width_needs_no_sideways_scrolling(browser: Any, live: tuple[str, App]) -> None:
    base, _ = live
    browser.set_window_size(375, 800)
    for page in ("", "teams/team-a.html", "walkers/w-ann.html"):
        browser.get(base + page)
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"), page
