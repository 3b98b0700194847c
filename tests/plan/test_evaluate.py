"""The meaning of filters (LANGUAGE.md §2–§3) on hand-built rows.

The bulk is table-driven: tests/data/semantics/filters.yaml lists, for each
filter, exactly which records of its section it selects. Each filter runs
through the whole front half of the pipeline (parse → bind with a fixed "now"
→ evaluate) on rows made by `smtql.stores.rows.from_record` from Record-like
objects. The tests below the table cover what YAML cannot say: tuples,
`match`, `let`, variables set from Python or from `--set`, and the promise
that no comparison ever raises.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from smtql.language import ast
from smtql.language.bind import Context, bind_filter, bind_statement
from smtql.errors import QueryError
from smtql.plan.evaluate import compile_filter, evaluate
from smtql.language.parser import parse, parse_value
from smtql.stores.rows import Row, from_record

UTC = timezone.utc
TABLE = yaml.safe_load((Path(__file__).parents[1] / "data" / "semantics" / "filters.yaml").read_text("utf-8"))
NOW = TABLE["now"]
DEFAULT_TS = datetime(2020, 11, 10, 12, 0, tzinfo=UTC)


def record_like(name: str, spec: dict) -> SimpleNamespace:
    """An object shaped like sumatra.records.Record, fields left out stored
    as null."""
    spec = spec or {}
    return SimpleNamespace(
        label=spec.get("label", name),
        timestamp=spec.get("timestamp", DEFAULT_TS),
        tags=set(spec.get("tags", ())),
        reason=spec.get("reason"),
        outcome=spec.get("outcome"),
        main_file=spec.get("main_file"),
        version=spec.get("version"),
        user=spec.get("user"),
        script_arguments=spec.get("script_arguments"),
        stdout_stderr=spec.get("stdout_stderr"),
        duration=spec.get("duration"),
        output_data=[SimpleNamespace(path=p) for p in spec.get("outputpath", ())],
        executable=SimpleNamespace(path=spec["executable"]) if spec.get("executable") else None,
        repository=SimpleNamespace(url=spec["repository"]) if spec.get("repository") else None,
        parameters=spec.get("params", {}),
    )


def make_rows(records: dict) -> dict[str, Row]:
    return {name: from_record(record_like(name, spec)) for name, spec in records.items()}


def select(text: str, rows: dict[str, Row], now=NOW, variables=None, refs=None) -> list[str]:
    """The names of the rows the (last statement's) filter selects, after
    binding every statement of the program in one context."""
    program = parse(text)
    ctx = Context(variables=dict(variables or {}), now=now, source=program.source)
    by_label = {row.label: row for row in (refs or rows).values()}
    ctx.resolve_ref = lambda ref: by_label[ref.text]
    for stmt in program.statements[:-1]:
        bind_statement(stmt, ctx)
    bound = bind_filter(program.statements[-1].filter, ctx)
    predicate = compile_filter(bound)
    chosen = [name for name, row in rows.items() if predicate(row)]
    # evaluate() and a compiled predicate are the same function
    assert chosen == [name for name, row in rows.items() if evaluate(bound, row)]
    return chosen


def _cases():
    for section in TABLE["sections"]:
        for case in section["cases"]:
            yield pytest.param(section["name"], case, id=f"{section['name']}: {case['filter']}")


_SECTION_ROWS = {s["name"]: make_rows(s["records"]) for s in TABLE["sections"]}


@pytest.mark.parametrize("section,case", list(_cases()))
def test_filter_table(section, case):
    rows = _SECTION_ROWS[section]
    assert sorted(select(case["filter"], rows)) == sorted(case["match"]), case.get("why", "")


def test_table_is_discriminating():
    """Every section has cases that select some but not all records, and
    every record is selected by some case and rejected by another: no
    section can pass with a constant evaluator."""
    for section in TABLE["sections"]:
        names = set(section["records"])
        chosen = [set(c["match"]) for c in section["cases"]]
        assert any(c and c != names for c in chosen)
        for name in names:
            assert any(name in c for c in chosen), (section["name"], name)
            assert any(name not in c for c in chosen), (section["name"], name)


# ------------------------------------------------------------------ tuples and Python-built rows

def row(label="20201110-120000_aaaaaa", ts=DEFAULT_TS, **kw) -> Row:
    return Row(label=label, timestamp=ts, **kw)


def test_tuples_equal_lists():
    rows = {"t": row(params={"betas": (0.9, 0.999), "nested": ((1, 2), (3,))}),
            "l": row(params={"betas": [0.9, 0.999], "nested": [[1, 2], [3]]}),
            "other": row(params={"betas": (0.8, 0.99), "nested": ((1, 2),)})}
    assert select("betas = [0.9, 0.999]", rows) == ["t", "l"]
    assert select("nested = [[1, 2], [3]]", rows) == ["t", "l"]
    assert select("betas.1 = 0.999", rows) == ["t", "l"]
    assert select("betas < [1, 1]", rows) == ["t", "l", "other"]
    assert select("betas contains 0.99", rows) == ["other"]
    assert select("betas ~= [0.9, 0.99900001]", rows) == ["t", "l"]


def test_a_null_text_field_reads_as_empty_text():
    rec = record_like("x", {})
    r = from_record(rec)
    assert (r.reason, r.outcome, r.main_file, r.user, r.stdout_stderr) == ("", "", "", "", "")
    assert r.duration is None and r.executable is None and r.repository is None
    rows = {"x": r}
    assert select('outcome != "ok"', rows) == ["x"]
    assert select('reason = ""', rows) == ["x"]
    assert select('reason contains ""', rows) == ["x"]
    assert select('executable != "ok"', rows) == []


def test_naive_record_timestamps_are_utc():
    r = from_record(record_like("x", {"timestamp": datetime(2020, 11, 1, 0, 30)}))
    assert r.timestamp == datetime(2020, 11, 1, 0, 30, tzinfo=UTC)
    assert select("on 2020-11-01", {"x": r}) == ["x"]


def test_no_comparison_raises_on_mixed_types():
    """Mixed types are false, never an error: every operator against every
    kind of stored value."""
    stored = [1, 1.5, -2, True, False, None, "a", "", [], [1, "a"], [[1]], (1, 2), {"k": 1},
              date(2020, 1, 1), datetime(2020, 1, 1, tzinfo=UTC), float("nan"), float("inf")]
    literals = ["1", "1.5", "true", "null", '"a"', '""', "[]", "[1, \"a\"]", "[[1]]", "2020-01-01",
                "-3"]
    ops = ["=", "!=", "<", "<=", ">", ">=", "~=", "contains"]
    rows = {f"v{i}": row(params={"v": v}) for i, v in enumerate(stored)}
    for op, literal in itertools.product(ops, literals):
        select(f"v {op} {literal}", rows)  # must not raise
    for text_op in ("startswith", "endswith", "matches"):
        select(f'v {text_op} "a"', rows)
    assert select('v in [1, "a", null]', rows) == ["v0", "v5", "v6"]


def test_nan_equals_nothing_and_sorts_nowhere():
    rows = {"nan": row(params={"x": float("nan")}), "one": row(params={"x": 1.0})}
    assert select("x = 1", rows) == ["one"]
    assert select("x < 2", rows) == ["one"]
    assert select("x > 0", rows) == ["one"]
    assert select("x != 1", rows) == ["nan"]


# ------------------------------------------------------------------ match

MATCH_ROWS = {
    "ref": row("R", params={"lr": 0.01, "betas": (0.9, 0.99), "seed": 1, "kind": "gru"}),
    "same": row("S", params={"lr": 0.01, "betas": [0.9, 0.99], "seed": 2, "kind": "gru"}),
    "float": row("F", params={"lr": 1e-2, "betas": [0.9, 0.99], "seed": 1.0, "kind": "lstm"}),
    "other": row("O", params={"lr": 0.1, "betas": [0.9, 0.99], "seed": 1}),
    "none": row("N", params={}),
    "nan": row("NAN", params={"lr": float("nan"), "seed": 1}),
}


def test_match_on_keys_includes_the_reference():
    assert select("match R on lr", MATCH_ROWS) == ["ref", "same", "float"]
    assert select("match R on lr, seed", MATCH_ROWS) == ["ref", "float"]
    assert select("match R on betas, kind", MATCH_ROWS) == ["ref", "same"]
    assert select('match "R" on seed', MATCH_ROWS) == ["ref", "float", "other", "nan"]
    assert select("match R on lr and not label = \"R\"", MATCH_ROWS) == ["same", "float"]


def test_match_reference_that_equals_nothing_is_still_included():
    assert select("match NAN on lr", MATCH_ROWS) == ["nan"]


def test_match_with_a_key_the_reference_lacks_is_an_error():
    with pytest.raises(QueryError, match=r"record O has no parameter kind"):
        select("match O on kind", MATCH_ROWS)


def test_match_ref_from_a_variable():
    assert select("match $r on lr, seed", MATCH_ROWS, variables={"r": "R"}) == ["ref", "float"]
    assert select("match $r on lr, seed", MATCH_ROWS,
                  variables={"r": parse_value("R")}) == ["ref", "float"]


# ------------------------------------------------------------------ let and $variables

VAR_ROWS = {
    "a": row("A", datetime(2020, 9, 12, 0, 0, tzinfo=UTC),
             params={"lr": 0.01, "kind": "gru", "mu": [1, 2], "when": date(2020, 9, 12)},
             tags=frozenset({"_finished_", "figure1"}), duration=30.0),
    "b": row("B", datetime(2020, 9, 12, 18, 0, tzinfo=UTC),
             params={"lr": 0.1, "kind": "lstm", "mu": [3]},
             tags=frozenset({"_crashed_"}), duration=600.0),
    "c": row("C", datetime(2020, 9, 13, 6, 0, tzinfo=UTC),
             params={"lr": "0.01", "kind": "gru"}, tags=frozenset({"figure1"})),
}


def test_let_names_a_filter_for_later_statements():
    assert select("let good = tag finished or tag figure1; $good", VAR_ROWS) == ["a", "c"]
    assert select("let good = tag figure1; not $good", VAR_ROWS) == ["b"]
    assert select("let g = kind = 'gru'; let h = $g and lr = 0.01; $h", VAR_ROWS) == ["a"]
    assert select("let g = kind = 'gru'; $g and $g", VAR_ROWS) == ["a", "c"]


def test_let_binds_relative_dates_against_the_programs_now():
    now = datetime(2020, 9, 14, 12, 0, tzinfo=UTC)
    assert select("let recent = after 2 days ago; $recent", VAR_ROWS, now=now) == ["b", "c"]
    assert select("let recent = after 3 days ago; $recent", VAR_ROWS, now=now) == ["a", "b", "c"]


@pytest.mark.parametrize("text,value,expected", [
    ("lr = $v", 0.01, ["a"]),
    ("lr = $v", "0.01", ["c"]),
    ("lr in [$v, 0.1]", 0.01, ["a", "b"]),
    ("lr < $v", 0.05, ["a"]),
    ("kind = $v", "gru", ["a", "c"]),
    ("kind startswith $v", "l", ["b"]),
    ("kind matches $v", "^g.u$", ["a", "c"]),
    ("mu = $v", [1, 2], ["a"]),
    ("mu = $v", (1, 2), ["a"]),
    ("mu contains $v", 3, ["b"]),
    ("tag $v", "figure1", ["a", "c"]),
    ("tag $v, finished", "figure1", ["a"]),
    ("label = $v", "B", ["b"]),
    ("duration > $v", timedelta(minutes=5), ["b"]),
    ("duration > $v", 60, ["b"]),
    ("duration < $v", "5m", ["a"]),
    ("when = $v", date(2020, 9, 12), ["a"]),
    ("on $v", date(2020, 9, 12), ["a", "b"]),
    ("on $v", datetime(2020, 9, 12, 23, 59), ["a", "b"]),
    ("after $v", "2020-09-12T12:00", ["b", "c"]),
    ("before $v", "2020-09-13", ["a", "b"]),
])
def test_python_values_pass_as_they_are(text, value, expected):
    assert select(text, VAR_ROWS, variables={"v": value}) == expected


def test_naive_python_datetimes_are_utc():
    naive = datetime(2020, 9, 12, 18, 0)
    assert select("after $t", VAR_ROWS, variables={"t": naive}) == ["b", "c"]
    assert select("timestamp = $t", VAR_ROWS, variables={"t": naive}) == ["b"]
    assert select("timestamp <= $t", VAR_ROWS, variables={"t": naive}) == ["a", "b"]
    assert select("timestamp > $t", VAR_ROWS, variables={"t": naive}) == ["c"]
    # the same moment written in another time zone
    plus3 = datetime(2020, 9, 12, 21, 0, tzinfo=timezone(timedelta(hours=3)))
    assert select("timestamp = $t", VAR_ROWS, variables={"t": plus3}) == ["b"]
    assert select("before $t", VAR_ROWS, variables={"t": plus3}) == ["a"]


@pytest.mark.parametrize("text,literal,expected", [
    ("lr = $v", "0.01", ["a"]),          # a number
    ("lr = $v", "'0.01'", ["c"]),        # quoted: text
    ("lr = $v", "1e-2", ["a"]),
    ("kind = $v", "gru", ["a", "c"]),    # a bare word is text
    ("after $v", "2020-09-13", ["c"]),   # a date
    ("on $v", "2020-09", ["a", "b", "c"]),
    ("on $v", "20200912", ["a", "b"]),
    ("after $v", "yesterday", []),
    ("mu = $v", "[1, 2]", ["a"]),
    ("duration > $v", "1m", ["b"]),
    ("duration > $v", "90", ["b"]),
    ("tag $v", "figure1", ["a", "c"]),
    ("tag $v", "'figure1'", ["a", "c"]),
    ("label = $v", "C", ["c"]),
    ("when = $v", "2020-09-12", ["a"]),
])
def test_set_literals_are_read_as_smtql_literals(text, literal, expected):
    now = datetime(2021, 1, 1, tzinfo=UTC)
    assert select(text, VAR_ROWS, now=now, variables={"v": parse_value(literal)}) == expected


def test_an_unset_variable_is_an_error_naming_it():
    with pytest.raises(QueryError) as info:
        select("lr = $learning_rate", VAR_ROWS, variables={"lr": 1})
    assert "$learning_rate" in info.value.message
    assert info.value.column == 6
    with pytest.raises(QueryError, match=r"\$good is not set"):
        select("tag figure1 and $good", VAR_ROWS)
    with pytest.raises(QueryError, match=r"\$t is not set"):
        select("tag $t", VAR_ROWS)
    with pytest.raises(QueryError, match=r"\$d is not set"):
        select("after $d", VAR_ROWS)
    with pytest.raises(QueryError, match=r"\$r is not set"):
        select("match $r on lr", VAR_ROWS)


def test_an_unset_variable_suggests_a_close_name():
    with pytest.raises(QueryError) as info:
        select("lr = $lrr", VAR_ROWS, variables={"lr": 1, "kind": 2})
    assert "$lr" in (info.value.suggestion or "")


def test_a_variable_is_a_filter_or_a_value_not_both():
    with pytest.raises(QueryError, match="is a filter, not a value"):
        select("let g = tag figure1; lr = $g", VAR_ROWS)
    with pytest.raises(QueryError, match="is a value, not a filter"):
        select("$v", VAR_ROWS, variables={"v": 3})


def test_a_filter_from_outside_can_be_a_parsed_filter():
    outside = parse("tag figure1").statements[0].filter
    assert select("$f and lr = 0.01", VAR_ROWS, variables={"f": outside}) == ["a"]


def test_compiled_filters_are_reusable_across_rows():
    program = parse("lr = 0.01 or kind = 'lstm'")
    bound = bind_filter(program.statements[0].filter, Context(now=NOW, source=program.source))
    predicate = compile_filter(bound)
    assert [predicate(r) for r in VAR_ROWS.values()] == [True, True, False]
    assert [predicate(r) for r in VAR_ROWS.values()] == [True, True, False]


def test_bound_filters_hold_only_constants():
    program = parse("after 3 days ago and lr = $v and on today and tag $t")
    ctx = Context(variables={"v": 1, "t": "x"}, now=NOW, source=program.source)
    bound = bind_filter(program.statements[0].filter, ctx)

    def leaves(f):
        if isinstance(f, (ast.And, ast.Or)):
            for i in f.items:
                yield from leaves(i)
        else:
            yield f
    for leaf in leaves(bound):
        if isinstance(leaf, (ast.Compare, ast.TimeRange)):
            value = leaf.value if isinstance(leaf, ast.Compare) else leaf.date
            assert isinstance(value, ast.Const), leaf
        if isinstance(leaf, ast.HasTags):
            assert leaf.tags == ("x",)
