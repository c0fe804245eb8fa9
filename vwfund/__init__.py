"""vwfund: fundraising data for a refugee council.

Connectors bring supporter data in from Stripe, Mailchimp, CiviCRM and CSV files; campaign jobs
(segments, the sponsored walk, crowdfunding, GDPR clean-up) work on the store.
"""

__version__ = "0.1.0"
