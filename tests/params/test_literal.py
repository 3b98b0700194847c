"""The linear literal reader (smtql/params/literal.py) against the exact one.

Where `read_literal` answers, it must answer what `ast` does: the walk over
literal nodes in parse.py (`_lit`, NTParameterSet's names), and
`ast.literal_eval` on the plain data `repr` writes. Where it is not sure it
must say FALLBACK, never a different value, never an error of its own.
"""

from __future__ import annotations

import ast
import math
import warnings
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smtql.params import parse
from smtql.params import literal
from smtql.params.literal import FALLBACK, read_literal
from support.large import large_set

from .test_paramparse import same

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def exact(text):
    """What parse.py's ast path reads from `text`: (True, value) or (False, None)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = parse._parse_expression(text, "test")
            return True, parse._lit(tree, parse._NT_NAMES, False)
    except (parse.UnreadableParameters, RecursionError):
        return False, None


# ------------------------------------------------------------------ plain data, as repr writes it

keys = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6) | st.integers(-5, 5)
scalars = (st.none() | st.booleans() | st.integers(-10**30, 10**30)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)
           | st.sampled_from(["", "'", '"', "\\", "it's", 'say "hi"', "a\nb", "\t", "\x00",
                              "\x7f\x85\u2028", "日本", "\U0001f600", "True", "1e5",
                              # what the JSON route must not take for structure
                              "a, b", "x: y", "[1]", "{'a': 1}", "(1,)", "(", "}", "None",
                              "null", "NaN", "-Infinity", "\\'", "'\\", '\\"', "\\u005b"]))
values = st.recursive(
    scalars,
    lambda c: (st.lists(c, max_size=5) | st.lists(c, max_size=4).map(tuple)
               | st.dictionaries(keys | st.tuples(st.integers(), st.text(max_size=2)),
                                 c, max_size=5)),
    max_leaves=25)


@SETTINGS
@given(values)
@example({"a": (1,), "b": (), "c": [(1, 2), [], {}], "d": -0.0, "e": 1e300, "f": 5e-324})
@example({"s": "it's \"q\" \\ \n\t\x01\x7f\u2028\U0001f600"})
def test_repr_of_plain_data_is_read_as_literal_eval_reads_it(value):
    text = repr(value)
    got = read_literal(text)
    assert got is not FALLBACK, text  # plain data is the linear reader's to read
    assert same(got, ast.literal_eval(text)), text


def test_names_and_signed_numbers():
    for text, want in [("inf", math.inf), ("-inf", -math.inf), ("pi", math.pi),
                       ("-pi", -math.pi), ("true", True), ("false", False),
                       ("[-0, -0.0, -1e999, 1E5, 10.]", [0, -0.0, -math.inf, 1e5, 10.0])]:
        assert same(read_literal(text), want), text
        assert same(exact(text)[1], want), text
    assert math.isnan(read_literal("-nan")) and math.copysign(1, read_literal("-nan")) == -1


# ------------------------------------------------------------------ any text: the same answer or FALLBACK

SNIPPETS = ["{", "}", "[", "]", "(", ")", ",", ":", " ", "\n", "\t", "'a'", '"b"', "''",
            "'''", "1", "0", "00", "-", "+", "1.5", ".5", "1.", "1e5", "1e", "j", "_", ".",
            "True", "None", "true", "nan", "inf", "pi", "set", "x", "b", "r", "#",
            "\\", "'\\x41'", "'\\''", "'\\q'", "'\\0'", "'\\N{BULLET}'", "'\\U00110000'",
            "'a\\\nb'", "\r", "\x0c", "\x00", "'\ud800'", "1_0", "0x1", "1j", "'é'",
            # for the JSON route: strings holding structure, words JSON knows, numbers it does not
            "'a, b'", "'[x]'", "'{'", "')'", "'True'", "'a:b'", "'x\\\\'", '"it\'s"', "'a\"b'",
            "('a',)", "(1, 'x')", "(1)", "(,)", "-inf", "-nan", "-pi", "1e", "1.e5", "1e+5", "0e0",
            "1-2", "1+2", "e", "E5", "NaN", "null", "Infinity", "-Infinity", "'\\u005b'", "-"]


@SETTINGS
@given(st.lists(st.sampled_from(SNIPPETS), max_size=14))
@example(["{", "'a'", ":", "1", ",", "}"])
@example(["{", "'a'", ":", "}"])
@example(["{", "1", "}"])
@example(["{", "1", ",", "2", "}"])
@example(["(", "1", ")"])
@example(["(", "(", "1", ",", ")", ")"])
@example(["'a'", " ", "'b'"])
@example(["[", "1", ",", ",", "]"])
@example(["[", "1", "]", "\n", "\n", " "])
@example(["[", "1", "]", "\n", " "])
@example(["\n", "[", "1", "]"])
@example(["{", "[", "1", "]", ":", "1", "}"])
@example(["-", "True"])
def test_any_text_is_read_as_ast_reads_it_or_left_to_it(snippets):
    text = "".join(snippets)
    got = read_literal(text)
    if got is FALLBACK:
        return
    ok, want = exact(text)
    assert ok, f"{text!r}: read as {got!r}, but ast refuses it"
    assert same(got, want), text


@SETTINGS
@given(values, st.integers(0, 10**6), st.sampled_from(SNIPPETS))
def test_a_snippet_put_anywhere_in_plain_data_is_never_misread(value, where, snippet):
    text = repr(value)
    where %= len(text) + 1
    text = text[:where] + snippet + text[where:]
    got = read_literal(text)
    if got is not FALLBACK:
        ok, want = exact(text)
        assert ok and same(got, want), text


def json_route(text):
    """read_literal's answer without the token reader: the JSON route's."""
    with mock.patch.object(literal, "_read_tokens", lambda src, max_depth: FALLBACK):
        return read_literal(text)


@SETTINGS
@given(values)
def test_the_json_route_reads_as_literal_eval_reads_or_steps_aside(value):
    text = repr(value)
    got = json_route(text)
    if got is not FALLBACK:
        assert same(got, ast.literal_eval(text)), text


@SETTINGS
@given(st.lists(st.sampled_from(SNIPPETS), max_size=14))
@example(["[", "'a, b'", ",", "'[x]'", ",", "'True'", ",", "True", "]"])
@example(["{", "'a:b'", ":", "('a',)", ",", "'{'", ":", "-inf", "}"])
@example(["[", "1e", "]"])
@example(["[", "-", "inf", "]"])
@example(["(", "1", ")"])
def test_the_json_route_on_any_text_reads_as_ast_or_steps_aside(snippets):
    text = "".join(snippets)
    got = json_route(text)
    if got is not FALLBACK:
        ok, want = exact(text)
        assert ok and same(got, want), text


def test_plain_data_goes_the_json_route():
    value = {"s": "it's \"q\" [x] True \\ \n", "t": ("a", 1, -1.5e-3), "u": (), "v": (1,),
             "b": [True, False, None], "f": [-math.inf, math.pi], "n": {"": [[], {}]},
             "d": {"a, b": 1, "x: y": 2, "[": 3, "\u005b": 4}}
    assert same(json_route(repr(value)), value)


def depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return 1 + max(map(depth, value), default=0)
    return 0


@SETTINGS
@given(values, st.integers(0, 6))
def test_a_value_deeper_than_asked_is_left_to_ast(value, limit):
    got = read_literal(repr(value), limit)
    if depth(value) > limit:
        assert got is FALLBACK, repr(value)
    elif got is FALLBACK:  # only the token reader's count of a tuple key's level
        assert "{(" in repr(value) or ", (" in repr(value), repr(value)
    else:
        assert same(got, ast.literal_eval(repr(value))), repr(value)


def test_deep_nesting_is_left_to_ast():
    assert read_literal("(" * 150 + ")" * 150) == ()  # tuples are never one flat token
    assert read_literal("(" * 151 + ")" * 151) is FALLBACK
    assert exact("(" * 199 + ")" * 199)[0] and not exact("(" * 201 + ")" * 201)[0]


def test_too_long_int_is_left_to_ast():
    # ast refuses ints longer than sys.get_int_max_str_digits() (4300)
    for text in ("[" + "1" * 4400 + "]", "{'a': [" + "1" * 4400 + ", True]}"):
        assert read_literal(text) is FALLBACK and not exact(text)[0]
    assert read_literal("[" + "1" * 4000 + "]") == exact("[" + "1" * 4000 + "]")[1]


# ------------------------------------------------------------------ large sets

def test_a_large_set_is_read_without_ast(monkeypatch):
    value = large_set(3000)
    text = str(value)
    assert len(text) > 1_000_000

    def no_ast(*args, **kwargs):
        raise AssertionError("the large set went through ast.parse")
    monkeypatch.setattr(parse, "_parse_expression", no_ast)
    got = parse.parse_parameter_content("NTParameterSet", text)
    assert same(got, ast.literal_eval(text))


def test_what_is_left_to_ast_still_reads_the_same():
    # a comment and a set make the linear reader step aside; the answer stands
    text = "{'a': {1, 2}, # a comment\n 'b': [1, 2]}"
    assert read_literal(text) is FALLBACK
    assert parse.parse_parameter_content("NTParameterSet", text) == {"a": {1, 2}, "b": [1, 2]}
    with pytest.raises(parse.UnreadableParameters, match="call to f"):
        parse.parse_parameter_content("NTParameterSet", "{'a': f()}")
