"""How a parameter path is spelled (LANGUAGE.md §3): the one spelling every
printer uses (`keys`, column headers, `diff`, notes, completion), so that a
key pasted back into a query reaches that key and no other. Apart from the
AST, so the AST itself can spell its keys."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime

from . import fields, grammar_text
from ..params.model import KeyLiteral


def path_text(path: tuple) -> str:
    """The one spelling of a parameter path (LANGUAGE.md §3), used by every
    printer: parsing it gives back this path and no other. `params.` goes in
    front of a first segment that would read as a record field, a keyword or
    the `params.` prefix itself (`params.params.lr`, `params.status`)."""
    if not path:
        return "params"  # the whole set
    text = ".".join(segment_text(s) for s in path)
    first = path[0] if path else ""
    if isinstance(first, str) and _IDENTIFIER.fullmatch(first) and (
            first == "params" or first.lower() in _keywords() or fields.field_named(first)):
        text = "params." + text
    return text


# A bare segment, as the grammar's KEY reads one.
_IDENTIFIER = re.compile(r"[^\W\d]\w*")


def segment_text(segment) -> str:
    """One segment: a bare identifier, a list index, a key that is not text
    in brackets (`[true]`, `[1]`, `[null]`, `[1.5]`, `[2020-01-01]`), or
    anything else in back-quotes with a back-quote inside doubled."""
    if isinstance(segment, KeyLiteral):
        return f"[{literal_key_text(segment.value)}]"
    if isinstance(segment, int):
        return str(segment)
    if _IDENTIFIER.fullmatch(segment):
        return segment
    return "`" + segment.replace("`", "``") + "`"


def literal_key_text(v) -> str:
    if v is None or isinstance(v, bool):
        return {None: "null", True: "true", False: "false"}[v]
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return repr(v)  # int, float (`1e+20`, `inf`); any other type cannot be typed back


@functools.lru_cache(maxsize=None)
def _keywords() -> frozenset:
    """Every word the grammar gives a meaning (`and`, `status`, `latest`,
    `true`, …): a key spelled like one needs `params.` in front."""
    grammar = grammar_text()
    return frozenset(w.lower() for w in re.findall(r'"([A-Za-z_]+)"i', grammar))
