"""The statements of issue 14 beyond the group table: `tags`, a grouped
result as a DataFrame, and SELECTIONs with `order by … per … limit` in
`tag`, `export` and `diff` on a real SQLite store (Sumatra 0.8.1's schema)
holding the records of tests/data/semantics/groups.yaml."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from plan.test_groups import NAMES, ROWS, TABLE
from stores.test_generation_semantics import as_record
from support.generations import build_store
from support.store_support import ListStore

from smtql.errors import SmtqlError
from smtql.executor import Executor
from smtql.language import fields
from smtql.language.parser import parse


def run(store, query, **kw):
    return list(Executor(store, **kw).run(parse(query)))[-1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from smtql.stores.registry import open_store
    records = [as_record(n, s) for n, s in TABLE["records"].items()]
    built = build_store("0.8.1", "sqlite", records, target=tmp_path_factory.mktemp("groups-w"))
    opened = open_store(store=built.uri, index=False)
    yield opened
    opened.close()


def test_tags_counts_every_tag_of_the_matched_records():
    got = run(ListStore(ROWS.values()), "tags all")
    want = Counter(t for row in ROWS.values() for t in {fields.tag_word(x) for x in row.tags})
    assert {line["tag"]: line["records"] for line in got.rows} == dict(want)
    assert [line["records"] for line in got.rows] == sorted(want.values(), reverse=True)
    assert "finished" in want and "_finished_" not in {line["tag"] for line in got.rows}
    narrowed = run(ListStore(ROWS.values()), "tags tag figure1")
    assert {line["tag"]: line["records"] for line in narrowed.rows} == {
        "figure1": 2, "finished": 1, "failed": 1}


def test_a_grouped_result_is_a_dataframe_with_a_column_per_key_and_item():
    res = run(ListStore(ROWS.values()),
              "all group by user, month show count, mean(duration), labels")
    df = res.dataframe()
    assert list(df.columns) == ["user", "month", "count", "mean(duration)", "labels"]
    assert len(df) == len(res.rows) == 4
    assert df["count"].dtype.kind == "i" and df["mean(duration)"].dtype.kind == "f"
    first = df.iloc[0]
    assert (first["user"], first["month"], first["count"]) == ("ada", "2020-11", 2)
    missing = run(ListStore(ROWS.values()), "all group by seed").dataframe()
    assert missing["seed"].isna().tolist() == [False, False, False, True]


def test_tag_where_a_selection_tags_the_best_of_each_group(store):
    res = run(store, "tag best where tag finished order by duration per seed")
    assert "tagged 2 records" in res.text or res.data["changed"] == 2
    assert sorted(NAMES[label] for label in run(store, "tag best").labels) == ["d", "g"]
    undone = run(store, "undo")
    assert undone.data["changed"] == 2 and not run(store, "tag best").labels


def test_export_and_diff_take_a_selection(demo_connection, tmp_path):
    """On the demo project (records Sumatra itself saved, so it can export
    them): the selection's records, in its order, as a find chooses them."""
    selection = "tag finished order by duration desc per optimizer.model.kind"
    chosen = demo_connection.query(selection).labels
    assert 3 <= len(chosen) <= 4  # one per model kind (and one lacking it)
    path = tmp_path / "best.json"
    demo_connection.query(f'export {selection} to "{path}"')
    assert [r["label"] for r in json.loads(path.read_text())] == chosen
    two = demo_connection.query(f"{selection} limit 2").labels
    assert len(two) > len(chosen)  # `limit` with `per` counts in each group
    diff = demo_connection.query("diff where tag finished order by duration latest 2")
    assert diff.labels == demo_connection.query("tag finished order by duration latest 2").labels
    with pytest.raises(SmtqlError, match="at least two"):
        demo_connection.query("diff where all order by duration per user limit 0")
