"""The meaning of group-bys, aggregates and `per` (LANGUAGE.md §9) on
hand-built rows.

The table (tests/data/semantics/groups.yaml) lists, for each group-by, its
rows exactly; each runs through parse → bind → the reference grouping
(`smtql.plan.evaluate.reference_groups`, the `statistics` module over each
group's records) and through the statement's streaming engine (an
in-memory store that pushes nothing down): both must give the table's
rows. `per` cases list the records they select, in order. The same table
runs through SQL stores in tests/stores/test_group_stores.py.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from plan.test_evaluate import make_rows
from support.store_support import ListStore

from smtql.executor import Executor
from smtql.language.bind import Context, bind_statement
from smtql.language.parser import parse
from smtql.plan.evaluate import reference_groups
from smtql.plan.values import MISSING

TABLE = yaml.safe_load((Path(__file__).parents[1] / "data" / "semantics" / "groups.yaml")
                       .read_text("utf-8"))
ROWS = make_rows(TABLE["records"])
NAMES = {row.label: name for name, row in ROWS.items()}
GROUP_CASES = [c for c in TABLE["cases"] if "rows" in c]
PER_CASES = [c for c in TABLE["cases"] if "select" in c]


def expected(value):
    """A table cell as the engines give it: `—` is missing, a YAML date the
    period's label, a label name the record's label."""
    if value == "—":
        return MISSING
    if isinstance(value, list):
        return tuple(expected(v) for v in value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def same(got, want) -> bool:
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return math.isclose(got, want, rel_tol=1e-9)
    if isinstance(want, tuple) and isinstance(got, (tuple, list)):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, datetime) and isinstance(got, datetime):
        return got == want
    return type(got) is type(want) and got == want or (
        isinstance(got, (int, float)) and isinstance(want, (int, float))
        and not isinstance(got, bool) and not isinstance(want, bool) and got == want)


def _labels_in(lines):
    """Label cells (`labels`, first(label), …) as the table's record names."""
    out = []
    for line in lines:
        line = dict(line)
        for name, v in line.items():
            if isinstance(v, tuple) and v and all(x in NAMES for x in v if isinstance(x, str)):
                line[name] = tuple(NAMES.get(x, x) for x in v)
            elif isinstance(v, str) and v in NAMES:
                line[name] = NAMES[v]
        out.append(line)
    return out


def check_lines(lines, case) -> None:
    want = [tuple(expected(v) for v in row) for row in case["rows"]]
    got = [tuple(line.values()) for line in _labels_in(lines)]
    assert len(got) == len(want), (case["query"], got)
    for g, w in zip(got, want):
        assert len(g) == len(w) and all(same(a, b) for a, b in zip(g, w)), (case["query"], g, w)


def bound(query):
    program = parse(query)
    return bind_statement(program.statements[-1], Context(source=query))


@pytest.mark.parametrize("case", GROUP_CASES, ids=[c["query"] for c in GROUP_CASES])
def test_reference_grouping(case):
    lines, left_out = reference_groups(ROWS.values(), bound(case["query"]))
    check_lines(lines, case)
    assert {k: v for k, v in left_out.items() if v} == case.get("left_out", {})


@pytest.mark.parametrize("case", GROUP_CASES, ids=[c["query"] for c in GROUP_CASES])
def test_streaming_engine(case):
    result = list(Executor(ListStore(ROWS.values())).run(parse(case["query"])))[-1]
    check_lines(result.rows, case)
    for name, n in case.get("left_out", {}).items():
        assert any(note.startswith(f"{name}: {n} value") for note in result.notes), result.notes


@pytest.mark.parametrize("case", PER_CASES, ids=[c["query"] for c in PER_CASES])
def test_best_per_group(case):
    result = list(Executor(ListStore(ROWS.values())).run(parse(case["query"])))[-1]
    assert [NAMES[label] for label in result.labels] == case["select"]
