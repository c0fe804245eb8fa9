"""The ``[civicrm]`` settings and the client built from them."""

from __future__ import annotations

from dataclasses import dataclass

from vwfund.config import Config
from vwfund.connectors.civicrm.client import CiviClient

SECTION = "civicrm"


@dataclass(frozen=True)
class CiviSettings:
    """What the connector is told: where CiviCRM is, how to sign in, and how gifts are recorded."""

    url: str
    api_key: str
    site_key: str | None
    timezone: str
    batch_size: int = 200
    page_size: int = 500
    financial_type: str = "Donation"
    instrument_stripe: str = "Credit Card"
    instrument_offline: str = "Cash"
    anonymous_contact_id: int | None = None
    group_prefix: str = "vwfund_"

    @classmethod
    def from_config(cls, config: Config) -> CiviSettings:
        """Read ``[civicrm]`` (or VWFUND_CIVICRM_*); url and api_key are required."""
        anonymous = config.get(SECTION, "anonymous_contact_id")
        return cls(
            url=config.require(SECTION, "url", "the CiviCRM site's base URL"),
            api_key=config.require(SECTION, "api_key", "the CiviCRM API key"),
            site_key=config.get(SECTION, "site_key") or None,
            timezone=str(config.get(SECTION, "timezone") or config.timezone),
            batch_size=max(1, config.get_int(SECTION, "batch_size", 200)),
            page_size=max(1, config.get_int(SECTION, "page_size", 500)),
            financial_type=str(config.get(SECTION, "financial_type", "Donation")),
            instrument_stripe=str(config.get(SECTION, "instrument_stripe", "Credit Card")),
            instrument_offline=str(config.get(SECTION, "instrument_offline", "Cash")),
            anonymous_contact_id=config.get_int(SECTION, "anonymous_contact_id", 0) or None if anonymous else None,
            group_prefix=str(config.get(SECTION, "group_prefix", "vwfund_")),
        )

    def client(self) -> CiviClient:
        """A client for these settings."""
        return CiviClient(self.url, self.api_key, self.site_key, timezone=self.timezone)


def is_configured(config: Config) -> bool:
    """Whether url and api_key are set."""
    return bool(config.get(SECTION, "url")) and bool(config.get(SECTION, "api_key"))
