"""Binding: the step between parsing and planning that makes a statement
concrete. It replaces `$variables` by their values, reads relative dates
against the program's one "now", and expands `match REF on KEY` into
equalities with the reference record's values. What comes out holds only
`Const` values, so planner and evaluator never see a variable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable

from . import ast, dates, fields
from . import literals
from ..params.model import MISSING
from ..errors import QueryError, SmtqlError, UnsetVariable, closest, quoted_choices
from .parser import count_problem, regex_problem, resolve_value


@dataclass
class Context:
    """What binding needs: the variables in scope, the moment the program
    started, the program text (for error positions) and a way to find the
    record a REF names."""

    variables: dict[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    source: str = ""
    filename: str | None = None
    resolve_ref: Callable[[ast.Ref], Any] | None = None

    def error(self, message: str, node, kind=QueryError, **kw) -> SmtqlError:
        err = kind(message, **kw)
        span = getattr(node, "span", None)
        if span is not None:
            err.at(self.source, span.start, span.end)
        if self.filename:
            err.filename = self.filename
        return err

    def lookup(self, var: ast.Var | ast.FilterVar | ast.Ref):
        name = var.text if isinstance(var, ast.Ref) else var.name
        if name not in self.variables:
            near = closest(name, self.variables)
            raise self.error(name, var, kind=UnsetVariable,  # it words its message itself
                             suggestion=quoted_choices(["$" + n for n in near]) if near else None)
        return self.variables[name]


_FILTER_NODES = (ast.All, ast.And, ast.Or, ast.Not, ast.HasTags, ast.TagLike, ast.Status,
                 ast.TimeRange, ast.Compare, ast.Exists, ast.Match, ast.FilterVar,
                 ast.OutputsMissing, ast.Predicate)

PREDICATES_FROM_PYTHON = ("a predicate (a Python callable taking a Sumatra Record) can be "
                          "passed only from Python (store.query(…, NAME=callable), "
                          "smtql.load) or a notebook's namespace, not from the command line")


def is_filter(value) -> bool:
    return isinstance(value, _FILTER_NODES)


# ------------------------------------------------------------------ filters

def bind_filter(f, ctx: Context):
    if isinstance(f, (ast.And, ast.Or)):
        return dataclasses.replace(f, items=tuple(bind_filter(i, ctx) for i in f.items))
    if isinstance(f, ast.Not):
        return dataclasses.replace(f, item=bind_filter(f.item, ctx))
    if isinstance(f, ast.FilterVar):
        try:
            bound = ctx.lookup(f)
        except SmtqlError as err:  # from the command line, say what a predicate takes
            err.message += f"; {PREDICATES_FROM_PYTHON}"
            raise
        if callable(bound) and not is_filter(bound):
            return ast.Predicate(f.name, bound, span=f.span)
        if not is_filter(bound):
            raise ctx.error(f"${f.name} is a value, not a filter; compare a key with it "
                            f"(`KEY = ${f.name}`); {PREDICATES_FROM_PYTHON}", f)
        return bound  # `let` bodies are bound when they are defined
    if isinstance(f, ast.HasTags):
        return dataclasses.replace(f, tags=tuple(bind_word(t, ctx, "tag") for t in f.tags))
    if isinstance(f, ast.TimeRange):
        period = bind_value(f.date, fields.TIME, ctx)
        if f.op == "on" and period.is_instant:
            period = period.day()
        return dataclasses.replace(f, date=ast.Const(period, span=f.date.span))
    if isinstance(f, ast.Compare):
        return dataclasses.replace(f, value=ast.Const(_compare_value(f, ctx), span=f.value.span))
    if isinstance(f, ast.Match):
        return _expand_match(f, ctx)
    return f


def _compare_value(f: ast.Compare, ctx: Context):
    target = fields.FIELDS[f.key.name].kind if isinstance(f.key, ast.Field) else literals.PARAM
    value = bind_value(f.value, target, ctx)
    if f.op == "in" and not isinstance(value, tuple):
        raise ctx.error("'in' takes a list, like [1, 2]", f.value)
    if f.op in ("contains", "startswith", "endswith", "matches") and target != literals.PARAM \
            and not isinstance(value, str):
        raise ctx.error(f"'{f.op}' takes text", f.value)
    if f.op == "matches" and (problem := regex_problem(value)):
        raise ctx.error(problem, f.value)
    return value


def bind_value(value, target: str, ctx: Context):
    """The concrete value of a literal, list or `$var` compared with a key
    of kind `target`."""
    if isinstance(value, ast.Var):
        bound = ctx.lookup(value)
        if is_filter(bound):
            raise ctx.error(f"${value.name} is a filter, not a value", value)
        if callable(bound):
            raise ctx.error(f"${value.name} is a Python predicate (a callable), not a value; "
                            f"use it as a filter on its own (`… and ${value.name}`)", value)
        if isinstance(bound, (ast.Const, ast.Token, ast.ListOf)):
            return bind_value(_respan(bound, value.span), target, ctx)
        return _python_value(bound, target, value, ctx)
    if isinstance(value, ast.Const):
        return value.value
    if isinstance(value, ast.ListOf):
        return tuple(bind_value(v, target, ctx) for v in value.items)
    if isinstance(value, ast.Token):
        if value.kind in ("AGO", "TODAY", "YESTERDAY"):
            if target != fields.TIME:
                raise ctx.error(f"'{value.text}' is a date, which only `timestamp` compares with",
                                value)
            try:
                return _relative_date(value, ctx.now)
            except dates.DateError as err:
                raise ctx.error(str(err), value) from None
        resolved = resolve_value(value, target, ctx.source)
        return bind_value(resolved, target, ctx)
    raise AssertionError(value)


def _respan(node, span):
    return dataclasses.replace(node, span=span) if span is not None else node


def _relative_date(token: ast.Token, now: datetime) -> dates.Period:
    if token.kind == "TODAY":
        return dates.today(now)
    if token.kind == "YESTERDAY":
        return dates.yesterday(now)
    amount, unit = token.text.split()
    return dates.ago(amount, unit, now)


def _python_value(value, target: str, node, ctx: Context):
    """A value handed in from Python (`smtql.load(path, lr=0.01)`), as it is;
    datetimes become instants (naive ones UTC), dates their day."""
    if target == fields.TIME:
        if isinstance(value, datetime):
            moment = dates.as_utc(value)
            return dates.Period(moment, moment, moment.isoformat())
        if isinstance(value, date):
            return dates.day_of(dates.as_utc(value), value.isoformat())
        if isinstance(value, str):
            try:
                return dates.parse_date(value)
            except dates.DateError as err:
                raise ctx.error(str(err), node) from None
        raise ctx.error(f"${node.name} is {value!r}, not a date", node)
    if isinstance(value, list):
        return tuple(_python_value(v, target, node, ctx) for v in value)
    if target == fields.DURATION and hasattr(value, "total_seconds"):
        return value.total_seconds()
    if target == fields.DURATION and isinstance(value, str):  # "5m", as --set reads it
        try:
            return literals.read_literal("TEXT", value, target)
        except dates.DateError as err:
            raise ctx.error(str(err), node) from None
    return value


def bind_word(word, ctx: Context, what: str) -> str:
    """A tag (or other bare word) that may be a `$var`."""
    if not isinstance(word, ast.Var):
        return word
    bound = ctx.lookup(word)
    if isinstance(bound, ast.Const):
        bound = bound.value
    elif isinstance(bound, ast.Token):
        bound = literals.unquote(bound.text) if bound.kind == "STRING" else bound.text
    if not isinstance(bound, (str, int)) or isinstance(bound, bool):
        raise ctx.error(f"${word.name} must be a {what}, not {bound!r}", word)
    return str(bound)


def bind_count(count, ctx: Context) -> int | None:
    """A count (`limit $n`, `depth $d`) that may be a `$var`."""
    if not isinstance(count, ast.Var):
        return count
    bound = bind_value(count, fields.COUNT, ctx)
    if not isinstance(bound, int) or isinstance(bound, bool) or bound < 0:
        raise ctx.error(f"${count.name} must be a whole number, not {bound!r}", count)
    problem = count_problem(bound)
    if problem:
        raise ctx.error(f"${count.name} is {bound}: {problem}", count)
    return bound


def bind_ref(ref: ast.Ref, ctx: Context) -> ast.Ref:
    if ref.kind != "var":
        return ref
    bound = ctx.lookup(ref)
    if isinstance(bound, ast.Ref):
        return bound
    text = bind_word(ast.Var(ref.text, span=ref.span), ctx, "record label")
    if text.lower() in ("latest", "earliest"):
        return ast.Ref(text.lower(), span=ref.span)
    return ast.Ref("label", text, span=ref.span)


def _expand_match(f: ast.Match, ctx: Context):
    """`match REF on k1, k2` is `label = REF or (k1 = v1 and k2 = v2)` with
    the reference record's values: the reference is itself included even
    where its value equals nothing (NaN)."""
    row = ctx.resolve_ref(bind_ref(f.ref, ctx))
    equalities = []
    for key in f.keys:
        value = row.param(key.path)
        if value is MISSING:
            raise ctx.error(f"record {row.label} has no parameter {key.dotted}", key)
        equalities.append(ast.Compare(key, "=", ast.Const(value), span=key.span))
    return ast.Or((ast.Compare(ast.Field("label"), "=", ast.Const(row.label)),
                   ast.And(tuple(equalities))), span=f.span)


# ------------------------------------------------------------------ statements

def bind_statement(stmt, ctx: Context):
    """The statement with every part bound; `Let` binds its name in ctx."""
    if isinstance(stmt, ast.Let):
        bound = bind_filter(stmt.filter, ctx)
        ctx.variables[stmt.name] = bound
        return dataclasses.replace(stmt, filter=bound)
    if isinstance(stmt, (ast.Explain, ast.Plot)):
        return dataclasses.replace(stmt, statement=bind_statement(stmt.statement, ctx))
    if isinstance(stmt, (ast.Find, ast.Group)):
        return dataclasses.replace(stmt, filter=bind_filter(stmt.filter, ctx),
                                   limit=_bind_limit(stmt.limit, ctx))
    if isinstance(stmt, (ast.Count, ast.Keys, ast.Tags)):
        return dataclasses.replace(stmt, filter=bind_filter(stmt.filter, ctx))
    if isinstance(stmt, ast.Export):
        return dataclasses.replace(stmt, filter=bind_filter(stmt.filter, ctx),
                                   select=_bind_selection(stmt.select, ctx))
    if isinstance(stmt, ast.TagWrite):
        return dataclasses.replace(stmt, filter=bind_filter(stmt.filter, ctx),
                                   tags=tuple(bind_word(t, ctx, "tag") for t in stmt.tags),
                                   select=_bind_selection(stmt.select, ctx))
    if isinstance(stmt, ast.Describe):
        where = bind_filter(stmt.where, ctx) if stmt.where is not None else None
        return dataclasses.replace(stmt, refs=tuple(bind_ref(r, ctx) for r in stmt.refs),
                                   where=where, select=_bind_selection(stmt.select, ctx))
    if isinstance(stmt, ast.Diff):
        where = bind_filter(stmt.where, ctx) if stmt.where is not None else None
        return dataclasses.replace(stmt, refs=tuple(bind_ref(r, ctx) for r in stmt.refs),
                                   where=where, depth=bind_count(stmt.depth, ctx),
                                   select=_bind_selection(stmt.select, ctx))
    return stmt


def _bind_limit(limit, ctx: Context):
    if limit is None:
        return None
    return dataclasses.replace(limit, count=bind_count(limit.count, ctx))


def _bind_selection(select, ctx: Context):
    if select is None:
        return None
    return dataclasses.replace(select, limit=_bind_limit(select.limit, ctx))
