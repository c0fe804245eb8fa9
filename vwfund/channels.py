"""The channel vocabulary: how a gift reached the organisation, or what a cost was spent on.

Every connector writes one of these names in ``donations.channel``, and every job (walk totals, crowdfunding,
ROI) reads them through this module, so a new payment connector's gifts count as online in every job without
touching the jobs. Imported files may use the aliases below (``card``, ``ideal``, ``contant``, ...); anything
else is refused by :func:`parse_channel` with the names it knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Channel(StrEnum):
    """One channel of the vocabulary (its value is what the store holds)."""

    ONLINE = "online"  # a payment through an online processor: card, iDEAL, Bancontact, wallet
    DIRECT_DEBIT = "direct_debit"  # a SEPA direct debit (a mandate), through a processor or the bank
    BANK_TRANSFER = "bank_transfer"  # a transfer into the organisation's account
    CASH = "cash"  # cash, a collection box, a bucket at an event
    CHEQUE = "cheque"
    MAILING = "mailing"  # an appeal by post or e-mail (mostly a cost channel)
    EVENT = "event"  # an event's own income or cost (a walk's registration desk, a gala)
    BEQUEST = "bequest"  # a legacy
    OTHER = "other"  # known, but none of the above


#: Channels paid through an online processor: the walk's "online" figure, the crowdfunding feed's online part.
ONLINE_CHANNELS: frozenset[Channel] = frozenset({Channel.ONLINE, Channel.DIRECT_DEBIT})

#: What importers and connectors may say for a channel, lower-cased, mapped to the vocabulary.
ALIASES: Mapping[str, Channel] = {
    **{c.value: c for c in Channel},
    "card": Channel.ONLINE, "credit_card": Channel.ONLINE, "debit_card": Channel.ONLINE, "ideal": Channel.ONLINE,
    "bancontact": Channel.ONLINE, "paypal": Channel.ONLINE, "stripe": Channel.ONLINE, "link": Channel.ONLINE,
    "apple_pay": Channel.ONLINE, "google_pay": Channel.ONLINE, "sofort": Channel.ONLINE, "eps": Channel.ONLINE,
    "sepa_debit": Channel.DIRECT_DEBIT, "sepa": Channel.DIRECT_DEBIT, "incasso": Channel.DIRECT_DEBIT,
    "domiciliering": Channel.DIRECT_DEBIT,
    "bank": Channel.BANK_TRANSFER, "transfer": Channel.BANK_TRANSFER, "eft": Channel.BANK_TRANSFER,
    "overschrijving": Channel.BANK_TRANSFER, "overboeking": Channel.BANK_TRANSFER, "virement": Channel.BANK_TRANSFER,
    "contant": Channel.CASH, "contanten": Channel.CASH, "cash_box": Channel.CASH, "espèces": Channel.CASH,
    "check": Channel.CHEQUE,
    "email": Channel.MAILING, "post": Channel.MAILING, "mail": Channel.MAILING, "direct_mail": Channel.MAILING,
    "newsletter": Channel.MAILING,
    "legacy": Channel.BEQUEST, "nalatenschap": Channel.BEQUEST, "legaat": Channel.BEQUEST,
}


class UnknownChannel(ValueError):
    """A channel name that is neither in the vocabulary nor an alias of one."""


def known_channels() -> list[str]:
    """The vocabulary's names, in their declared order (for help texts and error messages)."""
    return [c.value for c in Channel]


def parse_channel(text: str | None, *, default: Channel | None = None) -> Channel | None:
    """The channel ``text`` names (a vocabulary name or an alias, any case, spaces or dashes as underscores).

    Empty text gives ``default``. Unknown text raises :class:`UnknownChannel` naming the known channels.
    """
    if text is None or not text.strip():
        return default
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    found = ALIASES.get(key)
    if found is None:
        raise UnknownChannel(f"unknown channel {text!r}: use one of {', '.join(known_channels())}")
    return found


def is_online(channel: str | None) -> bool:
    """Whether a stored channel name is paid through an online processor."""
    return channel in ONLINE_CHANNELS
