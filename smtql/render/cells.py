"""How one value reads in a table cell (display formats) and in machine
formats (JSON, CSV). Shared by every renderer so they cannot disagree."""

from __future__ import annotations

import json
from datetime import date, datetime

from ..dates import Period
from ..values import MISSING


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    parts = [(days, "d"), (h, "h"), (m, "m"), (s, "s")]
    shown = [f"{n}{u}" for n, u in parts if n][:2]
    return " ".join(shown)


def display(value, column: str = "") -> str:
    """A value as a person reads it in a table."""
    if value is MISSING:
        return ""
    if column == "duration":
        return duration_text(value)
    if value is None:
        return "" if column in ("executable", "repository") else "null"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if column == "tags":
        return ", ".join(value)
    if column == "params" and isinstance(value, dict):
        from ..executor import digest
        return digest(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(jsonable(value), ensure_ascii=False)
    return str(value)


def jsonable(value):
    """A value as JSON data: ISO timestamps, durations in seconds, lists."""
    if value is MISSING:
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def cut(text: str, max_chars: int | None, max_lines: int | None, from_left: bool = False) -> str:
    """Long text cut to `max_lines` lines and `max_chars` characters, with
    an ellipsis where something was left out."""
    lines = text.splitlines() or [""]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] += " …"
    text = "\n".join(lines)
    if max_chars is not None and len(text) > max_chars:
        text = ("…" + text[-(max_chars - 1):]) if from_left else (text[:max_chars - 1] + "…")
    return text
