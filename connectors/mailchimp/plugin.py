"""The Mailchimp plugin: registers the connector (pull, push, doctor check, segment and privacy targets).

``vwfund sync mailchimp`` pulls members (with consent and engagement figures) and campaign activity;
``vwfund push mailchimp`` pushes consenting contacts as members and the latest segments as tags.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from vwfund.app import App
from vwfund.config import Config
from vwfund.connector import Connector
from vwfund.connectors.mailchimp.client import MailchimpClient
from vwfund.connectors.mailchimp.commands import mailchimp_group
from vwfund.connectors.mailchimp.privacy import MailchimpPrivacyTarget
from vwfund.connectors.mailchimp.pull import pull_streams
from vwfund.connectors.mailchimp.push import member_push
from vwfund.connectors.mailchimp.settings import SECTION, MailchimpSettings
from vwfund.connectors.mailchimp.tags import MailchimpSegmentTarget, Tagger, segment_push
from vwfund.plugins import hookimpl
from vwfund.sync import Push, Stream


class MailchimpConnector(Connector):
    """One Mailchimp audience (``[mailchimp] list_id``), both ways."""

    name = "mailchimp"
    title = "Mailchimp audience: members, consent, tags and engagement"
    order = 30

    def is_configured(self, config: Config) -> bool:
        """Configured when an API key and an audience id are given."""
        return bool(config.get(SECTION, "api_key")) and bool(config.get(SECTION, "list_id"))

    def client(self, app: App) -> MailchimpClient:
        """A client for the configured account (raises ConfigError naming a missing setting)."""
        return MailchimpClient(MailchimpSettings.from_config(app.config))

    def pull_streams(self, app: App) -> list[Stream]:
        """Members, then campaign engagement."""
        client = self.client(app)
        return pull_streams(client, client.settings)

    def pushes(self, app: App) -> list[Push]:
        """Members first (so new members can be tagged), then segment tags."""
        client = self.client(app)
        return [member_push(client, client.settings.list_id),
                segment_push(Tagger(client, client.settings.list_id))]

    def check(self, app: App) -> str:
        """Read the audience: proves the key, the data centre and the list id in one call."""
        client = self.client(app)
        try:
            audience = client.get(f"lists/{client.settings.list_id}")
        finally:
            client.close()
        count = (audience.get("stats") or {}).get("member_count")
        return f"audience {audience.get('id')} ({audience.get('name')}): {count} subscribed members"

    def segment_target(self, app: App) -> MailchimpSegmentTarget:
        """Segments become tags in the audience."""
        client = self.client(app)
        return MailchimpSegmentTarget(app.store, Tagger(client, client.settings.list_id))

    def privacy_target(self, app: App) -> MailchimpPrivacyTarget:
        """Archive, permanent delete and consent removal of members."""
        client = self.client(app)
        list_id = client.settings.list_id
        return MailchimpPrivacyTarget(client, list_id, Tagger(client, list_id))


@hookimpl
def register_connectors(register: Callable[[Connector], None]) -> None:
    """Register the Mailchimp connector."""
    register(MailchimpConnector())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``vwfund mailchimp``."""
    cli.add_command(mailchimp_group)
