"""Golden files of the planner and the SQL compiler: query → pre-/post-filter
(tests/data/plan/splits.txt) and query → the WHERE clause each dialect runs
(tests/data/sql/sqlite.txt, postgresql.txt, mysql.txt), so a change to the
planner or the compiler shows as a diff of text.

The splits are made for the Django store's own `pushable`; the SQL is
compiled against the demo store's tag and parameter-set ids (the demo is
built from a fixed seed), rendered in each dialect. Set
SMTQL_UPDATE_GOLDEN=1 to write the files anew (then read the diff)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from smtql.language import parser
from smtql.language.bind import Context, bind_filter
from smtql.language.unparse import filter_text
from smtql.plan import planner
from smtql.stores.django.compile import Compiler
from smtql.stores.django.reader import Query
from smtql.stores.django.schema import DIALECTS

DATA = Path(__file__).resolve().parents[1] / "data"
NOW = datetime(2021, 10, 1, tzinfo=timezone.utc)
UPDATE = os.environ.get("SMTQL_UPDATE_GOLDEN") == "1"

QUERIES = [
    "tag finished and after 2020-09-12",
    'status crashed or stdout contains "Traceback"',
    '(outcome = "converged" or reason contains "lr") and duration > 1h and not tag figure1',
    "tag finished latest 20",
    'tag finished and reason matches "^lr"',
    'tag finished or reason matches "^lr"',
    'not (tag finished or reason matches "x")',
    'on 2020-11 and main_file = "train.py"',
    "between 2020-09 and 2020-10 or before 2020-09-05",
    'tag like "fig*" and outputs >= 2',
    'outputpath endswith ".json" and not outputpath = "loss.npy"',
    'label in ["20200912-000000_aaaaaa", "x"] and user != "ada"',
    'reason < "m" and version >= "2"',
    "duration ~= 3600 or duration in [60, 120]",
    'tags = ["figure1", "_finished_"] or tags contains "needs-review"',
    "timestamp = 2020-11-10 or timestamp > 2021-09",
    'optimizer.model.kind = "gru" and optimizer.lr = 0.01',
    "exists optimizer.momentum and not tag finished",
    "all",
    "not all",
    # output files are read in Python, after every other condition (issue 13)
    'output("metrics.json").loss < 0.1 and tag finished',
    'output("metrics.json").loss < 0.1 or reason matches "^lr" or tag finished',
    "outputs missing and not tag figure1 and outputs > 1",
]


def bound(text: str):
    program = parser.parse(text)
    f = program.statements[-1].filter
    return bind_filter(f, Context(now=NOW, source=program.source))


def read_cases(path: Path) -> dict[str, list[str]]:
    """query → the lines after it, from a golden file."""
    cases, query = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("query: "):
            query = line[len("query: "):]
            cases[query] = []
        elif query is not None and line and not line.startswith("#"):
            cases[query].append(line)
    return cases


def check_golden(path: Path, header: str, got: dict[str, list[str]]) -> None:
    if UPDATE:
        lines = [header, ""]
        for query, body in got.items():
            lines += [f"query: {query}", *body, ""]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
    want = read_cases(path)
    assert list(want) == list(got), f"{path.name}: the queries changed"
    for query, body in got.items():
        assert body == want[query], f"{path.name}: {query}"


def test_plan_splits(demo_connection):
    store = demo_connection.store
    got = {}
    for q in QUERIES:
        p = planner.plan(bound(q), store)
        got[q] = [f"pre: {filter_text(p.pre)}", f"post: {filter_text(p.post)}"]
    check_golden(DATA / "plan" / "splits.txt",
                 "# query → the planner's split for Sumatra's Django store: the pre-filter the\n"
                 "# store decides in SQL, the post-filter Python decides (tests/plan/test_goldens.py).",
                 got)


@dataclass
class _DialectOf:
    """The demo store's compiler state, with another dialect's SQL."""

    dialect: object
    project: str
    layout: object  # the schema generation's names (generations.py)
    sole_project: bool  # the store holds one project (the project test then unindexed)
    # shown with the project's test, which a store of only this project's
    # records leaves out (reader.records_all_of_project)
    only_project_records: bool = False


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"])
def test_compiled_sql(demo_connection, dialect):
    store = demo_connection.store
    compiler = Compiler(_DialectOf(DIALECTS[dialect], store.project, store.layout,
                                   store.sole_project))
    got = {}
    with Query(store) as qy:
        for q in QUERIES:
            p = planner.plan(bound(q), store)
            text, params = DIALECTS[dialect].render(compiler.where(qy, p.pre))
            got[q] = [f"sql: {text}", f"params: {_params(params)}"]
    check_golden(DATA / "sql" / f"{dialect}.txt",
                 f"# query → the WHERE clause of the {dialect} statement for its pre-filter,\n"
                 "# compiled against the demo store's ids (tests/plan/test_goldens.py).",
                 got)


def _params(params) -> str:
    return "[" + ", ".join(str(p) if not isinstance(p, str) else repr(p) for p in params) + "]"
