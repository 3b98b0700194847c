"""What smtql's literals mean and how values compare (LANGUAGE.md §3).

Two jobs, both pure: `read_literal` turns a literal as written into the value
its comparison needs (the same `2020` is a year after `timestamp >`, a number
after `seed =`); `equal`, `ordered`, `close` and `contains` are the structural
comparisons every engine uses, so the fast path and the reference evaluator
cannot disagree on what `1 = 1.0` means.
"""

from __future__ import annotations

import math
import operator
from datetime import date, datetime

from ..language import dates, fields
from ..errors import QueryError

PARAM = "param"  # the target kind of a parameter key; fields use fields.KIND


class Missing:
    """A parameter the record does not have: no comparison holds for it."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING = Missing()


# ------------------------------------------------------------------ reading literals

def unquote(text: str) -> str:
    """The content of a quoted string token: \\\\, \\", \\', \\n, \\t, \\r are
    escapes; any other backslash stays, so regexes read naturally."""
    body, out, i = text[1:-1], [], 0
    escapes = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in escapes:
            out.append(escapes[body[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return float(text)


def read_literal(kind: str, text: str, target: str):
    """The value of a literal token of `kind` written as `text`, compared
    with a key of kind `target` (a fields.* kind or PARAM)."""
    if kind == "STRING":
        text, kind = unquote(text), "TEXT"
    if kind == "NULL":
        return None
    if target == fields.TIME:
        return _read_time(kind, text)
    if target == fields.DURATION:
        return _read_duration(kind, text)
    if target == fields.COUNT:
        return _read_count(kind, text)
    if target in (fields.TEXT, fields.PATHS, fields.TAGS):
        return text  # text fields read any literal as the text written
    return _read_param_value(kind, text)


def _read_time(kind, text):
    if kind in ("DATE", "TEXT"):
        return dates.parse_date(text)
    raise dates.DateError(f"'{text}' is not a date (write 2020-09-12, 2020-09 or 2020)")


def _read_duration(kind, text):
    if kind == "DURATION" or (kind == "TEXT" and text and not _is_number(text)):
        return dates.parse_duration(text)
    if kind in ("NUMBER", "DATE", "TEXT") and _is_number(text):
        return float(text)
    raise dates.DateError(f"'{text}' is not a duration (write 90s, 5m, 1h30m or seconds)")


def _read_count(kind, text):
    if _is_number(text):
        return _number(text)
    raise QueryError(f"'{text}' is not a number")


def _read_param_value(kind, text):
    if kind == "TEXT" or kind == "LABEL":
        return text
    if kind == "TRUE":
        return True
    if kind == "FALSE":
        return False
    if kind == "NUMBER":
        return _number(text)
    if kind == "DATE":
        if text.isdigit():
            return int(text)  # `seed = 2020` is a number, not a year
        period = dates.parse_date(text)
        if len(text) == 10:  # a calendar day reads as a date, as YAML does
            return period.start.date()
        return text
    if kind == "DURATION":
        raise QueryError(f"'{text}' is a duration, which only `duration` compares with; "
                         f"write \"{text}\" for the text")
    raise QueryError(f"'{text}' is a date, which only `timestamp` compares with")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ comparing values

def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_list(v) -> bool:
    return isinstance(v, (list, tuple))


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
