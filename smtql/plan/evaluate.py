"""The reference evaluator: what a bound filter means, on one `Row`.

This module is the semantics of LANGUAGE.md §2–§3 and nothing else. The
planner's post-filter runs it, the Sumatra-API backend runs all of it, and
the differential tests hold the SQL pushdown to it. `compile_filter` turns a
filter into a closure once, so a scan pays no dispatch per record.
"""

from __future__ import annotations

from collections import Counter
from fnmatch import fnmatchcase
from typing import Callable

from ..errors import PredicateError
from ..language import ast, fields, literals
from . import values
from ..language.dates import period_label
from ..language.fields import status_tag
from .values import MISSING

Predicate = Callable[["Row"], bool]  # noqa: F821


def compile_filter(f) -> Predicate:
    """A bound filter (only `Const` values) as a function of a Row."""
    return _COMPILERS[type(f)](f)


def evaluate(f, row) -> bool:
    return compile_filter(f)(row)


def _all(f):
    return lambda row: True


def _and(f):
    parts = [compile_filter(i) for i in f.items]
    return lambda row: all(p(row) for p in parts)


def _or(f):
    parts = [compile_filter(i) for i in f.items]
    return lambda row: any(p(row) for p in parts)


def _not(f):
    inner = compile_filter(f.item)
    return lambda row: not inner(row)


def tag_alternatives(tag: str) -> tuple[str, ...]:
    """The stored tags a written tag matches: a status word also matches
    Sumatra's `_word_` status tag."""
    return (tag, status_tag(tag)) if tag in fields.STATUS_WORDS else (tag,)


def _has_tags(f):
    wanted = [tag_alternatives(t) for t in f.tags]
    return lambda row: all(any(a in row.tags for a in alts) for alts in wanted)


def _tag_like(f):
    pattern = f.pattern
    return lambda row: any(fnmatchcase(t, pattern) for t in row.tags)


def _status(f):
    tag = status_tag(f.word)
    return lambda row: tag in row.tags


def _time_range(f):
    period = f.date.value
    if f.op == ">=":
        return lambda row: row.timestamp >= period.start
    if f.op == "<":
        return lambda row: row.timestamp < period.start
    return lambda row: period.start <= row.timestamp < period.end


def _exists(f):
    path = f.key.path
    return lambda row: row.param(path) is not MISSING


# ------------------------------------------------------------------ comparisons

def value_test(op: str, literal) -> Callable[[object], bool]:
    """`stored OP literal` as a test of the stored value, with the structural
    semantics of parameters (values.py); MISSING satisfies nothing."""
    if op == "=":
        test = lambda v: values.equal(v, literal)  # noqa: E731
    elif op == "!=":
        test = lambda v: not values.equal(v, literal)  # noqa: E731
    elif op in values.ORDER_OPS:
        test = lambda v: values.ordered(op, v, literal)  # noqa: E731
    elif op == "~=":
        test = lambda v: values.close(v, literal)  # noqa: E731
    elif op == "in":
        test = lambda v: any(values.equal(v, x) for x in literal)  # noqa: E731
    elif op == "contains":
        test = lambda v: values.contains(v, literal)  # noqa: E731
    elif op == "startswith":
        test = lambda v: isinstance(v, str) and isinstance(literal, str) and v.startswith(literal)  # noqa: E731
    elif op == "endswith":
        test = lambda v: isinstance(v, str) and isinstance(literal, str) and v.endswith(literal)  # noqa: E731
    elif op == "matches":
        pattern = literals.regex(literal)
        test = lambda v: isinstance(v, str) and pattern.search(v) is not None  # noqa: E731
    else:
        raise AssertionError(op)
    return lambda v: v is not MISSING and test(v)


