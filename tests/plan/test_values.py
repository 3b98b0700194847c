"""smtql.plan.values: reading literals and the structural comparisons (LANGUAGE.md §3)."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

import pytest

from smtql.language import fields
from smtql.language.dates import DateError, Period
from smtql.errors import QueryError
from smtql.language.literals import PARAM, read_literal, unquote
from smtql.plan.values import MISSING, close, contains, equal, ordered, sort_key

UTC = timezone.utc


# ------------------------------------------------------------------ equal

@pytest.mark.parametrize("a,b", [
    (1, 1.0), (0, -0.0), ("a", "a"), ("", ""), (None, None), (True, True), (False, False),
    ((1, 2), [1, 2]), ([1, [2, (3,)]], ((1.0, [2, [3]]),)[0]), ([], ()),
    ({"a": 1, "b": [1]}, {"b": (1,), "a": 1.0}),
    (date(2020, 9, 12), date(2020, 9, 12)),
    (datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)),
])
def test_equal(a, b):
    assert equal(a, b) and equal(b, a)


@pytest.mark.parametrize("a,b", [
    (True, 1), (False, 0), (1.0, True), ([True], [1]),
    ("1", 1), (None, 0), (None, ""), (None, False), ([], None),
    ([1, 2], [1, 2, 3]), ([1, 2], (2, 1)), ([1], 1), ("ab", ["a", "b"]),
    ({"a": 1}, {"a": 1, "b": 2}), ({"a": 1}, [("a", 1)]),
    (date(2020, 1, 1), datetime(2020, 1, 1)),
    (date(2020, 1, 1), "2020-01-01"),
    (float("nan"), float("nan")),
])
def test_not_equal(a, b):
    assert not equal(a, b) and not equal(b, a)


def test_missing_equals_only_itself_structurally():
    assert not equal(MISSING, None)
    assert not equal(MISSING, 0)
    assert not MISSING  # falsy, and a singleton
    assert type(MISSING)() is MISSING


# ------------------------------------------------------------------ ordered

@pytest.mark.parametrize("op,a,b,expected", [
    ("<", 1, 2, True), ("<", 2, 2, False), ("<=", 2, 2.0, True), (">", 2.5, 2, True),
    (">=", -1, 0, False),
    ("<", "B", "a", True), ("<", "z", "é", True), ("<", "a", "ab", True), (">", "", "a", False),
    ("<", "", "a", True),
    ("<", True, 2, False), (">", 1, False, False), ("<", False, True, False),
    ("<", 1, "2", False), (">", "2", 1, False), ("<", None, 1, False), ("<", 1, None, False),
    ("<", [1, 2], 3, True), ("<", [1, 3], 3, False), ("<", (1, 2), 3, True),
    (">=", [3, 3], 3, True), ("<", [], 3, False), (">", [], -1, False),
    ("<", [1, 2], [2, 3], True), ("<", [1, 4], [2, 3], False), ("<", [1, 2], [2, 3, 4], False),
    ("<", [], [], False), ("<", 1, [2], False), ("<", [1, "a"], 2, False),
    ("<", [[1, 2], [3]], 4, True), ("<", [[1, 2], [5]], 4, False),
    ("<", date(2020, 1, 1), date(2020, 1, 2), True),
    ("<", date(2020, 1, 1), datetime(2020, 1, 2, tzinfo=UTC), False),
    ("<", datetime(2020, 1, 1), datetime(2020, 1, 2, tzinfo=UTC), False),  # naive vs aware
    ("<", float("nan"), 1, False), (">", float("nan"), 1, False),
    ("<", {"a": 1}, {"a": 2}, False),
])
def test_ordered(op, a, b, expected):
    assert ordered(op, a, b) is expected


# ------------------------------------------------------------------ close

@pytest.mark.parametrize("a,b,expected", [
    (1.0, 1.0, True), (1, 1.0, True), (1.0, 1.00001, True), (1.0, 1.0001, False),
    (0.0, 1e-8, True), (0.0, 2e-8, False),
    (100, 100.001, True), (100, 100.002, False),
    # not symmetric, like NumPy: the tolerance scales with the right side
    (1.0000100101, 1.0, False),
    (1.0, 1.0000100101, True),
    (float("inf"), float("inf"), True), (float("inf"), 1e308, False),
    (float("nan"), float("nan"), False), (float("nan"), 1, False),
    (True, 1, False), (1, True, False), ("1", 1, False), (None, 0, False),
    ([1, 2], [1, 2.000001], True), ([1, 2], [1, 2.1], False), ([1, 2], [1], False),
    ([1.0, 1.000001], 1, True), ([], [], False), ([], 1, False), (1, [1], False),
    ((1, 2), [1, 2], True),
])
def test_close(a, b, expected):
    assert close(a, b) is expected


def test_close_is_numpys_isclose():
    np = pytest.importorskip("numpy")
    cases = [(1.0, 1.0 + d) for d in (0, 1e-9, 5e-6, 9.9e-6, 1.1e-5, 1e-4)] + \
            [(1e-9, 0.0), (0.0, 1e-9), (1e3, 1e3 + 0.0101), (1e3, 1e3 + 0.0099), (-5.0, -5.00004)]
    for a, b in cases:
        assert close(a, b) is bool(np.isclose(a, b)), (a, b)


# ------------------------------------------------------------------ contains

@pytest.mark.parametrize("a,b,expected", [
    ([1, 2], 2, True), ([1, 2], 2.0, True), ((1, 2), 1, True), ([1, 2], 3, False),
    ([[1], [2]], [2], True), ([[1], [2]], (2,), True), ([[1], [2]], 2, False),
    ([True], 1, False), ([1], True, False),
    ("hello", "ell", True), ("hello", "", True), ("hello", "L", False), ("1", 1, False),
    (5, 5, False), (None, None, False), ({"a": 1}, "a", False),
])
def test_contains(a, b, expected):
    assert contains(a, b) is expected


# ------------------------------------------------------------------ sort_key

def test_sort_key_numbers_then_strings_then_the_rest_then_missing():
    mixed = ["b", 3, MISSING, None, 1.5, "a", [1], True, -2, MISSING]
    ordered_values = sorted(mixed, key=sort_key)
    assert ordered_values[:3] == [-2, 1.5, 3]
    assert ordered_values[3:5] == ["a", "b"]
    assert ordered_values[-2:] == [MISSING, MISSING]
    assert {repr(v) for v in ordered_values[5:8]} == {"None", "[1]", "True"}


def test_sort_key_nan_sorts_after_numbers_but_before_strings():
    values = [float("nan"), 2, "a", -1]
    result = sorted(values, key=sort_key)
    assert result[:2] == [-1, 2]
    assert math.isnan(result[2])
    assert result[3] == "a"


# ------------------------------------------------------------------ reading literals

@pytest.mark.parametrize("kind,text,expected", [
    ("NUMBER", "3", 3), ("NUMBER", "-0.5", -0.5), ("NUMBER", "1e-3", 0.001),
    ("NUMBER", "+2", 2), ("NUMBER", ".5", 0.5),
    ("STRING", "'x'", "x"), ("STRING", '"x y"', "x y"), ("STRING", "'3'", "3"),
    ("TRUE", "true", True), ("FALSE", "False", False), ("NULL", "null", None), ("NULL", "none", None),
    ("DATE", "2020", 2020), ("DATE", "20200912", 20200912),
    ("DATE", "2020-09-12", date(2020, 9, 12)),
    ("DATE", "2020-09", "2020-09"),
    ("LABEL", "20201119-075320_7b84e7", "20201119-075320_7b84e7"),
])
def test_read_literal_for_a_parameter(kind, text, expected):
    value = read_literal(kind, text, PARAM)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("kind,text", [("DURATION", "1h"), ("TODAY", "today")])
def test_read_literal_refuses_durations_and_relative_dates_for_a_parameter(kind, text):
    with pytest.raises(QueryError):
        read_literal(kind, text, PARAM)


def test_read_literal_for_a_text_field_keeps_the_text_written():
    for kind, text in (("NUMBER", "3"), ("DATE", "2020-09-12"), ("LABEL", "20201119-075320"),
                       ("DURATION", "1h"), ("TRUE", "true")):
        assert read_literal(kind, text, fields.TEXT) == text
    assert read_literal("STRING", "'a\\'b'", fields.TEXT) == "a'b"
    assert read_literal("NULL", "null", fields.TEXT) is None


def test_read_literal_for_time():
    period = read_literal("DATE", "2020-09", fields.TIME)
    assert isinstance(period, Period)
    assert period.start == datetime(2020, 9, 1, tzinfo=UTC)
    assert period.end == datetime(2020, 10, 1, tzinfo=UTC)
    assert read_literal("STRING", "'2020-09-12'", fields.TIME).end == datetime(2020, 9, 13, tzinfo=UTC)
    with pytest.raises(DateError):
        read_literal("NUMBER", "5", fields.TIME)
    with pytest.raises(DateError):
        read_literal("STRING", "'last week'", fields.TIME)


@pytest.mark.parametrize("kind,text,seconds", [
    ("DURATION", "90s", 90), ("DURATION", "1h30m", 5400), ("NUMBER", "42", 42),
    ("NUMBER", "1.5", 1.5), ("STRING", "'2d'", 172800), ("STRING", "'60'", 60), ("DATE", "2020", 2020),
])
def test_read_literal_for_duration(kind, text, seconds):
    assert read_literal(kind, text, fields.DURATION) == seconds


def test_read_literal_for_duration_refuses_other_text():
    with pytest.raises(DateError):
        read_literal("STRING", "'soon'", fields.DURATION)
    with pytest.raises(DateError):
        read_literal("TRUE", "true", fields.DURATION)


def test_read_literal_for_count():
    assert read_literal("NUMBER", "3", fields.COUNT) == 3
    with pytest.raises(QueryError):
        read_literal("STRING", "'three'", fields.COUNT)


@pytest.mark.parametrize("text,expected", [
    ("'abc'", "abc"), ('"abc"', "abc"), ("''", ""),
    (r"'a\'b'", "a'b"), (r'"a\"b"', 'a"b'), (r"'a\\b'", "a\\b"),
    (r"'\n\t\r'", "\n\t\r"),
    (r"'\d+\.\w'", r"\d+\.\w"),  # other backslashes stay, so regexes read naturally
    ("'μtilde é'", "μtilde é"),
])
def test_unquote(text, expected):
    assert unquote(text) == expected
