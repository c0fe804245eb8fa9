"""Donate links: a Stripe Payment Link per campaign (and team, walker), carrying attribution metadata.

The metadata goes on the link (its Checkout Sessions), on the PaymentIntent (so the charge's
attribution is read in the same list call, see objects.CHARGE_EXPAND) and on subscriptions. Every write
has an Idempotency-Key derived from what is asked, so running the command twice makes one link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from vwfund.connectors.stripe.api import StripeApi
from vwfund.errors import InputError
from vwfund.money import Money


@dataclass(frozen=True)
class DonateLink:
    """A donate link made in Stripe."""

    campaign: str
    team: str
    walker: str
    url: str
    external_id: str
    amount: Money | None


def link_metadata(campaign: str, team: str = "", walker: str = "") -> dict[str, str]:
    """The attribution metadata of a link (empty parts left out)."""
    if not campaign.strip():
        raise InputError("--campaign must not be empty")
    meta = {"campaign": campaign.strip(), "team": team.strip(), "walker": walker.strip()}
    for key, value in meta.items():
        if len(value) > 500:
            raise InputError(f"--{key} is longer than the 500 characters Stripe keeps")
    return {k: v for k, v in meta.items() if v}


def _key(*parts: object) -> str:
    return "vwfund-link-" + hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()[:32]


def create_donate_link(api: StripeApi, campaign: str, currency: str, team: str = "", walker: str = "",
                       amount: Money | None = None, product_name: str | None = None) -> DonateLink:
    """Create a Price (fixed ``amount``, or donor-chosen) and a Payment Link with the attribution metadata."""
    meta = link_metadata(campaign, team, walker)
    name = product_name or f"Gift to {meta['campaign']}" + (f" ({meta['team']})" if "team" in meta else "")
    price_data: dict[str, object] = {"currency": (amount.currency if amount else currency).lower(),
                                     "product_data": {"name": name[:250], "metadata": meta}, "metadata": meta}
    if amount is not None:
        if amount.minor <= 0:
            raise InputError("--amount must be more than zero")
        price_data["unit_amount"] = amount.minor
    else:
        price_data["custom_unit_amount"] = {"enabled": True}
    ident = (meta, price_data["currency"], amount.minor if amount else None)
    price = api.post("/v1/prices", price_data, idempotency_key=_key("price", ident))
    link = api.post("/v1/payment_links", {
        "line_items": [{"price": price["id"], "quantity": 1}],
        "metadata": meta,
        "payment_intent_data": {"metadata": meta},
        "submit_type": "donate",
    }, idempotency_key=_key("link", ident, price["id"]))
    return DonateLink(meta["campaign"], meta.get("team", ""), meta.get("walker", ""), link["url"], link["id"], amount)
