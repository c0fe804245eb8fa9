"""The connector interface: one plugin per outside system.

A connector only talks to its system. It offers pull streams (pages of domain records), pushes (what to
send, read from the store, and how to send it), a cheap health check, and optionally a segment target and
a privacy target for the campaign jobs. It never writes the store itself: the sync engine does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vwfund.app import App
    from vwfund.config import Config
    from vwfund.sync import Push, Stream
    from vwfund.targets import PrivacyTarget, SegmentTarget


class Connector:
    """Base class with the defaults of a connector that does nothing; subclasses override."""

    name: str = ""
    title: str = ""
    #: Order in a full nightly run (lower first).
    order: int = 100

    def is_configured(self, config: Config) -> bool:
        """Whether enough settings are present to run (``vwfund sync`` skips unconfigured connectors)."""
        return False

    def pull_streams(self, app: App) -> list[Stream]:
        """The streams ``vwfund sync NAME`` pulls, in order."""
        return []

    def pushes(self, app: App) -> list[Push]:
        """The pushes ``vwfund push NAME`` runs, in order."""
        return []

    def check(self, app: App) -> str:
        """One cheap call to the system; returns a line for ``vwfund doctor`` or raises a VwfundError."""
        return "no check available"

    def segment_target(self, app: App) -> SegmentTarget | None:
        """Where segments go in this system (tags, groups), if anywhere."""
        return None

    def privacy_target(self, app: App) -> PrivacyTarget | None:
        """How GDPR actions are carried out in this system, if at all."""
        return None
