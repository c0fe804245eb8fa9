"""The custom-segment filter language: parsing, precedence, and errors that point at the mistake."""

from __future__ import annotations

from collections import defaultdict

import pytest

from vwfund.campaigns.segments.filters import FilterError, parse_filter
from vwfund.campaigns.segments.selection import compile_filter
from vwfund.campaigns.segments.settings import load_settings
from vwfund.config import Config
from vwfund.errors import ConfigError

COLUMNS = {
    "gifts": [0, 1, 3, 5],
    "total_last_year": [0, 24999, 25000, 100000],  # minor units of EUR
    "opted_out": [False, False, True, False],
    "rfm.recency": [1, 4, 5, 2],
    "segment.lybunt": bytearray([1, 0, 1, 0]),
}


def rows(expression: str) -> list[int]:
    keep = compile_filter(parse_filter(expression, ["lybunt"]), COLUMNS, 2, expression)(4)
    return [i for i in range(4) if keep[i]]


def test_the_example_of_the_docs():
    assert rows("rfm.recency >= 4 and total_last_year >= 250 and not opted_out") == []
    assert rows("rfm.recency >= 4 and total_last_year >= 249.99 and not opted_out") == [1]


def test_precedence_not_binds_tightest_then_and_then_or():
    # not a or b and c  ==  (not a) or (b and c)
    assert rows("not opted_out or gifts >= 5 and segment.lybunt") == [0, 1, 3]
    assert rows("not (opted_out or gifts >= 5) and segment.lybunt") == [0]
    assert rows("(gifts = 3 or gifts == 5) and gifts != 5") == [2]
    assert rows("1 < gifts") == [2, 3]
    assert rows("true and not false") == [0, 1, 2, 3]
    assert rows("gifts > 0 AND gifts < 5") == [1, 2]


@pytest.mark.parametrize(("expression", "column", "reason"), [
    ("rfm.recency >= 4 and totl >= 5", 22, "unknown field 'totl'"),
    ("total_last_year >=", 19, "expected a field or a number, found the end of the expression"),
    ("(gifts > 1", 11, "expected ')' to close the '(' at column 1"),
    ("opted_out = 1", 11, "opted_out is yes/no"),
    ("gifts >= 2; drop table donations", 11, "unexpected character ';'"),
    ("gifts >= 1 or 1 = 1", 15, "a comparison needs a field on one side"),
    ("gifts 3", 7, "expected a comparison"),
    ("gifts > 1 gifts", 11, "expected 'and', 'or' or the end"),
    ("", 1, "empty expression"),
    ("segment.nope", 1, "unknown field 'segment.nope'"),
    ("gifts > 'x'", 9, "unexpected character"),
])
def test_mistakes_are_refused_with_their_column(expression, column, reason):
    with pytest.raises(FilterError) as info:
        compile_filter(parse_filter(expression, ["lybunt"]), defaultdict(list), 2, expression)
    assert info.value.column == column
    assert reason in info.value.reason
    # the message shows the expression and a caret under the mistake
    lines = str(info.value).splitlines()
    assert lines[1].strip() == expression.strip() and lines[2].index("^") - 4 == column - 1


def test_config_errors_name_the_segment_and_the_column():
    config = Config({"segments": {"custom": {"vip": "total >= 12.345"}}}, env={})
    with pytest.raises(ConfigError, match=r"\[segments.custom\] vip: column 10: amount 12.345 has more than 2"):
        load_settings(config)
    with pytest.raises(ConfigError, match="'lybunt' is a standard segment"):
        load_settings(Config({"segments": {"custom": {"lybunt": "gifts > 1"}}}, env={}))
    with pytest.raises(ConfigError, match="must be text"):
        load_settings(Config({"segments": {"custom": {"x": 5}}}, env={}))
    with pytest.raises(ConfigError, match="count"):
        load_settings(Config({"segments": {"custom": {"x": "total > gifts"}}}, env={}))
    with pytest.raises(ConfigError, match="major_minimum"):
        load_settings(Config({"segments": {"major_minimum": 1000.5}}, env={}))


def test_settings_read_from_config_and_environment():
    settings = load_settings(Config({"segments": {"window_days": 180, "major_minimum": "2500,50"}},
                                    env={"VWFUND_SEGMENTS_HISTORY_YEARS": "3"}))
    assert (settings.window_days, settings.history_years, settings.major_minimum) == (180, 3, {"EUR": 250050})


def test_the_command_line_shows_the_mistake_and_stores_nothing(sqlite_store, builtin_plugins):
    from conftest import Cli, make_app
    from sqlalchemy import func, select

    from vwfund.store.schema import segment_runs

    app = make_app(sqlite_store, builtin_plugins, {"segments": {"custom": {"vip": "gifts >= 3 andd total > 5"}}})
    result = Cli(app)("segments", "run", "--as-of", "2025-06-30", expect=None)
    assert result.exit_code != 0
    assert "[segments.custom] vip: column 12" in result.output and "^" in result.output
    with sqlite_store.read() as conn:
        assert conn.execute(select(func.count()).select_from(segment_runs)).scalar() == 0
    app.close()
