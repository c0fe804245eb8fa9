"""Pushing segments to a target: the difference first, writing only with --apply, push state kept."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import pytest
from conftest import Cli, make_app
from sqlalchemy import select
from test_segments import AS_OF, seed

from vwfund.campaigns.segments.push import push_segment
from vwfund.campaigns.segments.runs import default_as_of, run_segments
from vwfund.campaigns.segments.settings import STANDARD_RULES, load_settings
from vwfund.connector import Connector
from vwfund.errors import ConfigError, InputError
from vwfund.plugins import hookimpl, load_plugins
from vwfund.store.schema import audit_log, contacts, segment_runs
from vwfund.sync import PushedItem, PushOutcome, pushed_items
from vwfund.targets import TargetContact


class FakeTarget:
    """A segment target that remembers every call and refuses contacts whose email is in ``refuse``."""

    name = "fakecrm"

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int], list[int]]] = []
        self.refuse: set[str] = set()

    def apply_segment(self, segment: str, add: Sequence[TargetContact], remove: Sequence[TargetContact]
                      ) -> PushOutcome:
        self.calls.append((segment, [c.contact_id for c in add], [c.contact_id for c in remove]))
        out = PushOutcome()
        for c in add:
            if c.email in self.refuse:
                out.errors.append(f"contact {c.contact_id}: refused")
            else:
                out.pushed.append(PushedItem(f"segment:{segment}", str(c.contact_id)))
        out.pushed += [PushedItem(f"segment:{segment}", str(c.contact_id), removed=True) for c in remove]
        return out


class FakeConnector(Connector):
    name = "fakecrm"

    def __init__(self, target: FakeTarget | None) -> None:
        self.target = target

    def segment_target(self, app):
        return self.target


class FakePlugin:
    def __init__(self, target: FakeTarget | None) -> None:
        self.__name__ = "fakecrm-plugin"
        self.connector = FakeConnector(target)

    @hookimpl
    def register_connectors(self, register):
        register(self.connector)


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


@pytest.fixture
def push_app(store, target):
    plugins = load_plugins(only_distribution="vwfund", extra=[FakePlugin(target)])
    app = make_app(store, plugins)
    yield app
    app.close()


def test_dry_run_shows_the_difference_and_sends_nothing(push_app, target):
    ids = seed(push_app.store)
    run_segments(push_app.store, load_settings(push_app.config), AS_OF)
    plan = push_segment(push_app, "lybunt", "fakecrm")
    assert plan.add == sorted([ids["lybunt"], ids["nye24"]]) and plan.remove == [] and not plan.applied
    assert target.calls == []
    with push_app.store.read() as conn:
        assert pushed_items(conn, "fakecrm", "segment:lybunt") == {}


def test_apply_sends_adds_then_later_removes_and_keeps_state(push_app, target):
    ids = seed(push_app.store)
    settings = load_settings(push_app.config)
    run_segments(push_app.store, settings, AS_OF)
    plan = push_segment(push_app, "lybunt", "fakecrm", apply=True)
    assert plan.result is not None and plan.result.ok and plan.result.counts["pushed"] == 2
    assert target.calls == [("lybunt", sorted([ids["lybunt"], ids["nye24"]]), [])]
    with push_app.store.read() as conn:
        assert set(pushed_items(conn, "fakecrm", "segment:lybunt")) == {str(ids["lybunt"]), str(ids["nye24"])}
    # pushing again without a new run changes nothing
    assert push_segment(push_app, "lybunt", "fakecrm").add == []
    # a year later (30 June 2026) the 2025 donors are the LYBUNTs; lybunt and nye24 leave
    run_segments(push_app.store, settings, date(2026, 6, 30))
    plan = push_segment(push_app, "lybunt", "fakecrm", apply=True)
    assert sorted(plan.remove) == sorted([ids["lybunt"], ids["nye24"]])
    assert ids["new"] in plan.add and ids["gone"] not in plan.add
    with push_app.store.read() as conn:
        state = set(pushed_items(conn, "fakecrm", "segment:lybunt"))
        audit = conn.execute(select(audit_log).where(audit_log.c.action == "segment_push")).all()
    assert state == {str(i) for i in plan.add}
    assert len(audit) == 2 and audit[1].details["planned_remove"] == 2


def test_a_refused_contact_is_not_recorded_and_is_offered_again(push_app, target):
    ids = seed(push_app.store)
    run_segments(push_app.store, load_settings(push_app.config), AS_OF)
    target.refuse = {"nye24@example.org"}
    plan = push_segment(push_app, "lybunt", "fakecrm", apply=True)
    assert plan.result is not None and plan.result.status == "partial"
    assert plan.result.errors == [f"contact {ids['nye24']}: refused"]
    assert push_segment(push_app, "lybunt", "fakecrm").add == [ids["nye24"]]


def test_a_connector_without_segment_target_is_a_clear_error(store):
    app = make_app(store, load_plugins(only_distribution="vwfund", extra=[FakePlugin(None)]))
    try:
        with pytest.raises(ConfigError, match="'fakecrm' cannot hold segments"):
            push_segment(app, "lybunt", "fakecrm")
        with pytest.raises(ConfigError, match="no connector named 'nowhere'"):
            push_segment(app, "lybunt", "nowhere")
    finally:
        app.close()


def test_pushing_a_segment_never_run_says_to_run_it(push_app):
    with pytest.raises(InputError, match="never been run"):
        push_segment(push_app, "lybunt", "fakecrm")


def test_cli_run_show_export_and_push(sqlite_store, target, tmp_path):
    plugins = load_plugins(only_distribution="vwfund", extra=[FakePlugin(target)])
    app = make_app(sqlite_store, plugins, {"segments": {"custom": {"big": "total_last_year >= 40"}}})
    cli = Cli(app)
    ids = seed(sqlite_store)
    out = cli("segments", "run", "--as-of", "2025-06-30").output
    assert "lybunt" in out and "retention" in out
    listed = json.loads(cli("--json", "segments", "list").output)
    assert {r["name"]: r["members"] for r in listed}["lybunt"] == 2
    shown = json.loads(cli("--json", "segments", "show", "big").output)
    # big (>= 40 last year): down, partial, lybunt, monthly, paused; in the window (1 Jul 2024 - 30 Jun 2025)
    # they gave: down 20, partial 40, lybunt 0, monthly 12 x 10, paused 9 x 10 = EUR 270
    assert shown["members"] == 5 and shown["window_totals"]["EUR"]["minor"] == 27000
    csv_file = tmp_path / "out" / "lybunt.csv"
    cli("segments", "export", "lybunt", "--csv", str(csv_file))
    lines = csv_file.read_text().splitlines()
    assert lines[0].startswith("contact_id,email") and len(lines) == 3 and (csv_file.stat().st_mode & 0o077) == 0
    dry = cli("segments", "push", "lybunt", "--to", "fakecrm").output
    assert "add 2, remove 0" in dry and "dry run" in dry and target.calls == []
    applied = cli("segments", "push", "lybunt", "--to", "fakecrm", "--apply").output
    assert "accepted 2" in applied and len(target.calls) == 1
    with sqlite_store.read() as conn:
        assert conn.execute(select(contacts.c.id).where(contacts.c.id == ids["lybunt"])).scalar()
    app.close()


def test_nightly_runs_every_segment_at_today(sqlite_store):
    app = make_app(sqlite_store, load_plugins(only_distribution="vwfund"))
    seed(sqlite_store)
    result = app.campaign("segments").nightly(app)
    assert result is not None and result.ok and result.direction == "job"
    # the 16 donors of 30 June 2025 and "future", whose gift of 5 July 2025 is in the past by now
    assert result.counts["donors"] == 17
    with sqlite_store.read() as conn:
        runs = conn.execute(select(segment_runs)).all()
    assert {r.name for r in runs} == set(STANDARD_RULES)
    assert {r.definition["as_of"] for r in runs} == {default_as_of("Europe/Amsterdam").isoformat()}
    app.close()
