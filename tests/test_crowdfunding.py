"""Crowdfunding totals: what counts, matched funding, refunds after the end, channels, days, currencies."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from vwfund.campaigns.crowdfunding.definition import CrowdfundingCampaign, define_campaign, save_campaign
from vwfund.campaigns.crowdfunding.matching import MatchRule, Milestone, compute_match
from vwfund.campaigns.crowdfunding.status import campaign_status, median_minor
from vwfund.errors import InputError
from vwfund.models import Donation
from vwfund.sync import apply_records

TZ = "Europe/Amsterdam"
START = datetime(2025, 6, 1, 8, tzinfo=UTC)
END = datetime(2025, 6, 11, 8, tzinfo=UTC)  # ten days
IN_WINDOW = datetime(2025, 6, 3, 12, tzinfo=UTC)


def campaign(code: str = "famreunion", *, currency: str = "EUR", goal: int = 100_000, match: MatchRule | None = None,
             channels: tuple[str, ...] = ()) -> CrowdfundingCampaign:
    return CrowdfundingCampaign(code, "Samen thuis", currency, goal, START, END, match or MatchRule(), channels)


def gift(ext: str, amount: int, *, source: str = "stripe", status: str = "succeeded", at: datetime = IN_WINDOW,
         **kw) -> Donation:
    kw.setdefault("campaign", "famreunion")
    kw.setdefault("currency", "EUR")
    return Donation(source=source, external_id=ext, amount_minor=amount, status=status, received_at=at, **kw)


def status_of(store, records, cf: CrowdfundingCampaign | None = None, as_of: datetime = IN_WINDOW):
    save_campaign(store, cf or campaign(), replace=True)
    if records:
        apply_records(store, records)
    with store.read() as conn:
        return campaign_status(conn, (cf or campaign()).code, TZ, as_of)


def test_only_counted_gifts_of_the_campaign_add_up(store):
    s = status_of(store, [
        gift("ch_1", 5000, fee_minor=175, contact_source="stripe", contact_external_id="cus_1"),
        gift("cash_1", 2000, source="offline", channel="offline"),
        gift("ch_2", 3000, status="partially_refunded", refunded_minor=1000, fee_minor=100),
        gift("ch_3", 4000, status="refunded", refunded_minor=4000, fee_minor=130),
        gift("ch_4", 9900, status="failed"),
        gift("ch_5", 1500, status="pending"),
        gift("ch_6", 50000, is_test=True),
        gift("ch_7", 7000, campaign="other-appeal"),
        gift("ch_8", 2500, currency="USD"),
    ])
    assert s.gross_minor == 5000 + 2000 + 3000 + 4000
    assert s.refunds_minor == 1000 + 4000
    assert s.raised_minor == 9000
    assert s.fees_minor == 175 + 100 + 130
    assert s.net_minor == 9000 - 405
    assert s.total_minor == 9000 and s.matched_minor == 0
    assert s.gifts == 3  # the fully refunded gift is no gift any more
    assert s.donors == 3
    assert s.average_minor == 3000 and s.median_minor == 2000
    assert s.share_of_goal == pytest.approx(9) and str(s.share_of_goal) == "9.0"
    assert s.not_counted == {"failed": 1, "pending": 1, "test": 1}
    assert s.other_currencies == {"USD": 1}


def test_one_donor_giving_twice_is_one_donor(store):
    s = status_of(store, [
        gift("ch_1", 1000, contact_source="stripe", contact_external_id="cus_1"),
        gift("ch_2", 3000, contact_source="stripe", contact_external_id="cus_1"),
        gift("cash_1", 500, source="offline"),
    ])
    assert (s.gifts, s.donors) == (3, 2)


def test_match_doubles_gifts_up_to_its_cap_and_follows_refunds(store):
    cf = campaign(match=MatchRule(cap_minor=10_000))
    s = status_of(store, [gift("ch_1", 6000), gift("ch_2", 5000)], cf)
    assert (s.raised_minor, s.matched_minor, s.total_minor) == (11_000, 10_000, 21_000)
    s = status_of(store, [gift("ch_2", 5000, status="partially_refunded", refunded_minor=2000)], cf)
    assert (s.raised_minor, s.matched_minor, s.total_minor) == (9000, 9000, 18_000)


def test_match_applies_to_gifts_inside_the_window_only(store):
    cf = campaign(match=MatchRule(cap_minor=1_000_000))
    s = status_of(store, [
        gift("early", 1000, at=START - timedelta(hours=1)),
        gift("in", 2000),
        gift("late", 4000, at=END),
    ], cf, as_of=END + timedelta(days=2))
    assert s.raised_minor == 7000
    assert s.eligible_minor == 2000 and s.matched_minor == 2000
    assert s.late_gifts == 1


def test_match_ratio_rounds_down_to_the_minor_unit():
    rule = MatchRule(cap_minor=10_000, ratio=MatchRule.from_settings({"cap_minor": 1, "ratio": "0.5"}).ratio)
    assert compute_match(rule, 3333).doubled_minor == 1666
    assert compute_match(rule, 50_000).doubled_minor == 10_000


def test_milestones_add_fixed_sums_once_reached_and_not_after_a_refund(store):
    cf = campaign(match=MatchRule(milestones=(Milestone(50_000, 10_000), Milestone(100_000, 25_000))))
    s = status_of(store, [gift("ch_1", 60_000)], cf)
    assert s.matched_minor == 10_000
    s = status_of(store, [gift("ch_2", 40_000)], cf)
    assert s.matched_minor == 35_000 and s.total_minor == 135_000
    s = status_of(store, [gift("ch_2", 40_000, status="refunded", refunded_minor=40_000)], cf)
    assert s.matched_minor == 10_000 and s.total_minor == 70_000


def test_refund_after_the_campaign_ended_lowers_the_final_total(store):
    cf = campaign(match=MatchRule(cap_minor=3000))
    after = END + timedelta(days=30)
    s = status_of(store, [gift("ch_1", 2500), gift("ch_2", 1500, at=START + timedelta(days=1))], cf, as_of=after)
    assert s.state == "ended" and s.days_left == 0
    assert (s.total_minor, s.projection.total_minor) == (4000 + 3000, 7000)
    s = status_of(store, [gift("ch_1", 2500, status="refunded", refunded_minor=2500)], cf, as_of=after)
    assert (s.raised_minor, s.matched_minor, s.total_minor) == (1500, 1500, 3000)
    assert s.projection.total_minor == 3000 and "final" in s.projection.method
    gift_day = next(d for d in s.by_day if d.day == date(2025, 6, 3))
    assert (gift_day.gifts, gift_day.raised_minor) == (0, 0)  # the refund lowers the gift's own day
    assert s.by_day[-1].cumulative_minor == 1500


def test_channels_split_the_total_exactly(store):
    cf = campaign(channels=("stripe", "offline", "ideal"))
    s = status_of(store, [
        gift("ch_1", 2500, fee_minor=60),
        gift("ch_2", 1000, status="partially_refunded", refunded_minor=250, fee_minor=40),
        gift("cash_1", 5000, source="offline", channel="offline"),
        gift("bt_1", 1234, source="offline", channel="bank_transfer"),
    ], cf)
    by = {ch.channel: ch for ch in s.by_channel}
    assert set(by) == {"stripe", "offline", "ideal", "bank_transfer"}
    assert (by["stripe"].gifts, by["stripe"].raised_minor, by["stripe"].fees_minor) == (2, 3250, 100)
    assert (by["offline"].raised_minor, by["bank_transfer"].raised_minor) == (5000, 1234)
    assert (by["ideal"].gifts, by["ideal"].raised_minor) == (0, 0)
    assert sum(ch.raised_minor for ch in s.by_channel) == s.raised_minor == 3250 + 5000 + 1234


def test_days_are_the_organisations_local_days(store):
    late_evening_utc = datetime(2025, 6, 1, 22, 30, tzinfo=UTC)  # 00:30 on 2 June in Amsterdam (CEST)
    s = status_of(store, [gift("ch_1", 1000, at=late_evening_utc), gift("ch_2", 700, at=START)],
                  as_of=datetime(2025, 6, 3, 9, tzinfo=UTC))
    assert [(d.day, d.gifts, d.raised_minor, d.cumulative_minor) for d in s.by_day] == [
        (date(2025, 6, 1), 1, 700, 700),
        (date(2025, 6, 2), 1, 1000, 1700),
        (date(2025, 6, 3), 0, 0, 1700),
    ]


def test_many_gifts_in_one_quarter_hour_all_count_on_their_day(store):
    noon = datetime(2025, 6, 4, 10, 0, tzinfo=UTC)
    s = status_of(store, [gift(f"ch_{i}", 100 + i, at=noon + timedelta(seconds=7 * i)) for i in range(100)],
                  as_of=datetime(2025, 6, 5, 9, tzinfo=UTC))
    day = next(d for d in s.by_day if d.day == date(2025, 6, 4))
    assert (day.gifts, day.raised_minor) == (100, 100 * 100 + 99 * 100 // 2)
    assert s.by_day[-1].cumulative_minor == s.raised_minor == day.raised_minor


def test_projection_carries_the_run_rate_to_the_end_and_applies_the_match(store):
    cf = campaign(match=MatchRule(cap_minor=50_000))
    four_days_in = START + timedelta(days=4)
    s = status_of(store, [gift("ch_1", 30_000, at=START + timedelta(days=1)),
                          gift("ch_2", 10_000, at=START + timedelta(days=3))], cf, as_of=four_days_in)
    assert s.state == "running" and s.days_left == 6
    # 40,000 in 4 days; 6 days left: 60,000 more; donors 100,000 + match capped at 50,000.
    assert s.projection.total_minor == 100_000 + 50_000
    assert "linear" in s.projection.method and "4.0 days elapsed" in s.projection.method


def test_no_projection_before_the_start_or_on_the_first_day(store):
    assert status_of(store, [], as_of=START - timedelta(days=2)).projection.total_minor is None
    s = status_of(store, [gift("ch_1", 1000, at=START)], as_of=START + timedelta(hours=5))
    assert s.projection.total_minor is None and "too early" in s.projection.method
    assert s.days_left == 10


def test_zero_decimal_currency_is_counted_in_whole_yen(store):
    cf = define_campaign("yen-drive", name="Yen drive", goal="1000000", currency="jpy", start="2025-06-01",
                         end="2025-06-10", tz=TZ, match_cap="5000")
    assert cf.goal_minor == 1_000_000 and cf.match.cap_minor == 5000
    s = status_of(store, [gift("j1", 1000, currency="JPY", campaign="yen-drive"),
                          gift("j2", 1001, currency="JPY", campaign="yen-drive"),
                          gift("e1", 1000, campaign="yen-drive")], cf, as_of=datetime(2025, 6, 5, tzinfo=UTC))
    assert (s.raised_minor, s.matched_minor, s.total_minor) == (2001, 2001, 4002)
    assert s.median_minor == 1000  # 1000.5 yen, half to even
    assert s.other_currencies == {"EUR": 1}
    data = s.to_json()
    assert data["total"] == {"amount": "4002", "minor": 4002, "currency": "JPY"}
    with pytest.raises(InputError, match="--goal"):
        define_campaign("yen-drive", name="x", goal="1000.50", currency="JPY", start="2025-06-01",
                        end="2025-06-10", tz=TZ)


def test_median_of_whole_minor_units():
    assert median_minor(Counter()) == 0
    assert median_minor(Counter([5, 1, 3])) == 3
    assert median_minor(Counter([1, 2])) == 2  # 1.5 -> 2 (half to even)
    assert median_minor(Counter([2, 3])) == 2  # 2.5 -> 2 (half to even)
    assert median_minor(Counter({100: 3, 500: 1})) == 100  # 100, 100, 100, 500
    assert median_minor(Counter({100: 2, 500: 2})) == 300  # 100, 100, 500, 500
    assert median_minor(Counter({100: 1, 200: 1, 900: 5})) == 900


def test_end_date_includes_that_whole_local_day():
    cf = define_campaign("c1", name="C", goal="100", currency="EUR", start="2025-06-01", end="2025-06-30", tz=TZ)
    assert cf.starts_at == datetime(2025, 5, 31, 22, tzinfo=UTC)
    assert cf.ends_at == datetime(2025, 6, 30, 22, tzinfo=UTC)


@pytest.mark.parametrize(("options", "message"), [
    ({"code": "bad code!"}, "CODE"),
    ({"name": "  "}, "--name"),
    ({"goal": "1.234"}, "--goal: ambiguous"),
    ({"goal": "0"}, "--goal: must be more than zero"),
    ({"currency": "EURO"}, "--currency"),
    ({"start": "1 June"}, "--start"),
    ({"end": "2025-05-01"}, "--end .* must come after --start"),
    ({"match_cap": "-5"}, "--match-cap"),
    ({"match_ratio": "2"}, "--match-ratio: give --match-cap too"),
    ({"milestones": ["50000"]}, "AMOUNT:SUM"),
    ({"milestones": ["500:100", "500,00:50"]}, "same amount"),
    ({"channels": ["Stripe Cards"]}, "--channel"),
])
def test_bad_campaign_input_names_the_option(options, message):
    given = {"code": "c1", "name": "C", "goal": "1000", "currency": "EUR", "start": "2025-06-01",
             "end": "2025-06-30", "tz": TZ, **options}
    code = given.pop("code")
    with pytest.raises(InputError, match=message):
        define_campaign(code, **given)


def test_an_existing_campaign_changes_only_with_replace(store):
    save_campaign(store, campaign())
    with pytest.raises(InputError, match="--replace"):
        save_campaign(store, campaign(goal=5))
    with store.read() as conn:
        assert campaign_status(conn, "famreunion", TZ, IN_WINDOW).campaign.goal_minor == 100_000
    save_campaign(store, campaign(goal=5), replace=True)
    with store.read() as conn:
        assert campaign_status(conn, "famreunion", TZ, IN_WINDOW).campaign.goal_minor == 5


def test_unknown_campaign_is_a_clear_error(store):
    with store.read() as conn, pytest.raises(InputError, match=r"no campaign 'nope'.*crowdfunding create"):
        campaign_status(conn, "nope", TZ)
