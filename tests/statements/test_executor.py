"""The executor (LANGUAGE.md §1, §4): sorting, limits, merging, columns,
count, keys, describe, explain, notes, and the checks writes make before
they touch a store.

Most tests run on an in-memory store of hand-built rows, where every answer
is known; `describe` and the notes about real tags and keys run on the demo
project.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from smtql.errors import QueryError
from smtql.executor import Executor
from smtql.language.parser import parse
from smtql.result import CountResult, RecordResult, TextResult
from smtql.stores.rows import Row
from smtql.stores.base import Store
from smtql.plan.values import MISSING

UTC = timezone.utc
NOW = datetime(2021, 3, 15, 12, 0, tzinfo=UTC)


class MemoryStore(Store):
    """A store of hand-built rows, everything post-filtered."""

    project = "mem"
    location = "memory"

    def __init__(self, rows):
        self.rows = list(rows)
        self.scans = 0

    def scan(self, plan):
        self.scans += 1
        return iter(self.rows)

    def records(self, rows):
        return list(rows)


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def mk(label, ts, **kw) -> Row:
    return Row(label=label, timestamp=ts, **kw)


ROWS = [
    # three runs launched in the same second (one label without a suffix)
    mk("20200101-000000_bb", at(2020, 1, 1), params={"k": "x", "m": "a", "lr": 0.1},
       duration=20.0, tags=frozenset({"_finished_"}), reason="r2", outcome="ok"),
    mk("20200101-000000_aa", at(2020, 1, 1), params={"k": 3, "m": "b", "lr": 0.1},
       duration=10.0, tags=frozenset({"_finished_", "figure1"}), reason="r1", outcome="ok"),
    mk("20200101-000000", at(2020, 1, 1), params={"m": "a", "lr": 0.1},
       duration=None, tags=frozenset({"_crashed_"}), reason="r1"),
    mk("20200301-120000_cc", at(2020, 3, 1, 12), params={"k": 1.5, "lr": 0.01},
       duration=5.0, tags=frozenset({"_finished_", "figure2"}), main_file="main.py"),
    mk("20200201-000000_dd", at(2020, 2, 1), params={"k": 10, "lr": 0.01, "m": "c"},
       duration=7.0, tags=frozenset({"_killed_"})),
    # same second as _dd's label part would suggest, but a different time part
    mk("20200201-000001_ee", at(2020, 2, 1, 0, 0, 1),
       params={"taskname": "T", "inputs": {"k": 2, "opt": {"taskname": "O", "inputs": {"lr": 0.5}}}},
       duration=None, tags=frozenset({"figure1"}), reason="a long reason " * 10),
]


@pytest.fixture
def store():
    return MemoryStore(ROWS)


def run(store, text, **variables):
    return list(Executor(store, dict(variables), now=NOW).run(parse(text)))


def one(store, text, **variables):
    results = run(store, text, **variables)
    return results[-1]


def labels(store, text, **variables):
    return one(store, text, **variables).labels


# ------------------------------------------------------------------ order

def test_default_order_is_newest_first_ties_by_label(store):
    assert labels(store, "find all") == [
        "20200301-120000_cc", "20200201-000001_ee", "20200201-000000_dd",
        "20200101-000000", "20200101-000000_aa", "20200101-000000_bb"]


def test_a_bare_filter_is_a_find(store):
    assert labels(store, "all") == labels(store, "find all")
    assert labels(store, "tag figure1") == ["20200201-000001_ee", "20200101-000000_aa"]


def test_order_by_puts_missing_keys_last_and_numbers_before_strings(store):
    # k: x, 3, -, 1.5, 10, 2 (the last through task folding)
    assert labels(store, "all order by k") == [
        "20200301-120000_cc", "20200201-000001_ee", "20200101-000000_aa",
        "20200201-000000_dd", "20200101-000000_bb", "20200101-000000"]
    assert labels(store, "all order by k desc") == [
        "20200101-000000_bb", "20200201-000000_dd", "20200101-000000_aa",
        "20200201-000001_ee", "20200301-120000_cc", "20200101-000000"]
    assert labels(store, "all order by k asc") == labels(store, "all order by k")


def test_order_by_ties_break_by_timestamp_then_label(store):
    # lr: 0.1 ×3 (same timestamp), 0.01 ×2, 0.5 ×1
    assert labels(store, "all order by lr") == [
        "20200301-120000_cc", "20200201-000000_dd",
        "20200101-000000", "20200101-000000_aa", "20200101-000000_bb",
        "20200201-000001_ee"]


def test_order_by_several_keys(store):
    # m: a, b, a, -, c, - ; then k descending
    assert labels(store, "all order by m, k desc") == [
        "20200101-000000_bb", "20200101-000000",   # m = a: k "x", then k missing
        "20200101-000000_aa", "20200201-000000_dd",  # m = b, m = c
        "20200201-000001_ee", "20200301-120000_cc"]  # m missing: k 2 before 1.5 (desc)


def test_order_by_a_field_with_nulls_last(store):
    assert labels(store, "all order by duration") == [
        "20200301-120000_cc", "20200201-000000_dd", "20200101-000000_aa",
        "20200101-000000_bb", "20200201-000001_ee", "20200101-000000"]
    assert labels(store, "all order by duration desc")[:2] == ["20200101-000000_bb",
                                                              "20200101-000000_aa"]
    assert labels(store, "all order by duration desc")[-2:] == ["20200201-000001_ee",
                                                               "20200101-000000"]
    assert labels(store, "all order by label")[0] == "20200101-000000"
    assert labels(store, "all order by timestamp")[:1] == ["20200101-000000"]


# ------------------------------------------------------------------ limits

def test_limit(store):
    res = one(store, "all limit 2")
    assert res.labels == ["20200301-120000_cc", "20200201-000001_ee"]
    assert res.hidden == 4
    assert one(store, "all limit 0").labels == []
    assert len(one(store, "all limit 100")) == 6


def test_latest_and_earliest_keep_the_newest_and_oldest(store):
    assert labels(store, "all latest 2") == ["20200301-120000_cc", "20200201-000001_ee"]
    assert labels(store, "all latest") == ["20200301-120000_cc"]
    assert labels(store, "all earliest") == ["20200101-000000"]
    # the three oldest, shown in the answer's order (newest first)
    assert set(labels(store, "all earliest 3")) == {
        "20200101-000000", "20200101-000000_aa", "20200101-000000_bb"}
    assert labels(store, "all earliest 4") == [
        "20200201-000000_dd", "20200101-000000", "20200101-000000_aa", "20200101-000000_bb"]


def test_latest_keeps_the_order_by_order(store):
    # the three newest, ordered by k
    assert labels(store, "all order by k latest 3") == [
        "20200301-120000_cc", "20200201-000001_ee", "20200201-000000_dd"]
    assert labels(store, "all latest 3 order by k") == labels(store, "all order by k latest 3")


def test_limit_from_a_variable(store):
    assert len(one(store, "all limit $n", n=4)) == 4
    with pytest.raises(QueryError, match="whole number"):
        one(store, "all latest $n", n="many")


# ------------------------------------------------------------------ merged

def joined(cell) -> list:
    """The distinct values a merged cell joins, in the rows' order."""
    assert isinstance(cell, (tuple, list)), cell
    return list(cell)


