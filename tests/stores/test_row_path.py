"""The SQL store's row path (issue 10): what it does faster must mean the same.

- A chunk's timestamps and durations are decoded column by column (C-level
  maps); whenever that path answers, it answers what decoding value by value
  answers, and anything it cannot take sends the chunk down the value-by-
  value path (hypothesis).
- `find … order by FIELD … limit N` is sorted and cut in the store: it keeps
  exactly the rows (and the count of rows left out) that the executor keeps
  when it sorts every answer itself, on SQLite (with durations no number
  reads as: text, 9e999, null), PostgreSQL and MariaDB.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

import smtql
from smtql.stores.django.compile import (decode_duration, decode_ts, decode_ts_column,
                                         durations_fine)
from support.store_support import build_demo

UTC = timezone.utc

# ------------------------------------------------------------------ column decoding

_naive = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
_zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
_aware = st.builds(lambda d, z: d.replace(tzinfo=z), _naive, _zones)
_stored_text = st.one_of(
    _naive.map(lambda d: d.isoformat(" ")),  # Django's text on SQLite
    _naive.map(lambda d: d.isoformat(" ", timespec="seconds")),
    _aware.map(lambda d: d.isoformat(" ")),
    _naive.map(lambda d: d.date().isoformat()),
    st.sampled_from(["", "garbage", "0000-01-01 00:00:00", "2020-09-01 11:30:04 ",
                     "2020-09-01 11:30:04Z", "2020-09-01T11"]),
)
_stored = st.one_of(_stored_text, _naive, _aware, st.integers(), st.none(), st.binary(max_size=3))


def _decoded_one_by_one(values):
    out = []
    for v in values:
        try:
            out.append(decode_ts(v))
        except (ValueError, TypeError, OverflowError):
            return None
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(_stored, max_size=6))
def test_a_chunk_of_timestamps_decodes_as_each_value_does(values):
    got = decode_ts_column(values)
    if got is not None:
        assert got == _decoded_one_by_one(values)
        assert all(g.tzinfo is UTC for g in got)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.lists(_naive.map(lambda d: d.isoformat(" ")), max_size=6),  # SQLite
                 st.lists(_naive, max_size=6), st.lists(_aware, max_size=6)))  # the servers
def test_a_chunk_as_the_stores_keep_them_takes_the_column_path(values):
    assert decode_ts_column(values) == [decode_ts(v) for v in values]


_durations = st.one_of(st.none(), st.integers(-2**62, 2**62), st.floats(allow_nan=True),
                       st.text(max_size=3), st.binary(max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(_durations, max_size=6))
def test_durations_pass_whole_only_when_each_would(values):
    def kept(v):
        try:
            return decode_duration(v) is v
        except (ValueError, TypeError):
            return False
    assert durations_fine(values) == all(kept(v) for v in values)


# ------------------------------------------------------------------ order by … limit in the store

ORDERS = ["duration", "duration desc", "reason, duration desc", "outcome desc, label",
          "label desc", "stdout, timestamp", "main_file desc, reason"]
FILTERS = ["all", "tag finished", 'reason contains "a"', "not tag figure1 and duration > 10s"]


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def ordered_store(request, tmp_path_factory):
    kind = request.param
    project = build_demo(kind, tmp_path_factory.mktemp(f"order-{kind}") / "p", records=60,
                         seed=5)
    if kind == "sqlite":  # durations no number reads as, and ties on text
        db = sqlite3.connect(project / ".smt" / "records")
        ids = [r[0] for r in db.execute("SELECT db_id FROM django_store_record ORDER BY db_id")]
        for db_id, value in zip(ids, ["'ten seconds'", "9e999", "X'01'", "NULL", "-9e999"]):
            db.execute(f"UPDATE django_store_record SET duration = {value} WHERE db_id = ?",
                       (db_id,))
        db.execute("UPDATE django_store_record SET reason = 'same' WHERE db_id % 3 = 0")
        db.commit()
        db.close()
    conn = smtql.connect(project)
    yield kind, conn
    conn.close()


@pytest.mark.parametrize("order", ORDERS)
def test_order_by_a_field_with_a_limit_keeps_what_the_executor_keeps(ordered_store, order):
    kind, conn = ordered_store
    for f in FILTERS:
        for n in (1, 7, 200):
            conn.store.statement_log = []
            pushed = conn.query(f"find {f} order by {order} limit {n}")
            log, conn.store.statement_log = conn.store.statement_log, None
            # `matches` is decided in Python: the same question, sorted by the executor
            by_python = conn.query(f'find {f} and label matches "." order by {order} limit {n}')
            assert pushed.labels == by_python.labels, (kind, f, order, n)
            assert pushed.hidden == by_python.hidden
            # (the count of what the limit leaves out reads, beside its COUNT,
            # the records whose timestamp is not surely readable: not a main statement)
            main = [t for t, _ in log if t.startswith("SELECT r.db_id") and "NOT COALESCE(" not in t]
            assert main and all("ORDER BY" in t and "LIMIT" in t for t in main), main
            if kind == "sqlite" and f == "all" and n == 200 and order.startswith("duration"):
                # the four unreadable durations and the nulls come last, either way
                durations = [r.duration for rows in pushed.source_rows for r in rows]
                first = durations.index(None)
                assert set(durations[first:]) == {None} and len(durations) - first >= 5
