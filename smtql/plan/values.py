"""How values compare (LANGUAGE.md §3): `equal`, `ordered`, `close` and
`contains` are the structural comparisons every engine uses, so the fast
path and the reference evaluator cannot disagree on what `1 = 1.0` means.
What a literal as written means is smtql.language.literals."""

from __future__ import annotations

import math
import operator
from datetime import date, datetime

from ..params.model import MISSING, is_list  # noqa: F401 - the values every engine compares

# ------------------------------------------------------------------ comparing values

def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def equal(a, b) -> bool:
    """Structural equality: 1 = 1.0, booleans equal only booleans, tuples
    equal lists, containers element by element."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is bool and type(b) is bool and a == b
    if is_number(a) and is_number(b):
        return a == b
    if is_list(a) or is_list(b):
        return (is_list(a) and is_list(b) and len(a) == len(b)
                and all(equal(x, y) for x, y in zip(a, b)))
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys()
                and all(equal(a[k], b[k]) for k in a))
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, datetime) != isinstance(b, datetime):
        return False  # a date is not a datetime, though Python says so
    return type(a) is type(b) and a == b


ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def ordered(op: str, a, b) -> bool:
    """`a op b` for <, <=, >, >=: numbers and strings as usual; a non-empty
    list holds when every element holds (against a scalar, or against a list
    of the same length); anything else is false, never an error."""
    if is_list(a):
        if not a:
            return False
        if is_list(b):
            return len(a) == len(b) and all(ordered(op, x, y) for x, y in zip(a, b))
        return all(ordered(op, x, b) for x in a)
    if is_list(b):
        return False
    return _scalar_holds(ORDER_OPS[op], a, b)


def _scalar_holds(compare, a, b) -> bool:
    if is_number(a) and is_number(b):
        return compare(a, b)
    if isinstance(a, str) and isinstance(b, str):
        return compare(a, b)
    if isinstance(a, date) and isinstance(b, date) and (
            isinstance(a, datetime) == isinstance(b, datetime)):
        try:
            return compare(a, b)
        except TypeError:  # naive against aware
            return False
    return False


def close(a, b) -> bool:
    """`~=`: NumPy's isclose (rtol 1e-5, atol 1e-8) on numbers, element-wise
    on lists of the same length (a list against a number: every element)."""
    if is_list(a):
        if not a:
            return False
        if is_list(b):
            return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
        return all(close(x, b) for x in a)
    if not (is_number(a) and is_number(b)):
        return False
    if a == b:
        return True
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= 1e-8 + 1e-5 * abs(b)


def contains(a, b) -> bool:
    """A list containing b, or a string containing the string b."""
    if is_list(a):
        return any(equal(x, b) for x in a)
    if isinstance(a, str):
        return isinstance(b, str) and b in a
    return False


class Descending:
    """Reverses the order of a sort key, for `desc`."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __lt__(self, other):
        return other.key < self.key

    def __eq__(self, other):
        return self.key == other.key


def sort_key(v):
    """Mixed values sort as numbers, then strings, then the rest (by their
    text); a missing value sorts after everything."""
    if v is MISSING:
        return (3, 0, "")
    if is_number(v):
        return (0, v if not (isinstance(v, float) and math.isnan(v)) else math.inf, "")
    if isinstance(v, str):
        return (1, 0, v)
    if isinstance(v, datetime):
        return (0, v.timestamp(), "")
    return (2, 0, repr(v))


# ------------------------------------------------------------------ grouping

def group_token(v):
    """A hashable stand-in for a value such that two values have the same
    token exactly when they are `equal`: 1 and 1.0 group together, booleans
    apart from numbers, lists and dicts as wholes; NaN with NaN."""
    if v is MISSING:
        return ("missing",)
    if isinstance(v, bool):
        return ("b", v)
    if is_number(v):
        return ("nan",) if v != v else ("n", v)
    if is_list(v):
        return ("l", tuple(group_token(x) for x in v))
    if isinstance(v, dict):
        return ("d", frozenset((group_token(k), group_token(x)) for k, x in v.items()))
    if v is None:
        return ("null",)
    if isinstance(v, str):
        return ("s", v)
    if isinstance(v, datetime):
        return ("t", v)
    return (type(v).__name__, repr(v))


def aggregable_number(v) -> bool:
    """What mean, median, std and sum take: a number, not a boolean, not NaN."""
    return is_number(v) and v == v


def comparable(v) -> bool:
    """What min and max take: numbers (not NaN), text and timestamps."""
    return aggregable_number(v) or isinstance(v, (str, datetime))