def test_merged_groups_labels_sharing_the_timestamp_part(store):
    res = one(store, "all merged")
    assert res.columns[0] == "# records"
    rows = {r["label"]: r for r in res.rows}
    assert set(rows) == {"20200301-120000_cc", "20200201-000001_ee", "20200201-000000_dd",
                         "20200101-000000"}
    group = rows["20200101-000000"]
    assert group["# records"] == 3
    assert group["duration"] == pytest.approx(15.0)      # mean of 10 and 20; null ignored
    assert joined(group["reason"]) == ["r1", "r2"]       # distinct values joined
    assert group["outcome"] == "ok"                      # empty text adds nothing to the join
    assert set(group["tags"]) == {"_finished_", "_crashed_", "figure1"}
    assert group["timestamp"] == at(2020, 1, 1)
    assert rows["20200301-120000_cc"]["# records"] == 1
    assert rows["20200301-120000_cc"]["label"] == "20200301-120000_cc"
    assert rows["20200301-120000_cc"]["duration"] == 5.0
    assert res.labels[:1] == ["20200301-120000_cc"] and len(res.labels) == 6
    assert [len(g) for g in res.source_rows] == [1, 1, 1, 3]


def test_merged_parameter_columns_join_distinct_values(store):
    res = one(store, "all merged show label, k, lr, m")
    group = next(r for r in res.rows if r["# records"] == 3)
    assert group["lr"] == 0.1                     # one distinct value
    assert joined(group["k"]) == [3, "x"]         # the record lacking k adds nothing
    assert joined(group["m"]) == ["a", "b"]
    kept = next(r for r in res.rows if r["label"] == "20200301-120000_cc")
    assert kept["m"] is MISSING                   # a key this record lacks


