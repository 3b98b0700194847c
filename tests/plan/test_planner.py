"""The planner's split: what goes to the store, what stays in Python.

Golden cases, as filter text → (pre-filter, post-filter) for a store that
pushes down everything but `matches` (the SQL backend's rule for these
predicates), plus the laws every split obeys: the pre-filter never drops a
record the filter keeps, `pre and post` means the filter, and the written
order of the operands changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtql.language import ast, parser

from smtql.plan import planner
from smtql.language.bind import Context, bind_filter
from smtql.plan.evaluate import compile_filter
from smtql.stores.rows import Row
from smtql.language.unparse import filter_text

UTC = timezone.utc
NOW = datetime(2021, 10, 1, tzinfo=UTC)


class SqlLike:
    """Pushes every predicate except regular expressions (as the SQL store)."""

    pushes_down = True
    limits_scan = False

    def pushable(self, atom):
        return not (isinstance(atom, ast.Compare) and atom.op == "matches")


def bound(text: str):
    program = parser.parse(text)
    ctx = Context(now=NOW, source=program.source)
    return bind_filter(program.statements[-1].filter, ctx)


def split(text: str):
    p = planner.plan(bound(text), SqlLike())
    return filter_text(p.pre), filter_text(p.post)


GOLDEN = [
    # everything exact: all in the store
    ("tag finished and after 2020-09-12",
     ("tag finished and after 2020-09-12", "all")),
    ("status crashed or stdout contains \"Traceback\"",
     ('stdout_stderr contains "Traceback" or status crashed', "all")),
    ("not (tag a or outcome = \"ok\")",
     ('not (outcome = "ok" or tag a)', "all")),
    ("optimizer.lr = 0.01 and optimizer.model.kind = \"gru\"",
     ('optimizer.lr = 0.01 and optimizer.model.kind = "gru"', "all")),
    # a top-level and: the exact operands go down, the rest stays up
    ("tag finished and reason matches \"^lr\"",
     ("tag finished", 'reason matches "^lr"')),
    # or with a Python-only operand: nothing narrows
    ("tag finished or reason matches \"^lr\"",
     ("all", 'reason matches "^lr" or tag finished')),
    # or where every operand narrows: the or of the narrowings
    ("(tag a and reason matches \"x\") or (tag b and reason matches \"y\")",
     ("tag a or tag b",
      '(reason matches "x" and tag a) or (reason matches "y" and tag b)')),
    # not over an and with a Python-only part: no narrowing (not S(f) = all)
    ("not (tag a and reason matches \"x\")",
     ("all", 'not (reason matches "x" and tag a)')),
    # not over an or with a Python-only part: not N is a sound narrowing
    ("not (tag a or reason matches \"x\")",
     ("not tag a", 'not (reason matches "x" or tag a)')),
    ("all", ("all", "all")),
]


@pytest.mark.parametrize("text,expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_splits(text, expected):
    assert split(text) == expected


def test_a_store_without_pushdown_gets_everything_as_post_filter():
    p = planner.plan(bound("tag a and b = 1"), None)
    assert isinstance(p.pre, ast.All) and p.post == p.filter


def test_fields_and_limit_hints():
    class Counting(SqlLike):
        limits_scan = True

        def count(self, plan):
            return 0
    p = planner.plan(bound("tag a and reason matches \"x\""), Counting(), fields={"outcome"},
                     limit=("latest", 3))
    assert p.fields == {"label", "timestamp", "outcome", "reason"}
    assert p.limit is None  # a post-filter may drop any of the newest
    p = planner.plan(bound("tag a and x.y = 1"), Counting(), fields=(), limit=("latest", 3))
    assert p.fields == {"label", "timestamp"} and p.limit == ("latest", 3)
    p = planner.plan(bound("tag a"), SqlLike(), limit=("latest", 3))
    assert p.limit is None  # the store cannot count what it leaves out


# ------------------------------------------------------------------ laws

ATOMS = ["tag a", "tag b", 'reason matches "x"', 'reason matches "y"', "p = 1", "p = 2",
         'outcome = "ok"', "after 2020-10-01"]


def _rows():
    out = []
    for i in range(64):
        out.append(Row(label=f"r{i}", timestamp=datetime(2020, 9 + i % 3, 1 + i % 20, tzinfo=UTC),
                       tags=frozenset(t for j, t in enumerate("ab") if i >> j & 1),
                       reason="x" if i >> 2 & 1 else "y" if i >> 3 & 1 else "",
                       outcome="ok" if i >> 4 & 1 else "",
                       params={"p": 1 + (i >> 5 & 1)}))
    return out


ROWS = _rows()

texts = st.recursive(
    st.sampled_from(ATOMS),
    lambda c: st.one_of(st.tuples(c, c).map(lambda t: f"({t[0]}) and ({t[1]})"),
                        st.tuples(c, c).map(lambda t: f"({t[0]}) or ({t[1]})"),
                        c.map(lambda t: f"not ({t})")),
    max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_pre_never_drops_an_answer_and_pre_and_post_is_the_filter(text):
    f = bound(text)
    p = planner.plan(f, SqlLike())
    whole, pre, post = compile_filter(f), compile_filter(p.pre), compile_filter(p.post)
    for row in ROWS:
        assert whole(row) == (pre(row) and post(row)), (text, row)
        if whole(row):
            assert pre(row)
    assert "matches" not in filter_text(p.pre)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(ATOMS), min_size=2, max_size=5, unique=True), st.randoms())
def test_order_written_changes_nothing(atoms, rnd):
    shuffled = list(atoms)
    rnd.shuffle(shuffled)
    for word in ("and", "or"):
        a = planner.plan(bound(f" {word} ".join(f"({x})" for x in atoms)), SqlLike())
        b = planner.plan(bound(f" {word} ".join(f"({x})" for x in shuffled)), SqlLike())
        assert (a.pre, a.post) == (b.pre, b.post)
