"""The Stripe connector: settings, the API client, the pull streams and the doctor's check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vwfund.config import Config
from vwfund.connector import Connector
from vwfund.connectors.stripe.api import DEFAULT_API_BASE, StripeApi
from vwfund.connectors.stripe.mode import mode_name
from vwfund.connectors.stripe.streams import StripeStreams
from vwfund.http import IDEMPOTENT
from vwfund.sync import Stream

if TYPE_CHECKING:
    from vwfund.app import App

SECTION = "stripe"


def make_api(app: App) -> StripeApi:
    """The API client from ``[stripe] api_key`` and ``api_base`` (VWFUND_STRIPE_*), over our retrying session."""
    key = app.config.require(SECTION, "api_key", "the Stripe connector")
    base = app.config.get(SECTION, "api_base") or DEFAULT_API_BASE
    return StripeApi(key, str(base), session=app.http_session(retry_methods=IDEMPOTENT | {"POST"}))


def key_mode(api: StripeApi) -> bool:
    """Whether the key is live-mode: from its shape, or else from one call (``/v1/balance``)."""
    known = api.key_livemode
    if known is not None:
        return known
    return bool(api.get("/v1/balance").get("livemode"))


class StripeConnector(Connector):
    """Gifts (charges with fees, refunds, disputes), customers, monthly donors and payouts from Stripe."""

    name = "stripe"
    title = "Stripe: online gifts, fees, refunds, disputes, monthly donors, payouts"
    order = 10

    def is_configured(self, config: Config) -> bool:
        """Configured when an API key is given."""
        return bool(config.get(SECTION, "api_key"))

    def pull_streams(self, app: App) -> list[Stream]:
        """Customers, charges, disputes, subscriptions, payouts, then events (see streams.py)."""
        api = make_api(app)
        per_commit = max(1, app.config.get_int(SECTION, "pages_per_commit", 5))
        return StripeStreams(api, app.store, key_mode(api), pages_per_commit=per_commit).streams()

    def check(self, app: App) -> str:
        """One call (``GET /v1/balance``): the key works, and in which mode."""
        api = make_api(app)
        body = api.get("/v1/balance")
        return f"Stripe answers ({mode_name(bool(body.get('livemode')))} mode, {api.api_base})"