@pytest.mark.parametrize("text,where", [("all show label, kk", "kk"),
                                        ("all order by lrr", "lrr"),
                                        ("all show label, opt.lrx", "opt.lrx")])
def test_a_name_no_record_has_in_show_or_order_by_is_an_error(store, text, where):
    with pytest.raises(QueryError) as info:
        one(store, text)
    err = info.value
    assert err.exit_status == 1 and f"'{where}'" in err.message
    assert err.column == text.index(where) + 1
    near = err.suggestion or ""
    assert len(set(near.split(" or "))) == len(near.split(" or "))  # each name once


def test_merged_text_empty_in_every_record_stays_empty():
    store = MemoryStore([mk("20200101-000000_a", at(2020, 1, 1), outcome=""),
                         mk("20200101-000000_b", at(2020, 1, 1), outcome="")])
    assert one(store, "all merged").rows[0]["outcome"] == ""


def test_merged_all_null_durations_stay_null():
    store = MemoryStore([mk("20200101-000000_a", at(2020, 1, 1)),
                         mk("20200101-000000_b", at(2020, 1, 1, 0, 0, 0, 5))])
    res = one(store, "all merged")
    assert len(res.rows) == 1 and res.rows[0]["duration"] is None
    assert res.rows[0]["label"] == "20200101-000000"
    assert res.rows[0]["timestamp"] == at(2020, 1, 1, 0, 0, 0, 5)


def test_limits_count_rows_after_merging(store):
    res = one(store, "all merged earliest 1")
    assert [r["# records"] for r in res.rows] == [3]
    assert len(res.labels) == 3
    assert res.hidden == 3
    assert [r["# records"] for r in one(store, "all merged limit 3").rows] == [1, 1, 1]
    assert [r["# records"] for r in one(store, "all merged latest 4").rows] == [1, 1, 1, 3]


# ------------------------------------------------------------------ show

def test_default_columns(store):
    res = one(store, "tag figure2")
    assert res.columns == ["label", "timestamp", "tags", "reason", "outcome", "main_file",
                           "duration"]
    row = res.rows[0]
    assert row["label"] == "20200301-120000_cc"
    assert row["timestamp"] == at(2020, 3, 1, 12)
    assert row["tags"] == ("_finished_", "figure2")
    assert row["main_file"] == "main.py" and row["duration"] == 5.0


def test_show_fields_parameters_and_default(store):
    res = one(store, "tag figure1 show label, k, opt.lr, script, default")
    assert res.columns == ["label", "k", "opt.lr", "main_file", "timestamp", "tags", "reason",
                           "outcome", "duration"]
    by_label = {r["label"]: r for r in res.rows}
    assert by_label["20200201-000001_ee"]["k"] == 2
    assert by_label["20200201-000001_ee"]["opt.lr"] == 0.5
    assert by_label["20200101-000000_aa"]["opt.lr"] is MISSING
    assert one(store, "all show params.k").columns == ["k"]
    assert one(store, "all show `m`").rows[0]["m"] is MISSING


def flat(text: str) -> str:
    """Rendered text with its white space (and any wrapping) collapsed."""
    return " ".join(text.split())


def test_show_params_whole_is_a_digest(store):
    res = one(store, "label = '20200101-000000_aa' or label = '20200201-000000_dd' "
                     "show label, params")
    assert [r["params"] for r in res.rows] == [{"k": 10, "lr": 0.01, "m": "c"},
                                               {"k": 3, "m": "b", "lr": 0.1}]
    text = res.render("table")
    assert "(3 keys)" in text and "0.01" not in text and '"m"' not in text
    # equal sets give equal digests, different sets different ones
    same = MemoryStore([mk("x", at(2020, 1, 1), params={"lr": 0.1, "m": "b", "k": 3})])
    digest_of = lambda t: [w for w in flat(t).split() if len(w) == 8 and w.isalnum()]  # noqa: E731
    again = one(same, "all show params").render("table")
    assert digest_of(again)[0] == digest_of(text)[-1]
    assert digest_of(text)[0] != digest_of(text)[-1]


