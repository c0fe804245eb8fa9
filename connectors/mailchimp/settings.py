"""The ``[mailchimp]`` settings: API key, audience (list) id, API base, and limits."""

from __future__ import annotations

from dataclasses import dataclass

from vwfund.config import Config
from vwfund.errors import ConfigError

SECTION = "mailchimp"
#: Mailchimp refuses more simultaneous connections than this per API key.
MAX_CONNECTIONS = 10


def data_centre(api_key: str) -> str | None:
    """The data centre an API key belongs to: the part after its last ``-`` (``...-us21`` -> ``us21``)."""
    _, sep, dc = api_key.strip().rpartition("-")
    return dc if sep and dc.isalnum() else None


@dataclass(frozen=True)
class MailchimpSettings:
    """What the connector needs to talk to one audience."""

    api_key: str
    list_id: str
    api_base: str
    connections: int = MAX_CONNECTIONS
    batch_threshold: int = 5000
    engagement_days: int = 30
    timeout: float = 120.0
    retries: int = 5
    backoff: float = 0.5
    poll_interval: float = 5.0
    page_size: int = 1000

    @classmethod
    def from_config(cls, config: Config) -> MailchimpSettings:
        """Read and check the settings; a missing or bad one raises a ConfigError naming it."""
        api_key = config.require(SECTION, "api_key", "the Mailchimp connector")
        list_id = config.require(SECTION, "list_id", "the Mailchimp audience to sync")
        api_base = config.get(SECTION, "api_base")
        if not api_base:
            dc = data_centre(api_key)
            if dc is None:
                raise ConfigError("[mailchimp] api_key does not end in a data centre (like -us21): check the key, "
                                  "or set VWFUND_MAILCHIMP_API_BASE / [mailchimp] api_base")
            api_base = f"https://{dc}.api.mailchimp.com/3.0"
        page_size = config.get_int(SECTION, "page_size", 1000)
        if not 1 <= page_size <= 1000:
            raise ConfigError(f"[mailchimp] page_size must be between 1 and 1000 (Mailchimp's most), not {page_size}")
        connections = config.get_int(SECTION, "connections", MAX_CONNECTIONS)
        if not 1 <= connections <= MAX_CONNECTIONS:
            raise ConfigError(f"[mailchimp] connections must be between 1 and {MAX_CONNECTIONS}, not {connections}")
        return cls(
            api_key=api_key, list_id=list_id, api_base=str(api_base).rstrip("/"), connections=connections,
            batch_threshold=config.get_int(SECTION, "batch_threshold", 5000),
            engagement_days=config.get_int(SECTION, "engagement_days", 30),
            timeout=_seconds(config, "timeout", 120.0), retries=config.get_int(SECTION, "retries", 5),
            backoff=_seconds(config, "backoff", 0.5), poll_interval=_seconds(config, "poll_interval", 5.0),
            page_size=page_size,
        )


def _seconds(config: Config, key: str, default: float) -> float:
    value = config.get(SECTION, key, default)
    try:
        seconds = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[mailchimp] {key} must be a number of seconds, not {value!r}") from exc
    if seconds < 0:
        raise ConfigError(f"[mailchimp] {key} must not be negative, not {value!r}")
    return seconds
