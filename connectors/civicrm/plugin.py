"""The CiviCRM plugin: registers the connector (pulls, pushes, doctor check, segment and privacy targets)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from vwfund.app import App
from vwfund.config import Config
from vwfund.connector import Connector
from vwfund.connectors.civicrm.client import CiviClient
from vwfund.connectors.civicrm.contributions import ContributionPusher, plan_gift_batches
from vwfund.connectors.civicrm.optouts import plan_optout_batches, send_optouts
from vwfund.connectors.civicrm.privacy import CiviPrivacyTarget
from vwfund.connectors.civicrm.pull import contact_stream, contribution_stream, group_stream, recurring_stream
from vwfund.connectors.civicrm.recurring import RecurringPusher, plan_recurring_batches
from vwfund.connectors.civicrm.refs import References
from vwfund.connectors.civicrm.segments import CiviSegmentTarget, SegmentBatch, plan_segment_batches
from vwfund.connectors.civicrm.settings import CiviSettings, is_configured
from vwfund.plugins import hookimpl
from vwfund.sync import Push, PushOutcome, Stream


class CiviConnector(Connector):
    """CiviCRM, the system of record: contacts, contributions, monthly donors, groups, privacy flags."""

    name = "civicrm"
    title = "CiviCRM (API v4 over REST)"
    order = 30

    def is_configured(self, config: Config) -> bool:
        """Configured when ``[civicrm] url`` and ``api_key`` are set."""
        return bool(is_configured(config))

    @staticmethod
    def settings(app: App) -> CiviSettings:
        """The ``[civicrm]`` settings (ConfigError naming what is missing)."""
        return CiviSettings.from_config(app.config)

    def client(self, app: App) -> CiviClient:
        """A client for the configured site."""
        return self.settings(app).client()

    def pull_streams(self, app: App) -> list[Stream]:
        """Contacts first (so gifts find them), then contributions and recurring contributions."""
        settings = self.settings(app)
        client = settings.client()
        return [contact_stream(client, settings.page_size), recurring_stream(client, settings.page_size),
                contribution_stream(client, settings.page_size), group_stream(client, settings.page_size)]

    def pushes(self, app: App) -> list[Push]:
        """Monthly donors (first, so gifts can point at them), gifts, opt-outs as privacy flags, segments as groups."""
        settings = self.settings(app)
        client = settings.client()
        refs = References(client, settings)
        gifts = ContributionPusher(client, settings, refs)
        plans = RecurringPusher(client, refs)
        groups = CiviSegmentTarget(client, settings.group_prefix)

        def gift_batches(conn: Connection) -> Any:
            return plan_gift_batches(conn, settings.batch_size)

        def plan_batches(conn: Connection) -> Any:
            return plan_recurring_batches(conn, settings.batch_size)

        def optout_batches(conn: Connection) -> Any:
            return plan_optout_batches(conn, settings.batch_size)

        def segment_batches(conn: Connection) -> Any:
            return plan_segment_batches(conn, settings.batch_size)

        def send_segment(batch: SegmentBatch) -> PushOutcome:
            outcome: PushOutcome = groups.apply_segment(batch.segment, batch.add, batch.remove)
            return outcome

        return [
            Push("civicrm.recurring", "civicrm", plan_batches, plans.send),
            Push("civicrm.contributions", "civicrm", gift_batches, gifts.send),
            Push("civicrm.optouts", "civicrm", optout_batches, lambda b: send_optouts(client, b)),
            Push("civicrm.segments", "civicrm", segment_batches, send_segment),
        ]

    def check(self, app: App) -> str:
        """A cheap ``Contact.get`` with limit 1."""
        settings = self.settings(app)
        settings.client().call("Contact", "get", {"select": ["id"], "limit": 1})
        return f"CiviCRM answers at {settings.url} (API v4)"

    def segment_target(self, app: App) -> CiviSegmentTarget:
        """Segments as CiviCRM groups."""
        settings = self.settings(app)
        return CiviSegmentTarget(settings.client(), settings.group_prefix)

    def privacy_target(self, app: App) -> CiviPrivacyTarget:
        """Anonymise and remove consent in CiviCRM; export what it holds."""
        return CiviPrivacyTarget(self.client(app))


@hookimpl
def register_connectors(register: Callable[[Connector], None]) -> None:
    """Register the CiviCRM connector."""
    register(CiviConnector())
