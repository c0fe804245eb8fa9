"""The plugin seam: built-ins load through the entry-point group; a broken plugin is reported, not fatal."""

from __future__ import annotations

import importlib.metadata
import json
import sys
import types

from vwfund.plugins import hookimpl, load_plugins


def test_builtins_register_connectors_and_campaigns_through_entry_points(sqlite_app):
    assert {"offline", "stripe", "mailchimp", "civicrm"} <= set(sqlite_app.connectors)
    assert {"segments", "walk", "crowdfunding", "gdpr"} <= set(sqlite_app.campaigns)
    names = {ep.name for ep in importlib.metadata.entry_points(group="vwfund")}
    assert set(sqlite_app.plugins.sources) <= names  # nothing registered behind the group's back


def test_a_plugin_that_fails_to_load_is_reported_and_skipped(monkeypatch, sqlite_store, tmp_path):
    broken = types.ModuleType("vwfund_test_broken")
    good = types.ModuleType("vwfund_test_good")

    class Thing:
        name = "thing"
        title = "A third-party connector"
        order = 100

        def is_configured(self, config):
            return False

    @hookimpl
    def register_connectors(register):
        register(Thing())

    good.register_connectors = register_connectors  # type: ignore[attr-defined]
    sys.modules["vwfund_test_good"] = good
    sys.modules["vwfund_test_broken"] = broken
    real = importlib.metadata.entry_points

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == "vwfund":
            found += [importlib.metadata.EntryPoint("good", "vwfund_test_good", "vwfund"),
                      importlib.metadata.EntryPoint("broken", "vwfund_test_missing_module", "vwfund")]
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    plugins = load_plugins()
    assert [f.name for f in plugins.failures] == ["broken"]
    assert "No module named" in plugins.failures[0].error

    from conftest import Cli, make_app

    cli = Cli(make_app(sqlite_store, plugins))
    listed = json.loads(cli("--json", "plugins").stdout)
    statuses = {p["name"]: p["status"] for p in listed["plugins"]}
    assert statuses["good"] == "loaded" and statuses["broken"].startswith("failed")
    assert "thing" in [c["name"] for c in listed["connectors"]]
    doctor = cli("doctor", expect=1).stdout
    assert "FAIL plugin broken: did not load" in doctor
