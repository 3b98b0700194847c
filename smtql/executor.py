"""The executor: runs bound statements against a store and returns results.

For a `find`: plan the filter, let the store return candidates for the
pre-filter, decide the post-filter in Python, then sort, merge, limit and
pick columns. Nothing here prints.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

from . import ast, fields, planner, values
from .bind import Context, bind_statement
from .errors import QueryError, SmtqlError, closest
from .evaluate import compile_filter, tag_alternatives
from .params import folded, leaves, dotted
from .result import LazyRows, CountResult, Distinct, RecordResult, Result, Table, TextResult
from .unparse import filter_text, key_text
from .values import MISSING, sort_key



@dataclass
class Executor:
    store: Any
    variables: dict = field(default_factory=dict)
    now: datetime | None = None
    # Writes (`tag`, `untag`, `undo`): show the change only; or ask first
    # (`confirm(preview) -> bool`, the CLI's prompt). None: the statement
    # itself is the confirmation (Python, notebooks).
    dry_run: bool = False
    confirm: Any = None

    def run(self, program: ast.Program) -> Iterator[Result]:
        """Run each statement in turn, yielding its result. `now` is fixed
        once per program, so `3 days ago` means one instant throughout."""
        ctx = Context(variables=self.variables,
                      now=self.now or datetime.now(timezone.utc),
                      source=program.source, filename=program.filename,
                      resolve_ref=self._resolve_ref)
        for stmt in program.statements:
            try:
                yield self.run_statement(stmt, ctx)
            except SmtqlError as err:
                if program.filename and not err.filename:
                    err.filename = program.filename
                raise

    def run_statement(self, stmt, ctx: Context) -> Result:
        self._ctx = ctx
        started = getattr(self.store, "statement_started", None)
        if started is not None:
            started()
        bound = bind_statement(stmt, ctx)
        return getattr(self, "_" + type(bound).__name__.lower())(bound)

    def _error(self, err: SmtqlError, node) -> SmtqlError:
        span = getattr(node, "span", None)
        if span is not None and err.line is None:
            err.at(self._ctx.source, span.start, span.end)
        return err

    # ------------------------------------------------------------------ statements
    def _let(self, stmt: ast.Let) -> Result:
        return TextResult(f"${stmt.name} = {filter_text(stmt.filter)}", silent=True)

    def _count(self, stmt: ast.Count) -> Result:
        plan = planner.plan(stmt.filter, self.store, fields=())
        count = getattr(self.store, "count", None)
        if plan.post_is_trivial and count is not None:
            n = count(plan)  # a COUNT in the store: no rows
        else:
            n = len(self._select_plan(plan))
        return CountResult(n, notes=self.notes(stmt.filter))

    def _find(self, stmt: ast.Find) -> Result:
        columns = expand_columns(stmt.show)
        wanted = {planner.key_field(c) for c in columns}
        wanted |= {planner.key_field(o.key) for o in stmt.order}
        limit = None
        if stmt.limit is not None and not stmt.merged and (
                stmt.limit.kind in ("latest", "earliest")
                or (stmt.limit.kind == "limit" and not stmt.order)):
            # only the newest (oldest) answers by timestamp can be kept
            kind = "earliest" if stmt.limit.kind == "earliest" else "latest"
            limit = (kind, stmt.limit.count)
        newest_first = not stmt.order
        plan = planner.plan(stmt.filter, self.store, fields=wanted, limit=limit,
                            newest_first=newest_first)
        rows = self._select_plan(plan)
        if not (newest_first and plan.limit is None
                and getattr(self.store, "orders_newest_first", False)):
            rows = sort_rows(rows, stmt.order)
        groups = merge_groups(rows) if stmt.merged else [[r] for r in rows]
        kept = apply_limit(groups, stmt.limit)
        hidden = len(groups) - len(kept)
        if plan.limit is not None:  # the store returned only the newest: count the rest
            hidden = self.store.count(plan) - len(kept)
        if stmt.merged:
            table_rows = [table_row(g, columns, merged=True) for g in kept]
        else:  # table_row's cells, with each column's getter looked up once
            getters = [(column_name(c), _cell_getter(c)) for c in columns]
            table_rows = LazyRows(kept, lambda g: {name: get(g[0]) for name, get in getters})
        names = (["# records"] if stmt.merged else []) + [column_name(c) for c in columns]
        extra = [c for c in columns if not isinstance(c, ast.Field)]
        return Table(names, table_rows, source_rows=kept, store=self.store,
                     hidden=hidden,
                     notes=self.notes(stmt.filter, extra + [o.key for o in stmt.order]))

    def _keys(self, stmt: ast.Keys) -> Result:
        rows = self.select(stmt.filter, fields={"params"})
        counts, examples = Counter(), {}
        for row in rows:
            for path, value in leaves(folded(row.params)):
                name = dotted(path)
                counts[name] += 1
                seen = examples.setdefault(name, [])
                if len(seen) < 3 and not any(values.equal(value, s) for s in seen):
                    seen.append(value)
        table_rows = [{"key": k, "records": n, "examples": examples[k]}
                      for k, n in sorted(counts.items())]
        return Table(["key", "records", "examples"], table_rows, store=self.store,
                     kind="keys", notes=self.notes(stmt.filter))

    def _describe(self, stmt: ast.Describe) -> Result:
        row = self._resolve_ref(stmt.ref)
        record = self.store.records([row])[0]
        from .describe import describe_record
        return RecordResult(row.label, describe_record(record, row), row=row, store=self.store)

    def _diff(self, stmt: ast.Diff) -> Result:
        from .diff import diff_rows
        if stmt.where is not None:
            rows, notes = sort_rows(self.select(stmt.where)), self.notes(stmt.where)
            what = f"'{filter_text(stmt.where)}' selects"
        else:  # a record named twice is compared once
            rows = list({r.label: r for r in map(self._resolve_ref, stmt.refs)}.values())
            notes, what = [], "the references name"
        if len(rows) < 2:
            raise self._error(QueryError(
                f"diff compares at least two records; {what} {len(rows)}"), stmt)
        # Two records are compared as `smt diff` does, on their Record objects.
        records = self.store.records(rows) if len(rows) == 2 else None
        result = diff_rows(rows, records, depth=stmt.depth, ignore=stmt.ignore, raw=stmt.raw)
        result.store = self.store
        result.notes[:0] = notes
        return result

    def _explain(self, stmt: ast.Explain) -> Result:
        inner = stmt.statement
        f = getattr(inner, "filter", None) or getattr(inner, "where", None)
        if f is None:
            return TextResult(f"{type(inner).__name__.lower()}: no filter to plan")
        fields = () if isinstance(inner, ast.Count) else None
        return explain_plan(planner.plan(f, self.store, fields=fields), self.store,
                            count=isinstance(inner, ast.Count))

    def _tagwrite(self, stmt: ast.TagWrite) -> Result:
        from .writes import run_tag_write
        return self._located(run_tag_write, stmt, self, stmt)

    def _undo(self, stmt: ast.Undo) -> Result:
        from .writes import run_undo
        return self._located(run_undo, stmt, self)

    def _export(self, stmt: ast.Export) -> Result:
        from .export import run_export
        return self._located(run_export, stmt, self, stmt)

    def _located(self, fn, stmt, *args) -> Result:
        try:
            return fn(*args)
        except SmtqlError as err:
            if err.exit_status == 1:  # a refusal: point at the statement
                raise self._error(err, stmt) from None
            raise

    def write_options(self):
        from .writes import WriteOptions
        return WriteOptions(dry_run=self.dry_run, confirm=self.confirm)

    # ------------------------------------------------------------------ helpers
    def select(self, f, fields=None, limit=None) -> list:
        """The rows the filter selects: store pre-filter, then post-filter.
        `fields`: the row fields needed besides the filter's (None: all);
        `limit`: ("latest"|"earliest", n) when only the n newest/oldest
        answers matter (the store may then return fewer candidates)."""
        return self._select_plan(planner.plan(f, self.store, fields=fields, limit=limit))

    def _select_plan(self, plan) -> list:
        keep = compile_filter(plan.post)
        return [row for row in self.store.scan(plan) if keep(row)]

    def _resolve_ref(self, ref: ast.Ref):
        try:
            return self.store.get_row(ref)
        except SmtqlError as err:
            raise self._error(err, ref) from None

    def notes(self, f, keys=()) -> list[str]:
        """What the answer should say about the question: tags and keys that
        no record has, with the closest ones that exist."""
        notes = []
        tags = [t for t in _walk(f, ast.HasTags) for t in t.tags]
        if tags:
            present_tags = getattr(self.store, "present_tags", None)
            if present_tags is not None:  # a cheap check first; counts only for hints
                alternatives = [a for t in tags for a in tag_alternatives(t)]
                present = {t: 1 for t in present_tags(alternatives)}
            else:
                present = self.store.tag_counts()
            counts = None
            for tag in dict.fromkeys(tags):
                if not any(present.get(a) for a in tag_alternatives(tag)):
                    if counts is None:
                        counts = present if present_tags is None else self.store.tag_counts()
                    near = closest(tag, list(counts) + list(fields.STATUS_WORDS))
                    notes.append(f"no record has tag '{tag}'"
                                 + (f"; closest: {', '.join(near)}" if near else ""))
        params = [c.key for c in _walk(f, (ast.Compare, ast.Exists))
                  if isinstance(c.key, ast.Param)]
        params += [k for k in keys if isinstance(k, ast.Param) and k.path != ("params",)]
        if params:
            known = None
            for key in {p.path: p for p in params}.values():
                if self.store.has_param(key.path):
                    continue
                if known is None:  # the vocabulary, only for suggestions
                    known = self.store.param_keys()
                if key.dotted in known:
                    continue
                near = closest(key.dotted, list(known), cutoff=0.5)
                field_near = closest(key.dotted, fields.FIELDS)
                hint = near + [f"{n} (a field)" for n in field_near]
                notes.append(f"no record has parameter '{key.dotted}'"
                             + (f"; closest: {', '.join(hint)}" if hint else ""))
        statement_notes = getattr(self.store, "statement_notes", None)
        if statement_notes is not None:  # e.g. parameter sets it could not read
            notes.extend(statement_notes())
        return notes


def _walk(f, kinds) -> Iterator:
    if isinstance(f, kinds):
        yield f
    for child in getattr(f, "items", ()):
        yield from _walk(child, kinds)
    if isinstance(f, ast.Not):
        yield from _walk(f.item, kinds)


# ------------------------------------------------------------------ rows → table

def column_name(col) -> str:
    if isinstance(col, ast.Field):
        return col.name
    return "params" if col.path == ("params",) else key_text(col)


def expand_columns(show) -> list:
    if show is None:
        show = ("default",)
    columns = []
    for col in show:
        if col == "default":
            columns.extend(ast.Field(n) for n in fields.DEFAULT_COLUMNS)
        else:
            columns.append(col)
    return list({column_name(c): c for c in columns}.values())


def cell(row, col):
    if isinstance(col, ast.Field):
        return row.value_of(col.name)
    if col.path == ("params",):
        return row.params  # the whole set; renderers show a digest
    return row.param(col.path)


def _cell_getter(col):
    """`lambda row: cell(row, col)`, decided once per column."""
    if isinstance(col, ast.Field):
        if col.name == "tags":
            return lambda row: tuple(sorted(row.tags))
        return operator.attrgetter(col.name)
    if col.path == ("params",):
        return operator.attrgetter("params")
    path = col.path
    return lambda row: row.param(path)


def key_value(row, key):
    """The value an `order by` key sorts on; None for a null field."""
    value = cell(row, key)
    return MISSING if value is None and isinstance(key, ast.Field) else value


class _Desc:
    """Reverses the order of a sort key, for `desc`."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key

    def __lt__(self, other):
        return other.key < self.key

    def __eq__(self, other):
        return self.key == other.key


