"""Plans that need no statistics (DESIGN.md principle 2, issue 10 item 2).

Every statement shape the SQL backend sends, and those the writer sends
for `tag`/`untag`, is run through the database's own EXPLAIN on a fresh
Sumatra-made store that was never analyzed, on SQLite, PostgreSQL and
MariaDB. A plan fails when it

- reads django_store_taggeditem through its index on content_type_id alone
  (every tag item of a Sumatra store is a record's: that index matches
  them all, and the planners without statistics still pick it), or
- scans a table of the store in full inside a correlated subquery, or as
  the inner side of a nested-loop join (records x something).

The plan's shape is checked, never its time: the stores are small.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

import smtql
from support.store_support import build_demo

# Tables of the store a full scan of which costs "records" (or more).
BIG = ("django_store_record", "django_store_taggeditem", "django_store_datakey",
       "django_store_parameterset")
# The parameter index's tables, ATTACHed to an SQLite store's connection
# (paramindex.attached_prefilter): several rows per parameter set.
INDEX_TABLES = ("smtql_index.nodes", "smtql_index.sets")
ALIASES = {"r": "django_store_record", "ti": "django_store_taggeditem",
           "k": "django_store_datakey", "p": "django_store_parameterset"}

# One program per statement shape the reader emits.
PROGRAMS = [
    "count tag finished",
    "count all",
    'count tag finished and reason matches "lr"',
    "tag finished and after 2020-09-12",
    'status crashed or stdout contains "Traceback"',
    'optimizer.lr = 0.01 and optimizer.model.kind = "gru"',
    # the parameter pre-filter's other shapes: doubtful candidates only
    # (no certain answers), certain answers beside doubtful ones, a negation
    'count optimizer.model.kind startswith "g" or optimizer.lr ~= 0.01',
    'count optimizer.lr != 0.01 and seed > 10',
    'count not (optimizer.lr = 0.01 or optimizer.model.kind in ["gru", "rnn"])',
    '(outcome = "converged" or reason contains "lr") and duration > 1h and not tag figure1',
    "tag finished latest 20",
    "all earliest 3",
    "all limit 5",
    "find all order by duration desc limit 5",  # order by … limit: sorted in the store
    "find tag finished order by reason, timestamp limit 3",
    "find all show label, params, outputs, executable, repository, stdout",
    'find outputs > 1 and executable contains "python" and repository contains "/"',
    "keys tag finished",
    'tag like "fig*" or outputpath endswith ".png" or tags = ["_killed_"]',
    'tags = ["_finished_", "figure1"] or not tags contains "baseline"',
    "describe latest",
    "describe earliest",
    "explain tag finished latest 20",
    "explain count tag finished and not tag figure1",
    "tag review where tag finished and after 2021-01",  # dry run: the selection only
    # issue 14: group-bys in SQL (periods, status, parameter sets) and streamed
    "status failed group by week show count",
    "tag finished group by main_file show count, mean(duration)",
    "tag finished group by optimizer.model.kind, status, month show count, max(timestamp)",
    "tag finished group by optimizer.model.kind show count, mean(duration)",  # codes joined
    "all group by tag show median(duration), labels",
    "tags tag finished",
    "tag finished order by duration per seed",
]


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def fresh(request, tmp_path_factory):
    """(kind, connection) of a fresh demo store, never analyzed."""
    kind = request.param
    project = build_demo(kind, tmp_path_factory.mktemp(f"plans-{kind}") / "p", records=150,
                         seed=11)
    conn = smtql.connect(project)
    _keep_unanalyzed(kind, conn.store)
    _assert_no_statistics(kind, conn.store)
    yield kind, conn
    conn.close()


def _keep_unanalyzed(kind, store) -> None:
    """Autovacuum could ANALYZE the test's own tables behind its back (150
    records are past its threshold); it is off for them, so the plans are
    those of a store nobody analyzed, as Sumatra leaves it."""
    if kind != "postgres":
        return
    import psycopg
    with psycopg.connect(store.location, autocommit=True) as c:
        for table in BIG + ("django_store_tag",):
            c.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")


def _assert_no_statistics(kind, store) -> None:
    if kind == "sqlite":
        c = sqlite3.connect(store.location)
        has = c.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone()
        c.close()
        assert has[0] == 0, "the SQLite store was analyzed"
    elif kind == "postgres":
        import psycopg
        with psycopg.connect(store.location) as c:
            rows = c.execute("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL "
                             "OR last_autoanalyze IS NOT NULL").fetchall()
        assert not rows, f"analyzed: {rows}"


# ------------------------------------------------------------------ EXPLAIN, per database

def ctype_only_indexes(kind, store) -> set[str]:
    """Names of the indexes on django_store_taggeditem whose only column is
    content_type_id."""
    if kind == "sqlite":
        c = sqlite3.connect(store.location)
        names = set()
        for _, name, *_ in c.execute("PRAGMA index_list(django_store_taggeditem)").fetchall():
            cols = [r[2] for r in c.execute(f'PRAGMA index_info("{name}")')]
            if cols == ["content_type_id"]:
                names.add(name)
        c.close()
        return names
    cur = _cursor(kind, store)
    if kind == "postgres":
        cur.execute("SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE tablename = 'django_store_taggeditem'")
        return {n for n, d in cur.fetchall() if d.endswith("(content_type_id)")}
    cur.execute("SELECT index_name, GROUP_CONCAT(column_name) FROM information_schema.statistics "
                "WHERE table_schema = DATABASE() AND table_name = 'django_store_taggeditem' "
                "GROUP BY index_name")
    return {n for n, cols in cur.fetchall() if cols == "content_type_id"}


def _cursor(kind, store):
    return store.conn.cursor()


def plan_problems(kind, store, text, params) -> list[str]:
    """What is wrong with the plan of one statement (empty: nothing)."""
    bad_indexes = ctype_only_indexes(kind, store)
    if kind == "sqlite":
        return _sqlite_problems(store, text, params, bad_indexes)
    if kind == "postgres":
        return _postgres_problems(store, text, params, bad_indexes)
    return _mysql_problems(store, text, params, bad_indexes)


def _sqlite_problems(store, text, params, bad_indexes) -> list[str]:
    rows = store.conn.execute("EXPLAIN QUERY PLAN " + text, params).fetchall()
    nodes = {i: (parent, detail) for i, parent, _, detail in rows}
    problems = []
    children: dict[int, list] = {}
    for i, (parent, _) in nodes.items():
        children.setdefault(parent, []).append(i)

    def correlated(i):
        while i in nodes:
            if nodes[i][1].startswith("CORRELATED"):
                return True
            i = nodes[i][0]
        return False

    for i, (parent, detail) in nodes.items():
        if any(name in detail for name in bad_indexes):
            problems.append(f"content_type_id index: {detail}")
        scanned = _sqlite_scanned(detail)
        if scanned in BIG + INDEX_TABLES:
            loops = [j for j in children[parent] if nodes[j][1].startswith(("SCAN", "SEARCH"))]
            if correlated(i):
                problems.append(f"full scan in a correlated subquery: {detail}")
            elif loops and loops[0] != i:
                problems.append(f"full scan as an inner loop: {detail}")
    return problems


def _sqlite_scanned(detail: str) -> str | None:
    """The table a `SCAN t [USING …]` reads in full (a covering index is
    still every row)."""
    if not detail.startswith("SCAN "):
        return None
    name = detail.split()[1]
    return ALIASES.get(name, name)


def _postgres_problems(store, text, params, bad_indexes) -> list[str]:
    cur = store.conn.execute("EXPLAIN (FORMAT JSON) " + text, params)
    plan = cur.fetchone()[0]
    store.conn.rollback()  # the next query takes its own snapshot
    plan = json.loads(plan) if isinstance(plan, str) else plan
    problems = []

    def walk(node, correlated, inner):
        rel = node.get("Relation Name")
        if node.get("Index Name") in bad_indexes:
            problems.append(f"content_type_id index: {node['Node Type']} {node['Index Name']}")
        if node["Node Type"] == "Seq Scan" and rel in BIG:
            if correlated:
                problems.append(f"full scan in a correlated subquery: Seq Scan on {rel}")
            elif inner:
                problems.append(f"full scan as an inner loop: Seq Scan on {rel}")
        for child in node.get("Plans", ()):
            sub = child.get("Parent Relationship") == "SubPlan" and bool(
                child.get("Subplan Name", "").startswith("SubPlan"))
            nested_inner = node["Node Type"] == "Nested Loop" and \
                child.get("Parent Relationship") == "Inner"
            walk(child, correlated or sub, inner or nested_inner)
    walk(plan[0]["Plan"], False, False)
    return problems


def _mysql_problems(store, text, params, bad_indexes) -> list[str]:
    with store.conn.cursor() as cur:
        cur.execute("EXPLAIN " + text, params)
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    problems = []
    first_of_select: dict = {}
    for row in rows:
        table, key, access = row.get("table"), row.get("key"), row.get("type")
        full_name = ALIASES.get(table, table)
        if key in bad_indexes:
            problems.append(f"content_type_id index: {row}")
        if access in ("ALL", "index") and full_name in BIG:
            if "DEPENDENT" in (row.get("select_type") or ""):
                problems.append(f"full scan in a correlated subquery: {row}")
            elif first_of_select.setdefault(row["id"], table) != table:
                problems.append(f"full scan as an inner loop: {row}")
        first_of_select.setdefault(row["id"], table)
    return problems


# ------------------------------------------------------------------ the checker checks

def test_the_checker_rejects_the_plans_of_issue_10(fresh):
    """The correlated tag list smtql used to send is caught on every database."""
    kind, conn = fresh
    store = conn.store
    ph = store.dialect.placeholder
    old = (f"SELECT r.db_id, (SELECT COUNT(*) FROM django_store_taggeditem ti "
           f"WHERE ti.object_id = r.db_id AND ti.content_type_id = {ph}) "
           f"FROM django_store_record r")
    ctype = store.record_content_type or _ctype(store)
    problems = plan_problems(kind, store, old, [ctype])
    # Not every database falls for it, but none may read the full tag table per record.
    fixed = old.replace("ti.content_type_id", store.dialect.unindexed("ti.content_type_id"))
    assert plan_problems(kind, store, fixed, [ctype]) == []
    if kind != "mysql":  # MariaDB keeps InnoDB statistics of its own and picks object_id
        assert problems, f"{kind}: the correlated content_type_id lookup was not caught"


def _ctype(store):
    from smtql.stores.django.reader import Query
    with Query(store) as qy:
        return qy.content_type_id()


# ------------------------------------------------------------------ the reader

@pytest.mark.parametrize("program", PROGRAMS)
def test_every_statement_of_the_reader_has_a_plan_without_statistics(fresh, program):
    kind, conn = fresh
    store = conn.store
    store.statement_log = []
    try:
        res = conn.query(program, dry_run=True)
        if hasattr(res, "records") and program.startswith("tag finished and"):
            res.records  # Record objects: the statements of records.py too
    finally:
        log, store.statement_log = store.statement_log, None
    assert log
    problems = {text: p for text, params in log if (p := plan_problems(kind, store, text, params))}
    assert not problems, json.dumps(problems, indent=1)


def test_vocabulary_statements_have_plans_without_statistics(fresh):
    kind, conn = fresh
    store = conn.store
    store.statement_log = []
    try:
        assert store.tag_counts()["_finished_"] > 0
        assert store.present_tags(["_finished_", "no such tag"]) == {"_finished_"}
        assert store.tag_names() == set(+store.tag_counts())
        store.statement_started()
        assert store.param_keys()
        assert store.has_param(("seed",)) in (True, False)
    finally:
        log, store.statement_log = store.statement_log, None
    problems = {text: p for text, params in log if (p := plan_problems(kind, store, text, params))}
    assert not problems, json.dumps(problems, indent=1)


def _tag_items_and_pages(store) -> tuple[dict, int]:
    """(tag name -> its items, the record table's pages), asked directly."""
    import psycopg
    with psycopg.connect(store.location) as c:
        items = dict(c.execute("SELECT t.name, COUNT(*) FROM django_store_taggeditem ti "
                               "JOIN django_store_tag t ON t.id = ti.tag_id GROUP BY t.name"))
        pages = c.execute("SELECT pg_relation_size('django_store_record') / "
                          "current_setting('block_size')::int").fetchone()[0]
    return items, pages


def test_postgres_hashes_a_count_whose_tags_a_nested_loop_would_pay_for(fresh):
    """PostgreSQL without statistics loops over a tag's items, one record
    lookup each (or a range of the tag index per record, for a second
    tag): a count or a scan is told to hash (transaction-local settings)
    when its one tag test has more items than the record table has pages, or when
    it has several; a rare tag keeps its loop. Under the settings the
    statement's plan has no nested loop."""
    kind, conn = fresh
    if kind != "postgres":
        pytest.skip("the other planners are not told")
    store = conn.store
    items, pages = _tag_items_and_pages(store)
    rare, rare2, *_, broad = sorted(items, key=items.get)
    assert items[rare2] <= pages < items[broad], (items, pages)  # the fixture shows both cases
    cases = {f"count tag {rare}": False, f"count tag {broad}": True,
             f"count tag {rare} and tag {rare2}": True, f"count tag {rare} or tag {rare2}": True,
             f"tag {rare} and tag {rare2}": True, f"tag {rare}": False}
    for program, hashed in cases.items():
        store.statement_log = []
        try:
            conn.query(program)
        finally:
            log, store.statement_log = store.statement_log, None
        settings = [(t, p) for t, p in log if t.startswith("SELECT set_config(")]
        assert bool(settings) == hashed, (program, log)
        if hashed:
            text, params = log[log.index(settings[0]) + 1]  # the statement it was set for
            with store.conn.transaction():
                store.conn.execute(*settings[0])
                plan = store.conn.execute("EXPLAIN (FORMAT JSON) " + text, params).fetchone()[0]
            store.conn.rollback()
            nodes = json.dumps(plan)
            assert '"Nested Loop"' not in nodes, (program, nodes)


def test_tags_and_outputs_are_read_in_batches_keyed_by_the_answer(fresh):
    """No correlated subquery on the tag or output tables in the main
    statement: they are read afterwards, one statement per chunk of rows."""
    kind, conn = fresh
    store = conn.store
    store.statement_log = []
    try:
        res = conn.query("find tag finished show label, tags, outputpath")
    finally:
        log, store.statement_log = store.statement_log, None
    main = [t for t, _ in log if t.startswith("SELECT r.db_id")]
    columns = [t.split(" FROM django_store_record r")[0] for t in main]
    assert columns and all("taggeditem" not in c and "datakey" not in c for c in columns)
    assert any(t.startswith("SELECT ti.object_id, ") and "GROUP BY ti.object_id" in t for t, _ in log)
    assert any(t.startswith("SELECT k.output_from_record_id") for t, _ in log)
    assert all(row["tags"] and "_finished_" in row["tags"] for row in res.rows)


# ------------------------------------------------------------------ the writer

def test_every_statement_of_the_writer_has_a_plan_without_statistics(fresh):
    """`tag`/`untag` on every record: the writer's statements (SQLAlchemy's,
    captured as the driver receives them) EXPLAINed the same way."""
    kind, conn = fresh
    store = conn.store
    import sqlalchemy as sa
    writer = store.writer()
    sent = []

    @sa.event.listens_for(writer.engine, "before_cursor_execute")
    def _capture(_conn, _cursor, statement, parameters, _context, executemany):
        if not executemany:
            sent.append((statement, parameters))
    original = store.writer
    store.writer = lambda: writer  # this writer, with its listener, for both writes
    try:
        conn.query("tag plan-check where all")
        conn.query("untag plan-check where all")
    finally:
        store.writer = original
        writer.close()
    explained = [(t, p) for t, p in sent
                 if t.lstrip().upper().startswith(("SELECT", "DELETE", "UPDATE"))]
    assert any("django_store_taggeditem" in t for t, _ in explained)
    problems = {}
    for text, params in explained:
        if kind == "sqlite":
            found = _sqlite_problems(store, text, list(params), ctype_only_indexes(kind, store))
        elif kind == "postgres":
            found = _pg_writer_problems(store, text, params)
        else:
            found = _mysql_problems(store, text, params, ctype_only_indexes(kind, store))
        if found:
            problems[text] = found
    assert not problems, json.dumps(problems, indent=1, default=str)


def _pg_writer_problems(store, text, params):
    """SQLAlchemy's psycopg statements use %(name)s placeholders: EXPLAIN
    them through a cursor of the read connection (EXPLAIN runs nothing)."""
    cur = store.conn.cursor()
    cur.execute("EXPLAIN (FORMAT JSON) " + text, params)
    plan = cur.fetchone()[0]
    store.conn.rollback()
    bad = ctype_only_indexes("postgres", store)
    problems = []

    def walk(node, correlated):
        if node.get("Index Name") in bad:
            problems.append(f"content_type_id index: {node['Node Type']} {node['Index Name']}")
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG and correlated:
            problems.append(f"full scan in a correlated subquery: {node['Relation Name']}")
        for child in node.get("Plans", ()):
            walk(child, correlated or child.get("Parent Relationship") == "SubPlan")
    walk(plan[0]["Plan"], False)
    return problems
