"""How one value reads in a table cell (display formats) and in machine
formats (JSON, CSV). Shared by every renderer so they cannot disagree.

Display conventions (docs/formats.md): a parameter a record lacks shows as
`—`, a stored null as `null`, a null field (duration, executable,
repository) as nothing; a whole parameter set as its digest; a folded
sub-tree of a diff as `<+>` and a digest; the distinct values of a merged
row joined by `; `.
"""

from __future__ import annotations

import math
import re

import json
from datetime import date, datetime

from ..language.dates import Period
from ..params.model import Unreadable
from ..cellvalues import Distinct, Folded, digest
from ..plan.values import MISSING

MISSING_TEXT = "—"
NULLABLE_FIELDS = ("duration", "executable", "repository")


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if type(seconds) not in (int, float) or not math.isfinite(seconds):
        return f"{str(seconds)[:40]!r} (not a number of seconds)"  # a damaged store's
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    parts = [(days, "d"), (h, "h"), (m, "m"), (s, "s")]
    shown = [f"{n}{u}" for n, u in parts if n][:2]
    return " ".join(shown)


# C0 controls but tab and newline (which the cell rules handle), DEL, C1
# controls: from store content they could move the cursor, recolour or
# retitle the reader's terminal, so people see them escaped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text with control characters shown as escapes (ESC as `\\x1b`)."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def display(value, column: str = "") -> str:
    """A value as a person reads it in a table, control characters escaped."""
    return printable(_display(value, column))


# A group-by's aggregate reads in the unit of its argument: mean(duration)
# as a duration, max(timestamp) as a time.
_SAME_UNIT = re.compile(r"^(?:mean|median|std|min|max|sum|first|last)\((.+)\)$")


def value_column(column: str) -> str:
    """The column whose values a column's values are like (`duration` for
    `mean(duration)`); the column itself otherwise."""
    m = _SAME_UNIT.match(column)
    return m.group(1) if m else column


def _display(value, column: str) -> str:
    column = value_column(column)
    if value is MISSING:
        return MISSING_TEXT
    if isinstance(value, Distinct):
        return "; ".join(display(v, column) for v in value)
    if isinstance(value, Folded):
        return str(value)
    if isinstance(value, Unreadable):
        return f"(unreadable: {value.reason})" if value.reason else "(unreadable)"
    if column == "duration":
        return duration_text(value)
    if value is None:
        return "" if column in NULLABLE_FIELDS else "null"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if column in ("tags", "labels") and isinstance(value, (list, tuple)):
        return ", ".join(value)
    if column == "params" and isinstance(value, dict):
        return digest(value)
    return literal(value)


def literal(value) -> str:
    """A parameter value as smtql would write it: text as is, true/false,
    null, lists and dicts in JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(jsonable(value), ensure_ascii=False)
    return str(value)


def examples_text(examples) -> str:
    """The example values of `keys`: quoted text, so `"1"` and `1` differ."""
    return ", ".join(json.dumps(v, ensure_ascii=False) if isinstance(v, str) else literal(v)
                     for v in examples)


def jsonable(value):
    """A value as JSON data: ISO timestamps, durations in seconds, lists;
    the distinct values of a merged cell as {"distinct": [...]}, a folded
    sub-tree as {"folded": DIGEST, "keys": N}."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most cells
        return value
    if value is MISSING:
        return None
    if isinstance(value, Distinct):
        return {"distinct": [jsonable(v) for v in value]}
    if isinstance(value, Folded):
        return {"folded": value.digest, "keys": value.keys}
    if isinstance(value, Unreadable):
        return {"unreadable": value.reason}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE[str(value)]  # JSON has no NaN or Infinity: strings, as docs/formats.md says
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def cut(text: str, max_chars: int | None, max_lines: int | None, from_left: bool = False) -> str:
    """Long text cut to `max_lines` lines and `max_chars` characters, with
    an ellipsis where something was left out; `from_left` keeps the end
    (a file name)."""
    lines = text.splitlines() or [""]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max(max_lines, 1)]
        lines[-1] += " …"
    text = "\n".join(lines)
    if max_chars is not None and len(text) > max_chars:
        if not from_left:
            return text[:max_chars - 1] + "…"
        tail = text[-(max_chars - 1):]
        slash = tail.find("/")
        if 0 < slash < len(tail) - 1:  # start at a directory, so the path reads
            tail = tail[slash:]
        text = "…" + tail
    return text
