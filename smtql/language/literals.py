"""What smtql's literals mean (LANGUAGE.md §3): `read_literal` turns a
literal as written into the value its comparison needs (the same `2020` is
a year after `timestamp >`, a number after `seed =`)."""

from __future__ import annotations

import functools
import re

from ..errors import QueryError
from . import dates, fields

PARAM = "param"  # the target kind of a parameter key; fields use fields.KIND


@functools.lru_cache(maxsize=256)
def regex(pattern: str) -> re.Pattern:
    """A `matches` pattern, compiled once: the check before the program runs
    and the test of every row share it (issue 15, item 4)."""
    return re.compile(pattern)


def unquote(text: str) -> str:
    """The content of a quoted string token: \\\\, \\", \\', \\n, \\t, \\r are
    escapes; any other backslash stays, so regexes read naturally."""
    body, out, i = text[1:-1], [], 0
    if "\\" not in body:
        return body  # the usual string, at no cost per character
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
