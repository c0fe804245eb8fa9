"""Local fakes of the outside systems (Stripe, Mailchimp, CiviCRM) for tests, benchmarks and trials.

Each fake is a small HTTP server on 127.0.0.1 that keeps state and enforces the real protocol.
"""