def sort_rows(rows: list, order=()) -> list:
    """Newest first; `order by` keys first, records lacking a key after the
    others; ties by timestamp (newest first), then label."""
    def key(row):
        parts = []
        for o in order:
            value = key_value(row, o.key)
            k = sort_key(value)
            parts.append((value is MISSING, _Desc(k) if o.descending else k))
        parts.append(-row.timestamp.timestamp())
        parts.append(row.label)
        return parts
    return sorted(rows, key=key)


_TIMESTAMP_PART = re.compile(r"^(\d{8}-\d{6})(?:_|$)")


def merge_key(label: str) -> str:
    m = _TIMESTAMP_PART.match(label)
    return m.group(1) if m else label


def merge_groups(rows: list) -> list[list]:
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(merge_key(row.label), []).append(row)
    return list(groups.values())


def apply_limit(groups: list, limit) -> list:
    if limit is None:
        return groups
    n = limit.count
    if limit.kind == "limit":
        return groups[:n]
    n = 1 if n is None else n
    newest = sorted(groups, key=lambda g: max(r.timestamp for r in g),
                    reverse=limit.kind == "latest")[:n]
    chosen = {id(g) for g in newest}
    return [g for g in groups if id(g) in chosen]


def table_row(group: list, columns: list, merged: bool) -> dict:
    if not merged:
        return {column_name(c): cell(group[0], c) for c in columns}
    out = {"# records": len(group)}
    for col in columns:
        name = column_name(col)
        cells = [cell(r, col) for r in group]
        if name == "label":
            out[name] = merge_key(group[0].label) if len(group) > 1 else group[0].label
        elif name == "timestamp":
            out[name] = max(cells)
        elif name == "duration":
            known = [c for c in cells if c is not None]
            out[name] = sum(known) / len(known) if known else None
        elif name == "tags":
            out[name] = tuple(sorted({t for c in cells for t in c}))
        else:
            out[name] = join_distinct(cells)
    return out


