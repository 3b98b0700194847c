"""smtql.language.dates: written dates as UTC periods, relative dates, durations (LANGUAGE.md §2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from smtql.language import dates
from smtql.language.dates import DateError, Period

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("text,start,end", [
    ("2020", utc(2020, 1, 1), utc(2021, 1, 1)),
    ("2020-09", utc(2020, 9, 1), utc(2020, 10, 1)),
    ("2020-12", utc(2020, 12, 1), utc(2021, 1, 1)),
    ("2020-02", utc(2020, 2, 1), utc(2020, 3, 1)),
    ("2020-09-12", utc(2020, 9, 12), utc(2020, 9, 13)),
    ("20200912", utc(2020, 9, 12), utc(2020, 9, 13)),
    ("2020-12-31", utc(2020, 12, 31), utc(2021, 1, 1)),
    ("2020-02-29", utc(2020, 2, 29), utc(2020, 3, 1)),
    ("2020-09-12T10:30", utc(2020, 9, 12, 10, 30), utc(2020, 9, 12, 10, 31)),
    ("2020-09-12T23:59", utc(2020, 9, 12, 23, 59), utc(2020, 9, 13, 0, 0)),
    ("2020-09-12T10:30:15", utc(2020, 9, 12, 10, 30, 15), utc(2020, 9, 12, 10, 30, 16)),
])
def test_parse_date_is_a_utc_period_of_the_granularity_written(text, start, end):
    period = dates.parse_date(text)
    assert (period.start, period.end) == (start, end)
    assert period.start.tzinfo is not None and period.start.utcoffset() == timedelta(0)
    assert str(period) == text
    assert not period.is_instant


@pytest.mark.parametrize("text", [
    "2020-13", "2020-00", "2020-02-30", "2021-02-29", "2020-09-12T24:00", "2020-09-12T10:60",
    "202009", "20", "2020-9", "2020-09-1", "12-09-2020", "2020/09/12", "", "today", "2020-09-12 10:30",
])
def test_parse_date_refuses(text):
    with pytest.raises(DateError):
        dates.parse_date(text)


def test_period_membership_is_half_open():
    p = dates.parse_date("2020-11")
    assert utc(2020, 11, 1) in p
    assert utc(2020, 11, 30, 23, 59, 59, 999999) in p
    assert utc(2020, 12, 1) not in p
    assert utc(2020, 10, 31, 23, 59, 59, 999999) not in p


NOW = utc(2021, 3, 15, 12, 0)


def test_today_and_yesterday_are_utc_days():
    assert (dates.today(NOW).start, dates.today(NOW).end) == (utc(2021, 3, 15), utc(2021, 3, 16))
    assert (dates.yesterday(NOW).start, dates.yesterday(NOW).end) == (utc(2021, 3, 14), utc(2021, 3, 15))
    # a "now" given in another time zone: still the UTC day
    late = datetime(2021, 3, 16, 1, 0, tzinfo=timezone(timedelta(hours=3)))  # 22:00 UTC on the 15th
    assert dates.today(late).start == utc(2021, 3, 15)
    assert dates.yesterday(utc(2021, 3, 1, 0, 0)).start == utc(2021, 2, 28)


@pytest.mark.parametrize("amount,unit,moment", [
    ("3", "days", utc(2021, 3, 12, 12)),
    ("1", "day", utc(2021, 3, 14, 12)),
    ("36", "hours", utc(2021, 3, 14, 0)),
    ("2", "weeks", utc(2021, 3, 1, 12)),
    ("1.5", "hours", utc(2021, 3, 15, 10, 30)),
    ("90", "minutes", utc(2021, 3, 15, 10, 30)),
    ("30", "seconds", utc(2021, 3, 15, 11, 59, 30)),
    ("0", "days", NOW),
    ("2", "DAYS", utc(2021, 3, 13, 12)),
])
def test_ago_is_an_instant(amount, unit, moment):
    period = dates.ago(amount, unit, NOW)
    assert period.is_instant
    assert period.start == period.end == moment


def test_ago_refuses_a_non_number():
    with pytest.raises(DateError):
        dates.ago("x", "days", NOW)


def test_the_day_of_an_instant():
    period = dates.ago("3", "days", NOW).day()
    assert (period.start, period.end) == (utc(2021, 3, 12), utc(2021, 3, 13))
    assert dates.ago("12", "hours", NOW).day().start == utc(2021, 3, 15)
    assert dates.ago("13", "hours", NOW).day().start == utc(2021, 3, 14)


@pytest.mark.parametrize("text,seconds", [
    ("90s", 90), ("5m", 300), ("10h", 36000), ("2d", 172800), ("1w", 604800),
    ("1h30m", 5400), ("1d2h3m4s", 93784), ("1.5h", 5400), ("0s", 0), ("0.5m", 30),
])
def test_parse_duration(text, seconds):
    assert dates.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5x", "h", "1h 30m", "1h30", "-5s", "1.h", "s5"])
def test_parse_duration_refuses(text):
    with pytest.raises(DateError):
        dates.parse_duration(text)


def test_as_utc():
    assert dates.as_utc(datetime(2020, 1, 1, 12)) == utc(2020, 1, 1, 12)
    assert dates.as_utc(datetime(2020, 1, 1, 12)).tzinfo is not None
    plus2 = datetime(2020, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    converted = dates.as_utc(plus2)
    assert converted == utc(2020, 1, 1, 10) and converted.utcoffset() == timedelta(0)
    assert converted.hour == 10
    assert dates.as_utc(date(2020, 1, 1)) == utc(2020, 1, 1)
    with pytest.raises(TypeError):
        dates.as_utc("2020-01-01")


def test_day_of_converts_to_utc_first():
    moment = datetime(2020, 1, 2, 1, 0, tzinfo=timezone(timedelta(hours=5)))  # 2020-01-01T20:00Z
    period = dates.day_of(moment, "x")
    assert (period.start, period.end) == (utc(2020, 1, 1), utc(2020, 1, 2))


def test_period_text():
    assert str(Period(utc(2020, 1, 1), utc(2020, 1, 2))) == \
        "[2020-01-01T00:00:00+00:00, 2020-01-02T00:00:00+00:00)"
    assert str(dates.ago("3", "days", NOW)) == "3 days ago"