def test_tables_cut_long_text(store):
    res = one(store, "label = '20200201-000001_ee' show reason")
    full = ("a long reason " * 10).strip()
    assert full[:39] + "…" in flat(res.render("table"))
    assert full not in flat(res.render("table"))
    # one line stays one line (issue 12, item 8): the whole text wants more lines
    assert full not in flat(res.render("table", max_chars=1000, width=80))
    assert full in flat(res.render("table", max_chars=1000, max_lines=3, width=80))
    assert full[:11] + "…" in flat(res.render("table", max_chars=12))
    assert full[:11] + "…" in flat(res.render("markdown", max_chars=12))


def test_multi_line_cells_keep_max_lines():
    store = MemoryStore([mk("L", at(2020, 1, 1), outcome="one\ntwo\nthree")])
    res = one(store, "all show outcome")
    text = res.render("table")
    assert "one …" in flat(text) and "two" not in text
    text = res.render("table", max_lines=2)
    assert "two …" in flat(text) and "three" not in text
    assert "three" in res.render("table", max_lines=5)


def test_table_footer_counts_rows_and_hidden(store):
    assert one(store, "all limit 2").render("table").splitlines()[-1] == \
        "(2 records, 4 more not shown)"
    assert one(store, "tag figure2").render("table").splitlines()[-1] == "(1 record)"
    assert one(store, "all merged").render("table").splitlines()[-1].startswith("(4 rows")
    assert one(store, "all merged latest 1").render("table").splitlines()[-1].endswith(
        ", 3 more not shown)")


# ------------------------------------------------------------------ count, keys, explain, let

def test_count(store):
    res = one(store, "count tag finished")
    assert isinstance(res, CountResult)
    assert res == 3 and int(res) == 3
    assert one(store, "count all") == 6
    assert one(store, "count not all") == 0
    assert one(store, "count lr < 0.1") == 2


def test_keys_lists_folded_keys_with_counts(store):
    res = one(store, "keys all")
    assert res.kind == "keys" and res.columns == ["key", "records", "examples"]
    counts = {r["key"]: r["records"] for r in res.rows}
    assert counts == {"k": 5, "m": 4, "lr": 5, "opt.lr": 1}
    examples = {r["key"]: r["examples"] for r in res.rows}
    assert examples["lr"] == [0.1, 0.01]
    assert len(examples["k"]) == 3
    assert {r["key"]: r["records"] for r in one(store, "keys tag finished").rows} == \
        {"k": 3, "m": 2, "lr": 3}


def test_explain_prints_the_plan_and_runs_nothing_else(store):
    res = one(store, "explain tag finished and lr = 0.1")
    assert isinstance(res, TextResult)
    assert res.data["candidates"] == 6 and res.data["answer"] == 2
    assert "pre-filter" in res.text and "post-filter" in res.text
    assert "lr = 0.1" in res.data["filter"] and "tag finished" in res.data["filter"]
    assert isinstance(one(store, "explain count lr = 0.01"), TextResult)
    assert one(store, "explain count lr = 0.01").data["answer"] == 2


def test_let_is_silent_and_later_statements_use_it(store):
    results = run(store, "let f = tag figure1; count $f; $f and duration > 5")
    assert results[0].silent and isinstance(results[0], TextResult)
    assert results[1] == 2
    assert results[2].labels == ["20200101-000000_aa"]


def test_one_now_per_program(store):
    store = MemoryStore([mk("old", NOW - timedelta(days=3)), mk("new", NOW - timedelta(hours=1))])
    results = run(store, "count after 2 days ago; after 2 hours ago; on today")
    assert results[0] == 1
    assert results[1].labels == ["new"]
    assert results[2].labels == ["new"]