def join_distinct(cells: list):
    distinct = []
    for c in cells:
        if c is MISSING:  # a record lacking the key adds no value to the join
            continue
        if not any(values.equal(c, d) for d in distinct):
            distinct.append(c)
    if not distinct:
        return MISSING
    return distinct[0] if len(distinct) == 1 else Distinct(distinct)


# ------------------------------------------------------------------ explain

def explain_plan(plan, store, count: bool = False) -> TextResult:
    explain = getattr(store, "explain", None)
    statements = []
    if explain is not None:  # the store runs the plan once and shows its SQL
        info = explain(plan, count=count)
        candidates, answer, statements = info["candidates"], info["answer"], info["statements"]
    else:
        keep = compile_filter(plan.post)
        candidates = answer = 0
        for row in store.scan(plan):
            candidates += 1
            answer += bool(keep(row))
    lines = [
        f"store:       {store.describe()}",
        f"filter:      {filter_text(plan.filter)}",
        f"pre-filter:  {filter_text(plan.pre)}   (run by the store)",
        f"post-filter: {filter_text(plan.post)}   (run in Python)",
    ]
    if statements:
        lines.append(f"sql:         {len(statements)} statement{'s' if len(statements) != 1 else ''}")
        for text, params in statements:
            lines.append("  " + text)
            if params:
                lines.append("    -- parameters: " + _short_params(params))
    if plan.post_is_trivial and count and explain is not None:
        lines.append(f"candidates:  {answer} counted by the store (no post-filter)")
    else:
        lines.append(f"candidates:  {candidates} from the store, {answer} after the post-filter")
    return TextResult("\n".join(lines), data={
        "filter": filter_text(plan.filter), "pre": filter_text(plan.pre),
        "post": filter_text(plan.post), "candidates": candidates, "answer": answer,
        "sql": [text for text, _ in statements]})


def _short_params(params, limit: int = 12) -> str:
    def one(p):
        text = repr(p)
        return text if len(text) <= 60 else text[:57] + "..."
    shown = ", ".join(one(p) for p in params[:limit])
    return shown + (f", … ({len(params) - limit} more)" if len(params) > limit else "")