def _time_test(op: str, literal) -> Callable:
    """timestamp against a period: `=` within, `>=`/`<` its start, `>`/`<=`
    its end. An instant (`3 days ago`, a datetime set from Python) is a
    moment: `<=` includes it, `>` excludes it, `=` is that moment."""
    if op == "in":
        periods = literal
        return lambda t: any(_within(p, t) for p in periods)
    p = literal
    if p.is_instant:  # `N days ago`, a datetime from Python: compare as a moment
        m = p.start
        return {
            "=": lambda t: t == m,
            "!=": lambda t: t != m,
            ">=": lambda t: t >= m,
            "<": lambda t: t < m,
            ">": lambda t: t > m,
            "<=": lambda t: t <= m,
        }[op]
    return {
        "=": lambda t: p.start <= t < p.end,
        "!=": lambda t: not (p.start <= t < p.end),
        ">=": lambda t: t >= p.start,
        "<": lambda t: t < p.start,
        ">": lambda t: t >= p.end,
        "<=": lambda t: t < p.end,
    }[op]


def _within(p, t) -> bool:
    return t == p.start if p.is_instant else p.start <= t < p.end


def _compare(f):
    op, literal = f.op, f.value.value
    if isinstance(f.key, ast.Param):
        path, test = f.key.path, value_test(op, literal)
        return lambda row: test(row.param(path))
    if isinstance(f.key, ast.Output):  # a value like a parameter's, read from a file
        glob, path, test = f.key.glob, f.key.path, value_test(op, literal)
        return lambda row: test(row.output_value(glob, path))
    info = fields.FIELDS[f.key.name]
    name = info.name
    if literal is None and op != "in":
        return lambda row: False  # a null literal: no field compares with it
    if info.kind == fields.TIME:
        test = _time_test(op, literal)
        return lambda row: test(row.timestamp)
    if info.kind == fields.PATHS:
        if op == "!=":  # `outputpath != X` means `not outputpath = X`
            eq = value_test("=", literal)
            return lambda row: not any(eq(p) for p in row.outputpath)
        test = value_test(op, literal)
        return lambda row: any(test(p) for p in row.outputpath)
    if info.kind == fields.TAGS and op in ("=", "!="):  # tags are a set
        wanted = frozenset(literal) if isinstance(literal, tuple) else frozenset((literal,))
        same = (lambda row: row.tags == wanted)
        return same if op == "=" else (lambda row: not same(row))
    test = value_test(op, literal)
    if info.nullable:
        return lambda row: (v := row.value_of(name)) is not None and test(v)
    return lambda row: test(row.value_of(name))


def _outputs_missing(f):
    return lambda row: row.outputs_missing()


def _predicate(f):
    """A Python callable, given the record's Sumatra Record (built only
    now, for a record the rest of the filter has not decided)."""
    name, test = f.name, f.test

    def keep(row) -> bool:
        record = row.record()
        try:
            return bool(test(record))
        except Exception as err:  # the user's code: say whose, and on what
            raise PredicateError(f"the predicate ${name} raised {type(err).__name__}: {err} "
                                 f"(on record {row.label})", label=row.label) from err
    return keep


_COMPILERS = {
    ast.All: _all, ast.And: _and, ast.Or: _or, ast.Not: _not,
    ast.HasTags: _has_tags, ast.TagLike: _tag_like, ast.Status: _status,
    ast.TimeRange: _time_range, ast.Compare: _compare, ast.Exists: _exists,
    ast.OutputsMissing: _outputs_missing, ast.Predicate: _predicate,
}


# ------------------------------------------------------------------ groups (§9)
#
# What a group-by means, written plainly: the records of each group are
# gathered, then each aggregate is computed over them with the `statistics`
# module. The statement's engines (SQL GROUP BY, streaming in Python) are
# held to this by the tests.

def value_of(row, key):
    """What a key reads of a record: a field's value (None when null), a
    parameter's or an output file's value (MISSING when the record lacks it)."""
    if isinstance(key, ast.Field):
        return row.value_of(key.name)
    if isinstance(key, ast.Output):
        return row.output_value(key.glob, key.path)
    return row.param(key.path)


def key_values(row, key) -> tuple:
    """A record's values of a group key: one for most keys (MISSING when it
    lacks the key or the field is null), one per tag for `tag` and per
    status tag for `status`."""
    if isinstance(key, ast.PeriodKey):
        return (period_label(row.timestamp, key.unit),)
    if isinstance(key, ast.TagKey):
        return tuple(sorted({fields.tag_word(t) for t in row.tags})) or (MISSING,)
    if isinstance(key, ast.StatusKey):
        return tuple(fields.status_words(row.tags)) or (MISSING,)
    value = value_of(row, key)
    return (MISSING if value is None and isinstance(key, ast.Field) else value,)


