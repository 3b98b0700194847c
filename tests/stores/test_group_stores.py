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


def test_per_table_through_the_store(store):
    for case in PER_CASES:
        labels = run(store, case["query"]).labels
        assert [NAMES[label] for label in labels] == case["select"], case["query"]
