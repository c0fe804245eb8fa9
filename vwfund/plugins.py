"""The plugin seam: pluggy hooks and the ``vwfund`` entry-point group.

Built-in connectors and campaigns register through exactly these hooks and the same entry-point group
a third-party plugin uses. A plugin that fails to load is reported (``vwfund plugins``) and skipped.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click
import pluggy

if TYPE_CHECKING:
    from vwfund.campaign import CampaignJob
    from vwfund.connector import Connector
    from vwfund.web import RouteFactory

log = logging.getLogger(__name__)
PROJECT = "vwfund"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class HookSpecs:
    """The hooks a vwfund plugin may implement (each takes a ``register`` callable or the CLI group)."""

    @hookspec
    def register_connectors(self, register: Callable[[Connector], None]) -> None:
        """Register connectors to outside systems."""

    @hookspec
    def register_campaigns(self, register: Callable[[CampaignJob], None]) -> None:
        """Register campaign jobs (segments, walk, crowdfunding, gdpr, ...)."""

    @hookspec
    def register_commands(self, cli: click.Group) -> None:
        """Add click commands or groups to the ``vwfund`` command line."""

    @hookspec
    def register_routes(self, register: Callable[[str, RouteFactory], None]) -> None:
        """Mount WSGI applications under a path prefix of ``vwfund serve``."""


@dataclass
class PluginFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    target: str
    error: str


@dataclass
class Plugins:
    """The loaded plugin manager, with what failed to load."""

    manager: pluggy.PluginManager
    failures: list[PluginFailure] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def hook(self) -> Any:
        """The pluggy hook relay."""
        return self.manager.hook

    def describe(self) -> list[dict[str, str]]:
        """Every plugin: name, where it comes from, and whether it loaded."""
        rows = [{"name": name, "module": module, "status": "loaded"} for name, module in sorted(self.sources.items())]
        rows += [{"name": f.name, "module": f.target, "status": f"failed: {f.error}"} for f in self.failures]
        return rows


def load_plugins(*, only_distribution: str | None = None, extra: list[object] | None = None) -> Plugins:
    """Load every plugin of the ``vwfund`` entry-point group (optionally only one distribution's)."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(HookSpecs)
    plugins = Plugins(pm)
    for ep in importlib.metadata.entry_points(group=PROJECT):
        dist = ep.dist.name if ep.dist is not None else ""
        if only_distribution and dist != only_distribution:
            continue
        if pm.has_plugin(ep.name):
            continue
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
            plugins.sources[ep.name] = ep.value
        except Exception as exc:  # a broken plugin is reported, never fatal
            plugins.failures.append(PluginFailure(ep.name, ep.value, f"{type(exc).__name__}: {exc}"))
            log.warning("plugin %s failed to load: %s", ep.name, exc)
    for i, obj in enumerate(extra or []):
        name = getattr(obj, "__name__", f"extra-{i}")
        pm.register(obj, name=name)
        plugins.sources[name] = name
    return plugins
