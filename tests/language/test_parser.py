"""The parser: query → AST and query → error message, from golden files in
tests/data/parser/, plus properties that hold for any text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from smtql.language import ast
from smtql.errors import QueryError, QuerySyntaxError, SmtqlError
from smtql.language.parser import parse, parse_value, split_key
from smtql.language.unparse import filter_text

DATA = Path(__file__).parents[1] / "data" / "parser"


def _ast_cases():
    text = (DATA / "ast.txt").read_text(encoding="utf-8")
    return re.findall(r"^query: (.*)\nast: (.*)$", text, re.M)


def _error_cases():
    text = (DATA / "errors.txt").read_text(encoding="utf-8")
    cases = []
    for block in re.split(r"\n\s*\n", text):
        m = re.match(r"query: (.*)\n((?:\|.*\n?)+)", block.strip() + "\n")
        if m:
            lines = [line[2:] if line.startswith("| ") else line[1:]
                     for line in m.group(2).rstrip("\n").split("\n")]
            cases.append((m.group(1), "\n".join(lines)))
    return cases


@pytest.mark.parametrize("query,expected", _ast_cases())
def test_ast(query, expected):
    assert ast.dump(parse(query)) == expected


@pytest.mark.parametrize("query,expected", _error_cases())
def test_error_message(query, expected):
    with pytest.raises(SmtqlError) as info:
        parse(query)
    assert info.value.render() == expected
    assert info.value.exit_status == 1


def test_golden_files_are_not_empty():
    assert len(_ast_cases()) > 100
    assert len(_error_cases()) > 25


def test_spans_point_at_the_source():
    source = "tag finished and\n  optimizer.lr = 0.01"
    compare = parse(source).statements[0].filter.items[1]
    span = compare.span
    assert (span.line, span.column) == (2, 3)
    assert source[span.start:span.end] == "optimizer.lr = 0.01"
    assert source[compare.value.span.start:compare.value.span.end] == "0.01"


def test_equality_ignores_layout():
    assert parse("tag   finished\nAND after 2020") == parse("TAG finished and AFTER 2020")


def test_error_on_a_later_line_names_it():
    with pytest.raises(QuerySyntaxError) as info:
        parse("count all;\ncount tag x,\n")
    assert info.value.line == 3 or info.value.line == 2
    with pytest.raises(QueryError) as info:
        parse("count all;\n\nafter 2021-02-29")
    err = info.value
    assert (err.line, err.column) == (3, 7)
    assert err.source_line == "after 2021-02-29"


def test_file_name_in_message():
    with pytest.raises(QuerySyntaxError) as info:
        parse("find all\nshow", filename="fig1.smtql")
    assert info.value.render().startswith("fig1.smtql:2:")


@pytest.mark.parametrize("text,segments", [
    ("a.b.c", [("a", False), ("b", False), ("c", False)]),
    ("layers.0.size", [("layers", False), (0, False), ("size", False)]),
    ("`learning-rate`", [("learning-rate", True)]),
    ("a.`b.c`.d", [("a", False), ("b.c", True), ("d", False)]),
    ("μtilde", [("μtilde", False)]),
])
def test_split_key(text, segments):
    assert split_key(text) == segments


@pytest.mark.parametrize("text,expected", [
    ("0.01", ast.Token("NUMBER", "0.01")),
    ("2020-09-12", ast.Token("DATE", "2020-09-12")),
    ('"x y"', ast.Token("STRING", '"x y"')),
    ("gru", ast.Const("gru")),  # a bare word is text
    ("3 days ago", ast.Token("AGO", "3 days")),
])
def test_parse_value(text, expected):
    assert parse_value(text) == expected


def test_parse_value_list():
    value = parse_value("[1, 2]")
    assert isinstance(value, ast.ListOf) and len(value.items) == 2


# ------------------------------------------------------------------ properties

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_raises_only_smtql_errors(text):
    try:
        parse(text)
    except SmtqlError:
        pass


_WORDS = ["tag", "finished", "and", "or", "not", "after", "2020-09-12", "x", "=", "1",
          "(", ")", ",", "show", "label", "order", "by", "latest", "5", '"s"', "[", "]",
          "status", "crashed", "between", "on", "2020-11", "duration", ">", "1h", ";",
          "describe", "diff", "where", "let", "$v", "count", "all", "keys", "in", "~=",
          "exists", "match", "merged", "limit", "explain", "-3.5", "μ.0", "`a-b`"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=12))
def test_token_soup_raises_only_smtql_errors(words):
    try:
        parse(" ".join(words))
    except SmtqlError:
        pass


_PREDICATES = st.sampled_from([
    "tag finished", "tag a, b", "status crashed", "after 2020-09-12", "before 2021",
    "on 2020-11", "x = 1", "optimizer.lr < 0.01", 'reason contains "lr"', "duration > 1h",
    "exists a.b", "all", 'label in ["a", "b"]', "layers.0.size >= 64", "x ~= [1, 2.5]"])
_filters = st.recursive(_PREDICATES, lambda inner: st.one_of(
    st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
    st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
    st.builds(lambda a: f"not ({a})", inner),
), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(_filters)
def test_unparse_round_trips(text):
    """Printing a parsed filter and parsing it again gives the same AST."""
    f = parse(text).statements[0].filter
    assert parse(filter_text(f)).statements[0].filter == f


def test_lark_is_imported_without_regex_which_others_still_get():
    """lark is imported with the third-party `regex` module hidden (it costs
    start-up time, for Unicode categories our grammar has none of); a
    program importing `regex` afterwards gets it."""
    pytest.importorskip("regex")  # lark's optional dependency, installed here
    grammar = Path(__file__).resolve().parents[2] / "smtql" / "language" / "smtql.lark"
    assert "\\p{" not in grammar.read_text("utf-8")
    code = ("import sys, smtql.language.parser as p, lark.utils; "
            "print('regex' in sys.modules, lark.utils._has_regex); "
            "p.parse('count all'); import regex; print(regex.match('a', 'a') is not None)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["False", "False", "True"], proc.stderr


def test_nodes_cannot_change():
    """Nodes are values: equal by their fields (not their span), hashable,
    and set once."""
    import dataclasses
    node = parse("count optimizer.lr = 0.01").statements[0]
    again = parse("count  optimizer.lr  =  0.01").statements[0]
    assert node == again and hash(node) == hash(again) and node.span != again.span
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.filter = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.anything = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        del node.filter
    assert dataclasses.replace(node, filter=None).filter is None
