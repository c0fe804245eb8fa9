"""The Stripe connector: gifts with fees, refunds and disputes, monthly donors, payouts; webhooks; donate links."""
