"""SqliteDialect.surely_readable_timestamp: the condition `count` pushes
into SQL must never call a timestamp readable that decode_ts refuses, and
must call readable what Django writes (or every count would decode)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from smtql.stores.django.compile import decode_ts
from smtql.stores.django.schema import SqliteDialect

DB = sqlite3.connect(":memory:")
CONDITION = SqliteDialect().surely_readable_timestamp("?1")


def surely_readable(value) -> bool:
    return bool(DB.execute(f"SELECT COALESCE({CONDITION}, 0)", (value,)).fetchone()[0])


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
values = shaped | st.text(max_size=30) | st.integers(-2**63, 2**63 - 1) | st.floats() | st.binary(max_size=8) | st.none()


@settings(max_examples=1500, deadline=None)
@given(values)
def test_surely_readable_only_when_decode_ts_reads_it(value):
    if surely_readable(value):
        assert decodes(value), value


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_what_django_writes_is_surely_readable(when):
    # Django's SQLite backend writes str(datetime): microseconds only when not 0
    assert surely_readable(str(when)), str(when)


def test_damage_is_not_surely_readable():
    for value in ["garbage", "", 12345, b"\x00\xff", "0000-01-01 00:00:00", "2020-02-30 00:00:00",
                  "2020-01-01 24:00:00", "2020-01-01T00:00:00", None]:
        assert not surely_readable(value), value
