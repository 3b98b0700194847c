"""The group-by table (tests/data/semantics/groups.yaml) through real
stores: its records saved as Sumatra 0.8.1 saves them on SQLite, PostgreSQL
and MariaDB, each case run by the executor (one SQL GROUP BY where the
store can say it, streaming otherwise) must give the table's rows, as the
reference grouping does (tests/plan/test_groups.py)."""

from __future__ import annotations

import pytest

from plan.test_groups import GROUP_CASES, NAMES, PER_CASES, TABLE, check_lines
from stores.test_generation_semantics import as_record
from support import store_support
from support.generations import build_store

from smtql.executor import Executor
from smtql.language.parser import parse
from smtql.plan.evaluate import group_items
from smtql.stores.django import schema as S

_stores: dict = {}


# SQLite with the parameter index too: parameter keys' values then come
# from the index (ParamIndex.values), the other sets parsed; PostgreSQL with
# it groups by the values' codes (ParamIndex.value_codes) in the statement.
@pytest.fixture(scope="module", params=["sqlite", "sqlite-index", "postgres",
                                        "postgres-index", "mysql"])
def store(request, tmp_path_factory):
    backend = request.param.split("-")[0]
    store_support.require_server(backend)
    records = [as_record(n, s) for n, s in TABLE["records"].items()]
    built = build_store("0.8.1", backend, records,
                        target=tmp_path_factory.mktemp(f"groups-{request.param}"))
    from smtql.stores.registry import open_store
    opened = open_store(store=built.uri, index=request.param.endswith("index"))
    yield opened
    opened.close()


def run(store, query):
    store.last_group_statements = None
    return list(Executor(store).run(parse(query)))[-1]


def test_group_table_through_the_store(store):
    pushed = 0
    for case in GROUP_CASES:
        result = run(store, case["query"])
        check_lines(result.rows, case)
        for name, n in case.get("left_out", {}).items():
            assert any(note.startswith(f"{name}: {n} value") for note in result.notes), \
                (case["query"], result.notes)
        stmt = parse(case["query"]).statements[-1]
        if store.can_group(stmt.keys, group_items(stmt)[1]):
            assert store.last_group_statements, case["query"]  # it ran as GROUP BY
            pushed += 1
    assert pushed >= 15  # most of the table runs in SQL


def test_an_undamaged_store_reads_its_records_once(store):
    """Where timestamps are not typed (SQLite), the GROUP BY also counts the
    records whose timestamp may not read (issue 16, item 7): in a store
    nobody damaged, none, and the group-by reads the records in that one
    statement, no other (the notes' check that a tag exists stops at its
    first record)."""
    if store.dialect.name != "sqlite":
        pytest.skip("a server's timestamps are typed: nothing to count")
    pushed = 0
    for case in GROUP_CASES:
        stmt = parse(case["query"]).statements[-1]
        if not store.can_group(stmt.keys, group_items(stmt)[1]):
            continue
        store.statement_log = []
        run(store, case["query"])
        reads = [text for text, _ in store.statement_log if f"FROM {S.RECORD.name} r" in text]
        store.statement_log = None
        assert len(reads) == 1 and "GROUP BY" in reads[0], (case["query"], reads)
        pushed += 1
    assert pushed >= 15


def test_sqlite_timestamps_are_tested_again_once_the_store_changed(tmp_path):
    """The GROUP BY counts the store's records whose timestamp is not surely
    readable while the store may have changed since none had (SQLite's
    data_version, the store's `sure_at`), and only then: with `sure_at`
    the store's version, it tests none (damage made meanwhile goes unseen:
    so `sure_at` comes from such a count only); once another connection
    changed the store, it counts them again, and the group-by streams."""
    import sqlite3
    from datetime import datetime
    from support.generations import Record
    from smtql.stores.registry import open_store
    records = [Record(f"r{i}", datetime(2021, i + 1, 1)) for i in range(4)]
    built = build_store("0.8.1", "sqlite", records, target=tmp_path)
    store = open_store(store=built.uri)
    query = "count all group by month"

    def damage(label):
        db = sqlite3.connect(built.path)
        db.execute("UPDATE django_store_record SET timestamp = 'garbage' WHERE label = ?",
                   (label,))
        db.commit()
        db.close()

    try:
        assert sum(r["count"] for r in run(store, query).rows) == 4
        assert store.last_group_statements and store.sure_at is not None
        damage("r0")
        store.sure_at = store.conn.execute(  # as if no record had been damaged
            "SELECT data_version FROM pragma_data_version").fetchone()[0]
        assert sum(r["count"] for r in run(store, query).rows) == 4  # not tested
        assert store.last_group_statements
        damage("r1")
        got = run(store, query)
        assert store.last_group_statements is None and store.sure_at is None  # streamed
        assert sum(r["count"] for r in got.rows) == 2
        assert " ".join(got.notes).count("timestamp could not be read") == 2
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"])
def test_a_week_ends_with_sundays_last_microsecond(backend, tmp_path):
    """A record at 23:59:59.9999 on a Sunday is in that ISO week, in SQL as
    in Python (SQLite rounds a time to milliseconds once a date modifier
    applies: its week is counted from the date alone)."""
    from datetime import datetime
    from support.generations import Record
    from smtql.stores.registry import open_store
    store_support.require_server(backend)
    records = [Record("sunday", datetime(2020, 11, 22, 23, 59, 59, 999900)),
               Record("monday", datetime(2020, 11, 23))]
    store = open_store(store=build_store("0.8.1", backend, records, target=tmp_path).uri)
    try:
        got = run(store, "count all group by week")
        assert store.last_group_statements  # in SQL
        assert [(r["week"], r["count"]) for r in got.rows] == [("2020-W47", 1), ("2020-W48", 1)]
    finally:
        store.close()


