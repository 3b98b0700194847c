"""SqliteDialect.surely_readable_timestamp: the condition `count` and
group-bys push into SQL must never call a timestamp readable that decode_ts
refuses, and must call readable what Django writes (or every count would
decode, and every group-by stream in Python); its cheap first test alone
must tell what Django writes (or every record would pay for the second)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from smtql.stores.django.compile import decode_ts
from smtql.stores.django.schema import SqliteDialect

DB = sqlite3.connect(":memory:")
CONDITION = SqliteDialect().surely_readable_timestamp("?1")
AS_DJANGO_WRITES = SqliteDialect._as_django_writes("?1")
# Sumatra's column: its declared type gives it numeric affinity, which a
# comparison with a text constant could apply to the constant
DB.execute('CREATE TABLE record ("timestamp" datetime NULL)')
IN_COLUMN = SqliteDialect().surely_readable_timestamp('"timestamp"')


def surely_readable(value, condition=CONDITION) -> bool:
    return bool(DB.execute(f"SELECT CASE WHEN {condition} THEN 1 ELSE 0 END",
                           (value,)).fetchone()[0])


def surely_readable_in_column(value) -> bool:
    DB.execute("DELETE FROM record")
    DB.execute("INSERT INTO record VALUES (?)", (value,))
    return bool(DB.execute(f"SELECT CASE WHEN {IN_COLUMN} THEN 1 ELSE 0 END FROM record")
                .fetchone()[0])


def decodes(value) -> bool:
    try:
        decode_ts(value)
        return True
    except (ValueError, TypeError, OverflowError):
        return False


digits = st.text("0123456789", min_size=1, max_size=4)
shaped = st.builds(lambda y, mo, d, h, mi, s, frac, sep: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}",
                   digits, digits, digits, digits, digits, digits,
                   st.sampled_from(["", ".5", ".123456", ".1234567", "+00:00", "Z", " "]),
                   st.sampled_from([" ", "T", "  "]))
# the 7 characters after the seconds, where a fraction or a time zone goes
tails = st.builds(lambda head, tail: head + tail, st.sampled_from(
    ["2020-01-01 10:20:30", "2020-12-31 23:59:59", "0001-01-01 00:00:00"]),
    st.text(".0123456789:+-Zz T\tx", min_size=7, max_size=7))
values = shaped | tails | st.text(max_size=30) | st.integers(-2**63, 2**63 - 1) | st.floats() | st.binary(max_size=8) | st.none()


@settings(max_examples=1500, deadline=None)
@given(values)
def test_surely_readable_only_when_decode_ts_reads_it(value):
    if surely_readable(value):
        assert decodes(value), value
        assert surely_readable_in_column(value), value


@settings(max_examples=500, deadline=None)
@given(values)
def test_a_column_reads_as_a_value_does(value):
    assert surely_readable_in_column(value) == surely_readable(value), value


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_what_django_writes_is_surely_readable(when):
    # Django's SQLite backend writes str(datetime): microseconds only when not 0
    assert surely_readable(str(when)), str(when)
    # … and, but within half a millisecond of the next second (`+0 days`
    # rounds to milliseconds), by the cheap test alone
    if when.microsecond < 999_500:
        assert surely_readable(str(when), AS_DJANGO_WRITES), str(when)


def test_damage_is_not_surely_readable():
    for value in ["garbage", "", 12345, b"\x00\xff", "0000-01-01 00:00:00", "2020-02-30 00:00:00",
                  "2020-01-01 24:00:00", "2020-01-01T00:00:00", None, "2020-01-01 00:00:00.12345Z",
                  "2020-01-01 00:00:00 +00:00", "2019-02-29 10:00:00", "2020-01-01 00:00:00.1234 ",
                  "2020-01-01 00:00:60"]:
        assert not surely_readable(value), value
        assert not surely_readable_in_column(value), value