def test_match_runs_against_the_store(store):
    assert labels(store, "match 20200101-000000_aa on lr") == [
        "20200101-000000", "20200101-000000_aa", "20200101-000000_bb"]
    assert labels(store, "match latest on lr") == ["20200301-120000_cc", "20200201-000000_dd"]
    with pytest.raises(QueryError, match="no record labelled"):
        one(store, "match 20200101-000000_zz on lr")
    with pytest.raises(QueryError, match="has no parameter m"):
        one(store, "match 20200301-120000_cc on m")


# ------------------------------------------------------------------ notes

def test_notes_for_a_tag_no_record_has(store):
    res = one(store, "tag figure3")
    assert res.labels == []
    assert len(res.notes) == 1
    assert "figure3" in res.notes[0] and "figure1" in res.notes[0] and "figure2" in res.notes[0]


def test_notes_for_a_key_no_record_has(store):
    res = one(store, "lrr = 0.1")
    assert len(res.notes) == 1 and "'lrr'" in res.notes[0] and "lr" in res.notes[0]
    res = one(store, "count opt.lrr < 1")
    assert len(res.notes) == 1 and "opt.lr" in res.notes[0]
    # in `show` and `order by` such a key is an error (issue 12, item 7)
    for text in ("all show kk", "all order by kk"):
        with pytest.raises(QueryError, match="'kk'"):
            one(store, text)


def test_no_notes_when_tags_and_keys_exist(store):
    assert one(store, "tag finished and tag figure1 and lr = 3 and opt.lr > 0 and exists k").notes == []
    assert one(store, "tag crashed show m order by k").notes == []
    # no record is initialized: the status word draws a note
    assert any("initialized" in n for n in one(store, "tag initialized").notes)


# ------------------------------------------------------------------ writes

@pytest.mark.parametrize("text,word", [
    ("tag _finished_ where all", "_finished_"),
    ("untag _running_ where all", "_running_"),
    ("tag _anything_ where all", "_anything_"),
    ("tag finished where all", "finished"),
    ('tag "a,b" where all', "a,b"),
    ('untag "a b" where all', "a b"),
])
def test_writes_refuse_status_and_malformed_tags(store, text, word):
    with pytest.raises(QueryError) as info:
        run(store, text)
    assert repr(word) in info.value.message and "nothing changed" in info.value.message
    assert info.value.exit_status == 1
    assert info.value.line == 1 and info.value.column == 1


def test_write_matching_nothing_says_so(store):
    res = one(store, 'tag x where label = "nope"')
    assert isinstance(res, TextResult) and "no record matches" in res.text


def test_a_memory_store_cannot_be_written(store):
    from smtql.errors import StoreError
    with pytest.raises(StoreError):
        run(store, "tag x where all")
    res = one_dry(store, "tag x where all")
    assert "dry run: would tag" in res.text


def one_dry(store, text):
    return list(Executor(store, now=NOW, dry_run=True).run(parse(text)))[-1]


def test_errors_name_the_file(store):
    program = parse("count all;\ncount $nope", filename="f.smtql")
    with pytest.raises(QueryError) as info:
        list(Executor(store, now=NOW).run(program))
    assert info.value.render().startswith("f.smtql:2:7: $nope is not set")


# ------------------------------------------------------------------ describe, on the demo project