def test_per_table_through_the_store(store):
    for case in PER_CASES:
        labels = run(store, case["query"]).labels
        assert [NAMES[label] for label in labels] == case["select"], case["query"]


# ------------------------------------------------------------------ issue 14: values coded

@pytest.mark.parametrize("form", ["few values", "joined"])
def test_postgres_groups_parameter_values_in_the_statement(form, monkeypatch):
    """With the index, PostgreSQL groups a parameter key by the values'
    codes (ParamIndex.value_codes), each value's sets one `= ANY(array)`
    (few values) or all joined on the set id (many): the statement
    returns a row per value and per set the index cannot answer for (a
    list value), not one per set; its plan
    (EXPLAINed under the statement's own settings) has no nested loop over
    the records and no subplan; the lines equal those without the index."""
    from datetime import datetime, timedelta
    from support.generations import Record
    from smtql.stores.django.reader import Query
    from smtql.stores.registry import open_store
    from smtql.stores.django import compile as compile_module
    store_support.require_server("postgres")
    if form == "joined":
        monkeypatch.setattr(compile_module, "FEW_VALUES", 0)
    kinds = ["gru", "lstm", "rnn"]
    records = [Record(f"r{i}", datetime(2021, 1, 1) + timedelta(hours=i), tags=("finished",),
                      duration=60.0 * i, format="json",
                      parameters={"seed": i, "model": {"kind": kinds[i % 3] if i % 10 else
                                                                 ["gru"] if i == 10 else None}})
               for i in range(1, 61)] + [Record("bare", datetime(2021, 3, 1), parameters={"x": 1},
                                                format="json", tags=("finished",))]
    uri = build_store("0.8.1", "postgres", records).uri
    query = "tag finished group by model.kind show count, mean(duration)"
    indexed = open_store(store=uri, index=True)
    plain = open_store(store=uri, index=False)
    try:
        run(indexed, "count seed > 0")  # builds the index
        indexed.statement_log = []
        got = run(indexed, query)
        want = run(plain, query)
        assert _lines(got) == _lines(want)
        mark = "unnest(" if form == "joined" else "= ANY(CAST("
        text, params = next((t, p) for t, p in indexed.statement_log
                            if "GROUP BY" in t and mark in t)
        with Query(indexed) as qy:
            qy.set_local(**indexed.dialect.hash_join_settings)  # as the store's own transaction
            rows = indexed.conn.execute(text, params).fetchall()
            plan = indexed.conn.execute("EXPLAIN (FORMAT JSON) " + text, params).fetchone()[0]
        # gru, lstm, rnn, null (i % 10 == 0 but 10), missing (`bare`); the list: its own row
        assert len(rows) == 6, rows
        nodes = list(_plan_nodes(plan[0]["Plan"]))
        assert not [n for n in nodes if n["Node Type"] == "Nested Loop"], nodes
        assert not [n for n in nodes if n.get("Parent Relationship") == "SubPlan"], nodes
    finally:
        indexed.close()
        plain.close()


def _lines(result):
    return sorted((str(r["model.kind"]), r["count"], r["mean(duration)"]) for r in result.rows)


def _plan_nodes(node):
    yield node
    for child in node.get("Plans", ()):
        yield from _plan_nodes(child)


def test_a_fresh_connection_trusts_the_stamp_of_an_unchanged_store(tmp_path):
    """A connection that found no unsure timestamp keeps the store file's
    stamp beside the parameter index (stamp.py); a fresh connection to the
    unchanged file tests no record, while any write to the store, a store
    with a write-ahead log, or --no-index leave it testing them again; what
    it counts is what find finds."""
    import sqlite3
    from datetime import datetime
    from support.generations import Record
    from smtql.stores.django import stamp
    from smtql.stores.registry import open_store
    records = [Record(f"r{i}", datetime(2021, i + 1, 1)) for i in range(4)]
    built = build_store("0.8.1", "sqlite", records, target=tmp_path)
    query = "count all group by month"

    def tested(**options):
        """(records counted, whether the statement tested the timestamps)"""
        store = open_store(store=built.uri, **options)
        try:
            store.statement_log = []
            got = run(store, query)
            text, params = next((t, p) for t, p in store.statement_log if "GROUP BY" in t)
            return sum(r["count"] for r in got.rows), params[-1] is None
        finally:
            store.close()

    def write(sql, *args):
        db = sqlite3.connect(built.path)
        db.execute(sql, args)
        db.commit()
        db.close()

    assert tested() == (4, True)  # found sure, stamped
    assert tested() == (4, False)  # a fresh connection trusts the stamp
    assert tested(index=False) == (4, True)  # no cache without the index
    write("UPDATE django_store_record SET timestamp = 'garbage' WHERE label = 'r0'")
    store = open_store(store=built.uri)
    try:  # the write changed the file: tested, streamed, the damage reported
        assert sum(r["count"] for r in run(store, query).rows) == 3
        assert store.last_group_statements is None and store.sure_at is None
    finally:
        store.close()
    assert not stamp.unchanged(built.uri, built.path)
    write("UPDATE django_store_record SET timestamp = '2021-01-01 00:00:00' WHERE label = 'r0'")
    assert tested() == (4, True) and tested() == (4, False)
    write("PRAGMA journal_mode = WAL")
    db = sqlite3.connect(built.path)  # a reader holding the log open, as Sumatra's writer might
    db.execute("SELECT 1 FROM django_store_record").fetchall()
    try:
        assert tested() == (4, True) and tested() == (4, True)  # never stamped
    finally:
        db.close()
