"""Live totals: concurrent, duplicate and reordered deliveries through the core save path give one exact
total on SQLite and PostgreSQL; a refund lowers it; the feed shows a gift as soon as it is saved."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from werkzeug.test import Client

from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign, save_campaign
from vwfund.campaigns.crowdfunding.feed import make_feed_app
from vwfund.campaigns.crowdfunding.matching import MatchRule
from vwfund.campaigns.crowdfunding.status import campaign_status
from vwfund.models import Donation
from vwfund.sync import apply_records

TZ = "Europe/Amsterdam"
CODE = "famreunion"
START = datetime(2025, 6, 1, tzinfo=UTC)
AS_OF = START + timedelta(days=5)
GIFTS = 40
THREADS = 8


def gift(i: int, **kw) -> Donation:
    """Gift i (1..40) of i x EUR 1.00, from donor i."""
    return Donation(source="stripe", external_id=f"ch_{i}", amount_minor=100 * i, currency="EUR",
                    status=kw.pop("status", "succeeded"), received_at=START + timedelta(hours=i), campaign=CODE,
                    contact_source="stripe", contact_external_id=f"cus_{i}", fee_minor=10, **kw)


def deliver_concurrently(store, deliveries: list[Donation]) -> None:
    """Each delivery is one apply_records call (as a webhook answer is), spread over THREADS threads."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(share: list[Donation]) -> None:
        try:
            barrier.wait()
            for record in share:
                apply_records(store, [record])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(deliveries[k::THREADS],)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def total_now(store) -> tuple[int, int, int]:
    with store.read() as conn:
        s = campaign_status(conn, CODE, TZ, AS_OF)
    return s.raised_minor, s.total_minor, s.gifts


def test_concurrent_duplicate_reordered_deliveries_give_one_exact_total(store):
    save_campaign(store, CrowdfundingCampaign(CODE, "Samen thuis", "EUR", 200_000, START, START + timedelta(days=30),
                                              MatchRule(cap_minor=50_000), ()))
    rng = random.Random(7)
    deliveries = [gift(i) for i in range(1, GIFTS + 1) for _ in range(3)]  # every state delivered three times
    rng.shuffle(deliveries)
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(total_now(store)[0])

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        deliver_concurrently(store, deliveries)
    finally:
        stop.set()
        watcher.join()
    donors_gave = 100 * GIFTS * (GIFTS + 1) // 2  # 1 + 2 + ... + 40 euros = EUR 820.00
    assert total_now(store) == (donors_gave, donors_gave + 50_000, GIFTS)
    assert seen == sorted(seen) and max(seen, default=0) <= donors_gave  # never counted twice, never went back

    refunds = [gift(1, status="refunded", refunded_minor=100), gift(40, status="partially_refunded",
                                                                    refunded_minor=1000)]
    unchanged = [gift(i) for i in range(2, GIFTS)]
    second = refunds * 4 + unchanged * 2
    rng.shuffle(second)
    deliver_concurrently(store, second)
    assert total_now(store) == (donors_gave - 100 - 1000, donors_gave - 1100 + 50_000, GIFTS - 1)


def test_the_feed_shows_a_gift_as_soon_as_it_is_saved(sqlite_app):
    save_campaign(sqlite_app.store, CrowdfundingCampaign(CODE, "Samen thuis", "EUR", 100_000, START,
                                                         datetime(2099, 1, 1, tzinfo=UTC), MatchRule(), ()))
    client = Client(make_feed_app(sqlite_app))
    expected = 0
    for i in range(1, 6):
        apply_records(sqlite_app.store, [gift(i)])
        expected += 100 * i
        assert client.get(f"/{CODE}.json").get_json()["raised"]["minor"] == expected
    apply_records(sqlite_app.store, [gift(5, status="refunded", refunded_minor=500)])
    assert client.get(f"/{CODE}.json").get_json()["raised"]["minor"] == expected - 500
