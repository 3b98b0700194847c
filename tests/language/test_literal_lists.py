"""Lists of strings and numbers as one LITERAL_LIST token (issue 16, item 12:
`label in [...]` with 10^5 labels): the same AST as the rule
`"[" value ("," value)* "]"` builds item by item, spans included, and
errors inside a long list still pointing at the item."""

from __future__ import annotations

import functools
from importlib import resources
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lark import Lark

from smtql.errors import QueryError, QuerySyntaxError
from smtql.language import ast, parser

SETTINGS = settings(max_examples=200, deadline=None)


@functools.lru_cache(maxsize=None)
def item_by_item() -> Lark:
    """The grammar without the LITERAL_LIST alternative: every list read
    item by item, as before the token existed (built as lark_parser builds
    the real one)."""
    grammar = resources.files("smtql.language").joinpath("smtql.lark").read_text(encoding="utf-8")
    without = grammar.replace("    | LITERAL_LIST\n", "")
    assert without != grammar

    def build(callbacks):
        return Lark(without, start=["program", "value_entry"], parser="lalr", lexer="contextual",
                    propagate_positions=True, maybe_placeholders=True, lexer_callbacks=callbacks)
    names = [t.name for t in build({}).terminals if t.name not in parser._WORDY]
    return build({name: parser._whole_word for name in names})


def parse_item_by_item(source: str) -> ast.Program:
    with mock.patch.object(parser, "lark_parser", item_by_item):
        return parser.parse(source)


def spans(node) -> list:
    """Every span in the tree (spans take no part in nodes' equality)."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (tuple, list)):
            stack.extend(n)
        elif isinstance(n, ast.Node) or isinstance(n, ast.Program):
            out.append(getattr(n, "span", None))
            stack.extend(getattr(n, f) for f in n.__dataclass_fields__ if f != "span")
    return out


def outcome(parse, source):
    try:
        program = parse(source)
        return program, spans(program)
    except QueryError as err:  # QuerySyntaxError too
        return (type(err).__name__, err.message, err.line, err.column)



strings = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
                  max_size=8).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')
single_quoted = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n'\\"),
                        max_size=5).map(lambda s: f"'{s}'")
numbers = (st.integers(-10**12, 10**12).map(str)
           | st.floats(allow_nan=False, allow_infinity=False).map(repr)
           | st.sampled_from(["2020", "20200101", "1.", ".5", "+5", "-0", "1e5", "1E-3", "0007",
                              "2020.5", "12345678", "123456789", "1234e5", "+2020", "00"]))
items = strings | single_quoted | numbers
blanks = st.sampled_from(["", " ", "  ", "\n", "\t", " \n  "])


@st.composite
def list_texts(draw):
    values = draw(st.lists(items, max_size=8))
    parts = [draw(blanks) + v + draw(blanks) for v in values]
    return "[" + draw(blanks) + ",".join(parts) + "]"


KEYS = ["label", "seed", "lr", "reason", "timestamp", "duration", "tags", "a.b"]


@SETTINGS
@given(st.sampled_from(KEYS), st.sampled_from(["in", "=", "!="]), list_texts())
@example("label", "in", '["20210923-145343_4bcb6b", "a"]')
@example("seed", "in", "[1, 2.5, 2020, 20200101, +3, .5, 1.]")
@example("timestamp", "in", "[2020, 20200101]")
@example("reason", "in", "[\n  'a',\n  \"b\\\"c\"\n]")
@example("duration", "in", "[1, 2, 'x']")
def test_a_literal_list_reads_as_item_by_item(key, op, text):
    source = f"{key} {op} {text} and all"
    assert outcome(parser.parse, source) == outcome(parse_item_by_item, source), source


@SETTINGS
@given(list_texts(), blanks)
def test_the_items_are_the_tokens_lark_makes(text, before):
    source = "x in" + before + text
    token = next(parser.lark_parser().parse(source, start="program").find_pred(
        lambda t: t.data == "list")).children[0]
    assert token.type == "LITERAL_LIST"
    got = [(i.kind, i.text, i.span) for i in parser.literal_list_items(token, source)]
    items = next(item_by_item().parse(source, start="program").find_pred(
        lambda t: t.data == "list")).children
    want = [("NUMBER" if t.type == "INT" else t.type, str(t), parser._span_of(t))
            for t in items if t is not None]
    assert got == want, source


def test_a_literal_list_is_one_token():
    source = 'label in ["a", 1, 2020]'
    types = [t.type for t in parser.lark_parser().lex(source)]
    assert types == ["KEY", "IN", "LITERAL_LIST"]
    # not a list of literals: item by item
    types = [t.type for t in parser.lark_parser().lex('label in ["a", $x]')]
    assert "LITERAL_LIST" not in types and "LSQB" in types


def long_list(n: int, bad: str | None = None, at: int = 0, per_line: int = 0) -> tuple[str, int]:
    """`label in [...]` with n labels, `bad` in place of item `at`; the
    offset of that item in the program."""
    labels = [f'"20210923-1453{i % 60:02d}_{i:06x}"' for i in range(n)]
    if bad is not None:
        labels[at] = bad
    sep = [",\n  " if per_line and (i + 1) % per_line == 0 else ", " for i in range(n)]
    body = "".join(label + s for label, s in zip(labels, sep))[:-len(sep[-1])]
    source = "label in [" + body + "]"
    return source, source.index(labels[at]) if bad is not None else -1


def where(source: str, offset: int) -> tuple[int, int]:
    """(line, column) of an offset, 1-based."""
    return source.count("\n", 0, offset) + 1, offset - (source.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize("per_line", [0, 7])
def test_an_error_inside_a_long_list_points_at_the_item(per_line):
    n, at = 100_000, 77_777
    # a value the key cannot take: the item's own span
    items = [str(i) for i in range(n)]
    items[at] = '"1.5 hours"'
    sep = [",\n  " if per_line and (i + 1) % per_line == 0 else ", " for i in range(n)]
    source = "duration in [" + "".join(i + s for i, s in zip(items, sep)).rstrip(", \n") + "]"
    offset = source.index('"1.5 hours"')
    with pytest.raises(QueryError) as err:
        parser.parse(source)
    assert "is not a duration" in err.value.message
    assert (err.value.line, err.value.column) == where(source, offset)
    # a syntax error in the list (two items without a comma): read item by
    # item, pointing at the second
    source, offset = long_list(n, '"a" "b"', at, per_line)
    with pytest.raises(QuerySyntaxError) as err:
        parser.parse(source)
    assert (err.value.line, err.value.column) == where(source, offset + len('"a" '))


def test_a_long_list_is_the_same_program(monkeypatch):
    source, _ = long_list(20_000, per_line=9)
    assert outcome(parser.parse, source) == outcome(parse_item_by_item, source)
