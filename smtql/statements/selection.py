"""The executor's row operations, shared by the statements: order
(`order by`, newest first), merge (`merged`), limits (`limit`,
`latest`, `earliest`) and the records a REFS names (`diff`, `describe`)."""

from __future__ import annotations

import re

from ..plan.values import MISSING, Descending, sort_key
from ..plan import values
from ..result import Distinct
from .columns import cell, column_name, key_value


def sort_rows(rows: list, order=()) -> list:
    """Newest first; `order by` keys first, records lacking a key after the
    others; ties by timestamp (newest first), then label."""
    def key(row):
        parts = []
        for o in order:
            value = key_value(row, o.key)
            k = sort_key(value)
            parts.append((value is MISSING, Descending(k) if o.descending else k))
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
    """The distinct values of a merged column. Empty text, a null and a key
    a record lacks add nothing to the join (`ok`, not `; ok`); a column
    empty in every record stays empty."""
    distinct = []
    for c in cells:
        if c is MISSING or c is None or c == "":
            continue
        if not any(values.equal(c, d) for d in distinct):
            distinct.append(c)
    if not distinct:
        present = [c for c in cells if c is not MISSING]
        return present[0] if present else MISSING
    return distinct[0] if len(distinct) == 1 else Distinct(distinct)


def best_per_group(rows: list, per, n: int) -> list:
    """`per KEY, …`: of rows already in order, the first n of each group
    (the groups of `group by`: a record lacking a key in the missing group,
    a record in each of its tags' groups, kept if first in any)."""
    from ..plan.evaluate import key_combinations
    seen: dict[tuple, int] = {}
    kept = []
    for row in rows:
        chosen = False
        for _, token in key_combinations(row, per):
            seen[token] = seen.get(token, 0) + 1
            chosen = chosen or seen[token] <= n
        if chosen:
            kept.append(row)
    return kept


def choose(rows: list, select) -> list:
    """A SELECTION's rows (`where F order by … per … limit N`): in order,
    best per group, limited; without clauses, newest first."""
    if select is None:
        return sort_rows(rows)
    rows = sort_rows(rows, select.order)
    limit = select.limit
    if select.per:
        per_limit = limit is not None and limit.kind == "limit"
        rows = best_per_group(rows, select.per, limit.count if per_limit else 1)
        if per_limit:
            return rows
    return [g[0] for g in apply_limit([[r] for r in rows], limit)]


def selection_fields(select) -> set:
    """The row fields a SELECTION's clauses read."""
    if select is None:
        return set()
    keys = [o.key for o in select.order] + list(select.per)
    return {group_key_field(k) for k in keys}


def group_key_field(key) -> str:
    """The row field a group key (or an order key) reads."""
    from ..language import ast
    from ..plan.planner import key_field
    if isinstance(key, (ast.TagKey, ast.StatusKey)):
        return "tags"
    if isinstance(key, ast.PeriodKey):
        return "timestamp"
    return key_field(key)


def refs_rows(stmt, ctx) -> tuple[list, list[str], str]:
    """The rows a REFS names (`diff`, `describe`): `where SELECTION` in its
    order (newest first without one), or the refs in the order written, a
    record named twice kept once. Also the filter's notes, and what chose
    the rows, for a message (`'tag x' selects`)."""
    from ..language.unparse import filter_text
    if stmt.where is not None:
        rows = ctx.select_where(stmt.where, stmt.select)
        return rows, ctx.notes(stmt.where), f"'{filter_text(stmt.where)}' selects"
    rows = list({r.label: r for r in map(ctx.resolve, stmt.refs)}.values())
    return rows, [], "the references name"