def key_combinations(row, keys) -> list[tuple[tuple, tuple]]:
    """(values, token) of each group a record falls in: one combination of
    its values of every key (several with `tag`), each once."""
    from itertools import product
    out = {}
    for combo in product(*(key_values(row, k) for k in keys)):
        out.setdefault(tuple(values.group_token(v) for v in combo), combo)
    return [(combo, token) for token, combo in out.items()]


def group_items(stmt) -> tuple[list, list]:
    """(the columns a group-by shows: its keys, then the other items;
    the aggregates it computes: those shown and those it orders by)."""
    shown = stmt.items if stmt.items is not None else (ast.Aggregate("count"),)
    columns = list(stmt.keys) + [i for i in shown if i not in stmt.keys]
    aggregates = [i for i in columns if isinstance(i, ast.Aggregate)]
    aggregates += [o.key for o in stmt.order
                   if isinstance(o.key, ast.Aggregate) and o.key not in aggregates]
    return columns, aggregates


NUMERIC = ("mean", "median", "std", "sum")


def takes(func: str):
    """Which values an aggregate keeps (the others are left out and counted),
    or None for one that takes every record."""
    if func in NUMERIC:
        return values.aggregable_number
    if func in ("min", "max"):
        return values.comparable
    return None


def reference_groups(rows, stmt) -> tuple[list[dict], Counter]:
    """The rows of a bound group-by over these records (keyed by item text),
    in order and limited, and how many values each aggregate left out."""
    keep = compile_filter(stmt.filter)
    rows = sorted((r for r in rows if keep(r)), key=lambda r: (-r.timestamp.timestamp(), r.label))
    groups: dict[tuple, tuple] = {}
    for row in rows:  # newest first: a group shows its newest record's key values
        for combo, token in key_combinations(row, stmt.keys):
            groups.setdefault(token, (combo, []))[1].append(row)
    columns, aggregates = group_items(stmt)
    left_out: Counter = Counter()
    out = []
    for combo, members in groups.values():
        line = {item_name(k): v for k, v in zip(stmt.keys, combo)}
        for item in aggregates:
            line[item_name(item)] = _reference_aggregate(item, members, left_out)
        out.append(line)
    out = order_groups(out, stmt)
    if stmt.limit is not None:
        out = out[:stmt.limit.count]
    return [{item_name(c): line[item_name(c)] for c in columns} for line in out], left_out


def _reference_aggregate(item, members: list, left_out: Counter):
    func = item.func
    if func == "count" and item.arg is None:
        return len(members)
    if func == "labels":
        return tuple(r.label for r in members)
    got = [value_of(r, item.arg) for r in members]
    if func == "count":
        return sum(1 for v in got if v is not MISSING and v is not None)
    if func in ("first", "last"):
        return got[-1] if func == "first" else got[0]
    kept = [v for v in got if takes(func)(v)]
    left_out[item_name(item)] += len(got) - len(kept)
    if not kept or (func == "std" and len(kept) < 2):
        return MISSING
    if func in ("min", "max"):
        return (min if func == "min" else max)(kept, key=values.sort_key)
    import statistics  # here: only a group-by needs it, and it costs a find 3 ms to import
    return {"mean": statistics.fmean, "median": statistics.median, "std": statistics.stdev,
            "sum": sum}[func](kept)


def item_name(item) -> str:
    """A group key's or aggregate's column name (`week`, `mean(duration)`)."""
    from ..language.unparse import item_text
    return item_text(item)


def order_groups(lines: list[dict], stmt) -> list[dict]:
    """A group-by's rows in order: its `order by` items (missing values
    last), then its keys (periods oldest first, missing last)."""
    order = [(item_name(o.key), o.descending) for o in stmt.order]
    order += [(item_name(k), False) for k in stmt.keys]

    def key(line):
        parts = []
        for name, descending in order:
            v = line[name]
            k = values.sort_key(v)
            parts.append((v is MISSING, values.Descending(k) if descending else k))
        return parts
    return sorted(lines, key=key)
