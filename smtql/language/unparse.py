"""AST → smtql text: how `explain` shows a filter, and how a write prints
its inverse statement. Parsing the output gives the same AST back."""

from __future__ import annotations

import re
from datetime import date, datetime

from . import ast
from .dates import Period
from .spelling import path_text, segment_text


def filter_text(f, parent: str = "") -> str:
    if isinstance(f, ast.All):
        return "all"
    if isinstance(f, (ast.And, ast.Or)):
        word = " and " if isinstance(f, ast.And) else " or "
        kind = "and" if isinstance(f, ast.And) else "or"
        text = word.join(filter_text(i, kind) for i in f.items)
        return f"({text})" if parent else text
    if isinstance(f, ast.Not):
        return "not " + filter_text(f.item, "not")
    if isinstance(f, ast.HasTags):
        return "tag " + ", ".join(tag_text(t) for t in f.tags)
    if isinstance(f, ast.TagLike):
        return f"tag like {string_text(f.pattern)}"
    if isinstance(f, ast.Status):
        return f"status {f.word}"
    if isinstance(f, ast.TimeRange):
        word = {">=": "after", "<": "before", "on": "on"}[f.op]
        return f"{word} {value_text(f.date)}"
    if isinstance(f, ast.Compare):
        return f"{key_text(f.key)} {f.op} {value_text(f.value)}"
    if isinstance(f, ast.Exists):
        return f"exists {key_text(f.key)}"
    if isinstance(f, ast.Match):
        return f"match {ref_text(f.ref)} on " + ", ".join(key_text(k) for k in f.keys)
    if isinstance(f, (ast.FilterVar, ast.Predicate)):
        return f"${f.name}"
    if isinstance(f, ast.OutputsMissing):
        return "outputs missing"
    raise AssertionError(f)


def key_text(key) -> str:
    if isinstance(key, ast.Field):
        return key.name
    if isinstance(key, ast.Output):
        # the path after `output(…).` is read as it is written: no `params.`
        return f"output({string_text(key.glob)})" + "".join("." + segment_text(s) for s in key.path)
    if not isinstance(key, ast.Param):
        return item_text(key)
    return path_text(key.path)


def item_text(item) -> str:
    """A group key or an aggregate as written (`week`, `tag`, `mean(duration)`)."""
    if isinstance(item, ast.PeriodKey):
        return item.unit
    if isinstance(item, ast.TagKey):
        return "tag"
    if isinstance(item, ast.StatusKey):
        return "status"
    if isinstance(item, ast.Aggregate):
        return item.func + (f"({key_text(item.arg)})" if item.arg is not None else "")
    return key_text(item)


def selection_text(select) -> str:
    """A SELECTION's clauses as written (with a leading space), or ""."""
    if select is None:
        return ""
    parts = []
    if select.order:
        parts.append("order by " + ", ".join(item_text(o.key) + (" desc" if o.descending else "")
                                             for o in select.order))
    if select.per:
        parts.append("per " + ", ".join(item_text(k) for k in select.per))
    if select.limit is not None:
        n = select.limit.count
        parts.append(select.limit.kind + ("" if n is None else f" {n}"))
    return "".join(" " + p for p in parts)


def value_text(value) -> str:
    if isinstance(value, ast.Var):
        return f"${value.name}"
    if isinstance(value, ast.Token):
        return value.text if value.kind != "AGO" else value.text + " ago"
    if isinstance(value, ast.ListOf):
        return "[" + ", ".join(value_text(v) for v in value.items) + "]"
    if isinstance(value, ast.Const):
        return literal_text(value.value)
    return literal_text(value)


def literal_text(v) -> str:
    if isinstance(v, Period):
        return v.text or v.start.isoformat()
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return string_text(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(literal_text(x) for x in v) + "]"
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    return string_text(str(v))


def ref_text(ref: ast.Ref) -> str:
    if ref.kind in ("latest", "earliest"):
        return ref.kind
    if ref.kind == "var":
        return f"${ref.text}"
    return string_text(ref.text)


def string_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def tag_text(tag) -> str:
    if isinstance(tag, ast.Var):
        return f"${tag.name}"
    return tag if re.fullmatch(r"[\w][\w\-.]*", tag) and tag.lower() not in ("like",) else string_text(tag)
