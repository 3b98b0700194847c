"""`describe REFS`: one ref, several refs, `where SELECTION`; every format
for several records; reading a chunk of records at a time. On the demo
project and on real stores of every kind, against Sumatra's own reading."""

from __future__ import annotations

import csv
import io
import json

import pytest

import smtql
from smtql.result import RecordResult, RecordsResult
from smtql.statements import describe
from support.store_support import KINDS, demo_store
from conftest import newest_first


def finished(r) -> bool:
    return "_finished_" in r["tags"]


# ------------------------------------------------------------------ what is selected

def test_where_with_selection_clauses_takes_the_newest(demo_connection, demo_reference):
    expected = [r["label"] for r in newest_first(filter(finished, demo_reference))[:2]]
    assert len(expected) == 2
    res = demo_connection.query("describe where tag finished latest 2")
    assert isinstance(res, RecordsResult)
    assert res.labels == expected
    by_label = {r["label"]: r for r in demo_reference}
    for record in res.described():
        ref = by_label[record.label]
        assert record.fields["label"] == ref["label"]
        assert record.fields["timestamp"] == ref["timestamp"]
        assert record.fields["duration"] == ref["duration"]
        assert set(record.fields["tags"]) == ref["tags"]


def test_refs_keep_the_order_written_and_a_record_named_twice_once(demo_connection,
                                                                   demo_reference):
    order = newest_first(demo_reference)
    newest, oldest = order[0]["label"], order[-1]["label"]
    res = demo_connection.query(f"describe latest, earliest, {newest}")
    assert isinstance(res, RecordsResult) and res.labels == [newest, oldest]
    res = demo_connection.query(f"describe {oldest}, {newest}")
    assert res.labels == [oldest, newest]
    assert [r.label for r in res.described()] == [oldest, newest]


def test_one_ref_is_one_record(demo_connection):
    res = demo_connection.query("describe latest")
    assert isinstance(res, RecordResult)
    assert isinstance(json.loads(res.render("json")), dict)


def test_where_selecting_one_or_none_is_still_a_list(demo_connection, demo_reference):
    label = newest_first(demo_reference)[5]["label"]
    res = demo_connection.query(f'describe where label = "{label}"')
    assert [r["label"] for r in json.loads(res.render("json"))] == [label]
    res = demo_connection.query('describe where label = "20000101-000000_nothing"')
    assert res.labels == [] and json.loads(res.render("json")) == []
    assert any("selects no records" in n for n in res.notes), res.notes
    assert list(csv.reader(io.StringIO(res.render("csv")))) == [list(describe.FIELDS)]


def test_order_per_and_limit_choose_as_find_does(demo_connection):
    clauses = "order by duration desc per seed limit 1"
    found = demo_connection.query(f"find all {clauses}").labels
    assert 1 < len(found) < 120
    assert demo_connection.query(f"describe where all {clauses}").labels == found


def test_many_records_get_a_note_saying_how_to_see_fewer(demo_connection):
    res = demo_connection.query("describe where all")
    assert len(res) == 120 > describe.MANY
    assert any("describing 120 records" in n and "latest N" in n for n in res.notes)
    res = demo_connection.query(f"describe where all latest {describe.MANY}")
    assert not any("describing" in n for n in res.notes)


# ------------------------------------------------------------------ formats

def test_every_format_shows_each_record(demo_connection):
    res = demo_connection.query("describe where tag finished latest 3")
    labels = res.labels
    assert len(labels) == 3
    data = json.loads(res.render("json"))
    assert [d["label"] for d in data] == labels
    assert all(set(d) == set(describe.FIELDS) for d in data)
    rows = list(csv.DictReader(io.StringIO(res.render("csv"))))
    assert [r["label"] for r in rows] == labels
    assert json.loads(rows[0]["tags"]) == data[0]["tags"]
    assert res.render("labels").splitlines() == labels

    table = res.render("table", width=100).splitlines()
    rules = [line for line in table if line.endswith("─" * 10)]
    assert [r.split()[0] for r in rules] == labels  # a rule with the label, each record
    assert table.count("Parameters") == 3

    markdown = res.render("markdown")
    assert markdown.count("\n---\n") == 2
    assert [line[len("## Record "):] for line in markdown.splitlines()
            if line.startswith("## Record ")] == labels

    html = res.render("html")
    assert [html.split(f"<h4>{label}</h4>") for label in labels]
    assert all(html.count(f"<h4>{label}</h4>") == 1 for label in labels)


def test_a_notebook_draws_the_first_records_and_says_how_many_more(demo_connection):
    res = demo_connection.query("describe where all")
    html = res._repr_html_()
    limit = RecordsResult.html_options["limit"]
    assert html.count("<h4>") == limit
    assert f"showing the first {limit} records; {120 - limit} more" in html


def test_json_on_one_line_is_the_same_data(demo_connection):
    from smtql.render import render_pieces
    res = demo_connection.query("describe latest, earliest")
    one_line = "".join(render_pieces(res, "json", one_line=True))
    assert "\n" not in one_line.strip()
    assert json.loads(one_line) == json.loads(res.render("json"))


# ------------------------------------------------------------------ reading in chunks

def test_records_are_read_a_chunk_at_a_time_as_they_are_drawn(demo_connection, monkeypatch):
    store = demo_connection.store
    calls = []
    read = store.records_without_parameters  # what describe reads records with

    def counted(rows):
        rows = list(rows)
        calls.append(len(rows))
        return read(rows)

    monkeypatch.setattr(store, "records_without_parameters", counted)
    res = demo_connection.query("describe where all")
    assert calls == [describe.CHUNK]  # read ahead: the first chunk's notes come first
    assert len(json.loads(res.render("json"))) == 120
    assert calls == [describe.CHUNK, describe.CHUNK, 120 - 2 * describe.CHUNK]

    from smtql.render import render_pieces
    calls.clear()
    drawn = render_pieces(res, "table", width=100)
    for _ in range(describe.CHUNK + 2):  # the first chunk is held; one more is read
        next(drawn)
    drawn.close()
    assert calls == [describe.CHUNK]


# ------------------------------------------------------------------ real stores

@pytest.mark.parametrize("kind", KINDS)
def test_describe_where_on_every_kind_of_store(kind, tmp_path_factory):
    project, oracle = demo_store(kind, tmp_path_factory)
    done = sorted((r for r in oracle if "_finished_" in r.tags),
                  key=lambda r: (r.timestamp, r.label), reverse=True)[:3]
    with smtql.connect(project) as conn:
        res = conn.query("describe where tag finished latest 3")
        data = json.loads(res.render("json"))
    assert [d["label"] for d in data] == [r.label for r in done]
    for d, r in zip(data, done):
        assert d["reason"] == r.reason and d["duration"] == r.duration
        assert d["main_file"] == r.main_file
        assert sorted(d["tags"]) == sorted(r.tags)
