"""Results are values a notebook user can compute with (issue 12, items 20
and 21): a count is a number, a table indexes and iterates as rows, and its
DataFrame knows missing values as missing."""

from __future__ import annotations

import pytest

from smtql.result import CountResult, RecordView


def test_a_count_is_a_number(demo_connection):
    res = demo_connection.query("count tag finished")
    n = int(res)
    assert n > 0
    assert res + 1 == n + 1 and 1 + res == n + 1
    assert res - 1 == n - 1 and n - res == 0
    assert res * 2 == 2 * n and res / 2 == n / 2
    assert res > n - 1 and res >= n and res < n + 1 and res <= n and res == n
    assert float(res) == float(n)
    assert [0, 1, 2][res > 0] == 1  # usable where Python wants an index
    assert list(range(CountResult(3))) == [0, 1, 2]
    assert sorted([CountResult(3), 1, 2]) == [1, 2, 3]
    assert not CountResult(0) and CountResult(2)
    assert {CountResult(3): "x"}[3] == "x"
    assert (res == "n") is False


def test_a_count_prints_as_a_number_in_terminal_ipython(demo_connection):
    from IPython.lib.pretty import pretty
    res = demo_connection.query("count tag finished")
    assert pretty(res) == str(int(res))


def test_a_table_has_a_readable_text_repr(demo_connection):
    from IPython.lib.pretty import pretty
    res = demo_connection.query("tag finished show label, duration latest 3")
    text = pretty(res)
    assert all(label in text for label in res.labels)
    assert "<smtql" not in text and "Table(" not in text


def test_a_table_indexes_and_iterates_as_rows(demo_connection):
    res = demo_connection.query("tag finished show label, optimizer.lr latest 3")
    assert len(res) == 3
    first = res[0]
    assert isinstance(first, RecordView)
    assert first.label == first["label"] == res.labels[0]
    assert first["optimizer.lr"] == res.rows[0]["optimizer.lr"]
    assert first.record.label == res.labels[0]  # the Sumatra Record behind it
    assert [row.label for row in res] == res.labels
    assert res[-1].label == res.labels[-1]
    assert [r.label for r in res[1:]] == res.labels[1:]
    with pytest.raises(IndexError):
        res[3]
    with pytest.raises(AttributeError):
        first.no_such_column


def test_dataframe_missing_values_are_pandas_missing_values(demo_connection):
    pd = pytest.importorskip("pandas")
    # runs lacking a key, and runs with no recorded duration
    res = demo_connection.query("all show label, duration, outputs, data.snapshot")
    df = res.dataframe()
    lacking = [r["data.snapshot"] for r in res.rows]
    from smtql.plan.values import MISSING
    assert any(v is MISSING for v in lacking), "the demo should have runs without data.snapshot"
    assert df["data.snapshot"].isna().sum() == sum(v is MISSING for v in lacking)
    assert df["duration"].isna().sum() == sum(r["duration"] is None for r in res.rows)
    assert pd.api.types.is_numeric_dtype(df["duration"])
    assert pd.api.types.is_numeric_dtype(df["outputs"])
    assert not any(v is MISSING for v in df["data.snapshot"])


def test_diff_dataframe_missing_values(demo_connection):
    res = demo_connection.query("diff where after 2021-06")
    df = res.dataframe()
    from smtql.plan.values import MISSING
    for name, cells in res.columns:
        assert df[name].isna().sum() >= sum(c is MISSING for c in cells)