def test_describe_latest_and_by_label(demo_connection, demo_reference):
    newest = max(demo_reference, key=lambda r: (r["timestamp"], r["label"]))
    res = demo_connection.query("describe latest")
    assert isinstance(res, RecordResult)
    assert res.label == newest["label"]
    fields = res.fields
    assert fields["timestamp"] == newest["timestamp"]
    assert set(fields["tags"]) == newest["tags"]
    assert fields["reason"] == (newest["reason"] or "")
    assert fields["duration"] == newest["duration"]
    assert fields["main_file"] == newest["main_file"]
    assert [o["path"] if isinstance(o, dict) else o.split(" (")[0]
            for o in fields["output_data"]] == newest["outputpath"]
    for key in ("version", "user", "script_arguments", "executable", "repository",
                "launch_mode", "stdout_stderr", "parameters", "dependencies", "platforms"):
        assert key in fields
    assert res.records[0].label == newest["label"]
    text = res.render("table")
    assert newest["label"] in text and newest["main_file"] in text
    assert "μtilde" in text or "seed" in text  # the parameters are shown

    oldest = min(demo_reference, key=lambda r: (r["timestamp"], r["label"]))
    assert demo_connection.query("describe earliest").label == oldest["label"]
    some = sorted(r["label"] for r in demo_reference)[len(demo_reference) // 2]
    assert demo_connection.query(f"describe {some}").label == some
    assert demo_connection.query(f'describe "{some}"').label == some


def test_describe_an_unknown_label_suggests_close_ones(demo_connection, demo_reference):
    label = sorted(r["label"] for r in demo_reference)[0]
    typo = label[:-1] + ("0" if label[-1] != "0" else "1")
    with pytest.raises(QueryError) as info:
        demo_connection.query(f"describe {typo}")
    assert typo in info.value.message
    assert label in (info.value.suggestion or "")


def test_demo_notes_suggest_existing_tags_and_keys(demo_connection, demo_reference):
    all_tags = set().union(*(r["tags"] for r in demo_reference))
    assert {"figure1", "figure2"} <= all_tags  # what the suggestion below relies on
    res = demo_connection.query("tag figur1")
    assert res.labels == []
    assert len(res.notes) == 1 and "closest" in res.notes[0] and "figure1" in res.notes[0]
    res = demo_connection.query("optimizer.model.params.mutilde.0 < -3")
    assert len(res.notes) == 1 and "optimizer.model.params.μtilde" in res.notes[0]
    assert demo_connection.query("tag figure1 and optimizer.lr > 0").notes == []


def test_demo_keys_are_task_folded(demo_connection, demo_reference):
    res = demo_connection.query("keys all")
    counts = {r["key"]: r["records"] for r in res.rows}
    assert not any(k.startswith("inputs.") or ".inputs." in k for k in counts)

    def has(params, path):
        node = params
        for seg in path:
            if isinstance(node, dict) and seg not in node and "taskname" in node \
                    and isinstance(node.get("inputs"), dict):
                node = node["inputs"]
            if isinstance(node, dict) and seg in node:
                node = node[seg]
            else:
                return False
        return True
    expected = sum(1 for r in demo_reference
                   if has(r["params"], ("optimizer", "model", "params", "μtilde")))
    assert expected > 0
    assert counts["optimizer.model.params.μtilde"] == expected


# ------------------------------------------------------------------ explain's SQL

def test_explain_lays_out_sql_and_abbreviates_placeholder_runs(demo_connection):
    text = demo_connection.query("explain tag finished and optimizer.lr < 0.05").text
    sql = [line for line in text.splitlines() if line.startswith("  ")]
    assert any(line.strip().startswith("FROM django_store_record r") for line in sql)
    # (the demo's records are all its project's: no project test in the WHERE)
    assert any(line.strip().startswith("WHERE (r.db_id IN") for line in sql)
    assert max(len(line) for line in text.splitlines()) < 160  # no 2,000-character line
    assert "values)" in text  # the parameter sets' ids: a few, then how many
    assert text.count("?") < 60


def test_sql_layout_keeps_short_lists():
    from smtql.statements.explain import sql_layout
    assert "IN (?, ?)" in sql_layout("SELECT a FROM t WHERE a IN (?, ?)")
    laid = sql_layout("SELECT a FROM t WHERE a IN (" + ", ".join(["%s"] * 200) + ")")
    assert "%s, %s, %s, … (200 values)" in laid and laid.count("%s") == 3


# ------------------------------------------------------------------ write previews

def test_a_write_preview_lists_records_newest_first(store):
    res = one_dry(store, "tag picked where all")
    assert res.data["labels"] == labels(store, "all")  # the order a find shows
    shown = res.text.splitlines()[0]
    assert shown.index(res.data["labels"][0]) < shown.index(res.data["labels"][1])


def test_a_long_inverse_says_what_to_type():
    from smtql.statements.writes import FULL_INVERSE, short_inverse
    many = [f"l{i}" for i in range(FULL_INVERSE + 1)]
    inverse = "untag x where label in [" + ", ".join(f'"{x}"' for x in many) + "]"
    text = short_inverse(inverse, len(many))
    assert text.startswith('untag x where label in ["l0", ')
    assert f"({len(many)} labels, too many to print; type `undo` to revert exactly this write)" \
        in text
    assert "result's data" not in text
    assert "undo" not in short_inverse(inverse, len(many), undo=False)
    assert short_inverse(inverse[:40], 2) == inverse[:40]
