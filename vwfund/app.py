"""The App: one run's configuration, store, plugins and HTTP sessions, shared by commands and jobs."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

import requests

from vwfund.config import Config, load_config
from vwfund.errors import ConfigError
from vwfund.http import make_session
from vwfund.plugins import Plugins, load_plugins
from vwfund.store.database import Store, default_url, open_store

if TYPE_CHECKING:
    from vwfund.campaign import CampaignJob
    from vwfund.connector import Connector


class App:
    """Everything a command or job needs; the store opens on first use."""

    def __init__(
        self,
        config: Config | None = None,
        db_url: str | None = None,
        plugins: Plugins | None = None,
        *,
        json_output: bool = False,
        verbose: int = 0,
        interactive: bool = False,
    ) -> None:
        self.config = config or load_config()
        self._db_url = db_url
        self._plugins = plugins
        self.json_output = json_output
        self.verbose = verbose
        self.interactive = interactive

    @property
    def db_url(self) -> str:
        """The store URL: ``--db``, then ``VWFUND_DB``, then ``[store] url``, then the embedded default."""
        return self._db_url or os.environ.get("VWFUND_DB") or self.config.get("store", "url") or default_url()

    @cached_property
    def store(self) -> Store:
        """The opened (and, for SQLite, migrated) store."""
        return open_store(self.db_url)

    @property
    def plugins(self) -> Plugins:
        """The loaded plugins (entry points of the ``vwfund`` group)."""
        if self._plugins is None:
            self._plugins = load_plugins()
        return self._plugins

    @cached_property
    def connectors(self) -> dict[str, Connector]:
        """Registered connectors by name, in nightly order."""
        found: list[Connector] = []
        self.plugins.hook.register_connectors(register=found.append)
        return {c.name: c for c in sorted(found, key=lambda c: (c.order, c.name))}

    @cached_property
    def campaigns(self) -> dict[str, CampaignJob]:
        """Registered campaign jobs by name, in nightly order."""
        found: list[CampaignJob] = []
        self.plugins.hook.register_campaigns(register=found.append)
        return {j.name: j for j in sorted(found, key=lambda j: (j.order, j.name))}

    def connector(self, name: str) -> Connector:
        """A connector by name, or a ConfigError listing the ones there are."""
        try:
            return self.connectors[name]
        except KeyError:
            known = ", ".join(self.connectors) or "none"
            raise ConfigError(f"no connector named {name!r} (installed: {known})") from None

    def campaign(self, name: str) -> CampaignJob:
        """A campaign job by name, or a ConfigError listing the ones there are."""
        try:
            return self.campaigns[name]
        except KeyError:
            known = ", ".join(self.campaigns) or "none"
            raise ConfigError(f"no campaign job named {name!r} (installed: {known})") from None

    def http_session(self, **options: object) -> requests.Session:
        """A new HTTP session with vwfund's timeouts and retries (see vwfund.http.make_session)."""
        return make_session(**options)  # type: ignore[arg-type]

    def close(self) -> None:
        """Release the store's connections."""
        if "store" in self.__dict__:
            self.store.dispose()
