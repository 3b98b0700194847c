"""smtql.language.bind: variables, relative dates and `match` made concrete before
planning; what comes out holds only constants."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from smtql.language import ast
from smtql.language.bind import (Context, bind_count, bind_filter, bind_ref, bind_statement, bind_value,
                        bind_word, is_filter)
from smtql.language.dates import Period
from smtql.errors import QueryError
from smtql.language.parser import parse, parse_value
from smtql.stores.rows import Row

UTC = timezone.utc
NOW = datetime(2021, 3, 15, 12, 0, tzinfo=UTC)


def ctx_for(text: str, **variables) -> tuple[ast.Program, Context]:
    program = parse(text)
    return program, Context(variables=variables, now=NOW, source=program.source)


def bound_filter(text: str, **variables):
    program, ctx = ctx_for(text, **variables)
    return bind_filter(program.statements[0].filter, ctx)


def test_relative_dates_are_read_against_now():
    f = bound_filter("after 3 days ago")
    assert isinstance(f, ast.TimeRange) and f.op == ">="
    assert f.date.value.start == f.date.value.end == datetime(2021, 3, 12, 12, tzinfo=UTC)
    f = bound_filter("timestamp < yesterday")
    assert f.value.value.start == datetime(2021, 3, 14, tzinfo=UTC)


def test_on_an_instant_is_its_utc_day():
    f = bound_filter("on 3 days ago")
    assert (f.date.value.start, f.date.value.end) == (datetime(2021, 3, 12, tzinfo=UTC),
                                                       datetime(2021, 3, 13, tzinfo=UTC))
    f = bound_filter("on $t", t=datetime(2020, 5, 5, 17, 45))
    assert (f.date.value.start, f.date.value.end) == (datetime(2020, 5, 5, tzinfo=UTC),
                                                       datetime(2020, 5, 6, tzinfo=UTC))
    # `after` keeps the instant
    f = bound_filter("after $t", t=datetime(2020, 5, 5, 17, 45))
    assert f.date.value.start == f.date.value.end == datetime(2020, 5, 5, 17, 45, tzinfo=UTC)


def test_between_is_after_and_before():
    f = bound_filter("between 2020-09 and 2020-11")
    assert isinstance(f, ast.And)
    assert [(i.op, i.date.value.start.month) for i in f.items] == [(">=", 9), ("<", 11)]


def test_values_are_read_for_the_kind_of_key():
    assert bound_filter("seed = 2020").value.value == 2020
    assert bound_filter("label = 2020").value.value == "2020"
    assert isinstance(bound_filter("timestamp = 2020").value.value, Period)
    assert bound_filter("duration > 2020").value.value == 2020.0
    assert bound_filter("duration > 1h").value.value == 3600.0
    assert bound_filter("d = 2020-09-12").value.value == date(2020, 9, 12)
    assert bound_filter("x = [1, 'a', [true]]").value.value == (1, "a", (True,))


def test_set_literals_are_read_for_the_kind_of_key_too():
    year = parse_value("2020")
    assert bound_filter("seed = $v", v=year).value.value == 2020
    assert bound_filter("label = $v", v=year).value.value == "2020"
    assert bound_filter("timestamp >= $v", v=year).value.value.end == datetime(2021, 1, 1, tzinfo=UTC)
    assert bound_filter("x = $v", v=parse_value("[1, $w]"), w=parse_value("2")).value.value == (1, 2)


def test_python_values_for_durations():
    from datetime import timedelta
    assert bound_filter("duration > $d", d=timedelta(minutes=2)).value.value == 120.0
    assert bound_filter("duration > $d", d="2m").value.value == 120.0
    assert bound_filter("duration > $d", d=90).value.value == 90
    with pytest.raises(QueryError, match="not a duration"):
        bound_filter("duration > $d", d="soon")


def test_python_lists_become_tuples_with_their_items_read():
    f = bound_filter("timestamp in [$a, $b]", a="2020-09", b=datetime(2020, 1, 1))
    assert [p.start for p in f.value.value] == [datetime(2020, 9, 1, tzinfo=UTC),
                                                 datetime(2020, 1, 1, tzinfo=UTC)]
    assert bound_filter("x = $v", v=[1, [2, 3]]).value.value == (1, (2, 3))


@pytest.mark.parametrize("text,variables,message", [
    ("x = $nope", {}, r"\$nope is not set"),
    ("$nope", {}, r"\$nope is not set"),
    ("after $d", {"d": 5}, r"\$d is 5, not a date"),
    ("after $d", {"d": "last week"}, r"'last week' is not a date"),
    ("tag $t", {"t": 1.5}, r"\$t must be a tag"),
    ("tag $t", {"t": None}, r"\$t must be a tag"),
    ("x in [1] and y = $f", {"f": ast.All()}, r"\$f is a filter"),
    ("$v", {"v": "x"}, r"\$v is a value, not a filter"),
    ("x = 3 days ago", {}, r"only `timestamp` compares with"),
    ("x = $v", {"v": parse_value("today")}, r"only `timestamp` compares with"),
    ("label contains $v", {"v": 3}, r"'contains' takes text"),
    ("x matches $v", {"v": "[a"}, r"bad regular expression"),
    ("x matches $v", {"v": 3}, r"bad regular expression"),
])
def test_binding_errors(text, variables, message):
    with pytest.raises(QueryError, match=message):
        bound_filter(text, **variables)


def test_errors_point_at_the_variable():
    program, ctx = ctx_for("tag a and\n  lr = $missing")
    ctx.filename = "q.smtql"
    with pytest.raises(QueryError) as info:
        bind_filter(program.statements[0].filter, ctx)
    err = info.value
    assert (err.line, err.column, err.width) == (2, 8, 8)
    assert err.filename == "q.smtql"
    assert err.render().startswith("q.smtql:2:8: $missing is not set")


def test_bind_word_count_and_ref():
    ctx = Context(variables={"t": "fig", "q": parse_value("'a b'"), "n": parse_value("5"),
                             "m": 7, "neg": -1, "huge": 10 ** 20, "r": "20201119-075320_7b84e7",
                             "l": parse_value("latest"), "s": ast.Ref("earliest")}, now=NOW)
    assert bind_word("plain", ctx, "tag") == "plain"
    assert bind_word(ast.Var("t"), ctx, "tag") == "fig"
    assert bind_word(ast.Var("q"), ctx, "tag") == "a b"
    assert bind_count(3, ctx) == 3 and bind_count(None, ctx) is None
    assert bind_count(ast.Var("n"), ctx) == 5
    assert bind_count(ast.Var("m"), ctx) == 7
    with pytest.raises(QueryError, match="whole number"):
        bind_count(ast.Var("neg"), ctx)
    with pytest.raises(QueryError, match="whole number"):
        bind_count(ast.Var("t"), ctx)
    with pytest.raises(QueryError, match=r"largest count allowed is 4611686018427387904"):
        bind_count(ast.Var("huge"), ctx)  # an error naming the limit, not "all" (issue 16, item 11)
    assert bind_ref(ast.Ref("latest"), ctx) == ast.Ref("latest")
    assert bind_ref(ast.Ref("var", "r"), ctx) == ast.Ref("label", "20201119-075320_7b84e7")
    assert bind_ref(ast.Ref("var", "l"), ctx) == ast.Ref("latest")
    assert bind_ref(ast.Ref("var", "s"), ctx) == ast.Ref("earliest")


def test_match_expands_to_the_references_values():
    ref = Row(label="R", timestamp=NOW, params={"lr": 0.01, "betas": (0.9, 0.99)})
    program, ctx = ctx_for("match R on lr, betas")
    seen = []
    ctx.resolve_ref = lambda r: seen.append(r) or ref
    f = bind_filter(program.statements[0].filter, ctx)
    assert seen == [ast.Ref("label", "R")]
    assert f == ast.Or((
        ast.Compare(ast.Field("label"), "=", ast.Const("R")),
        ast.And((ast.Compare(ast.Param(("lr",)), "=", ast.Const(0.01)),
                 ast.Compare(ast.Param(("betas",)), "=", ast.Const((0.9, 0.99))))),
    ))


def test_let_binds_in_the_context_and_later_statements_see_it():
    program, ctx = ctx_for("let g = tag a and after 2 days ago; count $g and x = 1")
    let = bind_statement(program.statements[0], ctx)
    assert isinstance(let, ast.Let) and is_filter(ctx.variables["g"])
    count = bind_statement(program.statements[1], ctx)
    assert isinstance(count.filter, ast.And)
    assert count.filter.items[0] == ctx.variables["g"]


def test_statements_bind_every_part():
    program, ctx = ctx_for("find tag $t latest $n; explain count x = $v; "
                           "describe $r; keys after $d; describe where tag $t latest $n",
                           t="a", n=parse_value("2"), v=1, r="L1", d="2020")
    find, explain, describe, keys, selection = (bind_statement(s, ctx)
                                                for s in program.statements)
    assert find.filter.tags == ("a",) and find.limit.count == 2
    assert explain.statement.filter.value == ast.Const(1)
    assert describe.refs == (ast.Ref("label", "L1"),)
    assert keys.filter.date.value.start.year == 2020
    assert selection.where.tags == ("a",) and selection.select.limit.count == 2


def test_bind_value_directly():
    ctx = Context(variables={"x": 3}, now=NOW)
    assert bind_value(ast.Const(5), "param", ctx) == 5
    assert bind_value(ast.Var("x"), "param", ctx) == 3
    assert bind_value(ast.Token("NUMBER", "2.5"), "param", ctx) == 2.5
