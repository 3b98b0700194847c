"""`[find] FILTER [show …] [order by …] [limit|latest|earliest N] [merged]`:
a table of the records the filter selects."""

from __future__ import annotations

from ..errors import QueryError, closest, quoted_choices
from ..language import ast, fields
from ..plan import planner
from ..result import LazyRows, Table
from .columns import cell_getter, column_name, expand_columns
from .selection import (apply_limit, best_per_group, group_key_field, merge_groups, sort_rows,
                        table_row)


# Seconds the store may take to count what `latest N` leaves out (Datasette
# bounds its counts likewise): past them the note says the rest was not
# counted, and the answer is not kept waiting for a number it only annotates.
COUNT_REST_WITHIN = 0.2


def run(stmt: ast.Find, ctx) -> Table:
    store = ctx.store
    columns = expand_columns(stmt.show)
    check_names(ctx, [c for c in columns if not isinstance(c, ast.Field)]
                + [o.key for o in stmt.order] + list(stmt.per))
    plan = plan_of(stmt, store)
    rows = ctx.select_plan(plan)
    if not (plan.newest_first and plan.limit is None and store.orders_newest_first):
        rows = sort_rows(rows, stmt.order)
    limit = stmt.limit
    if stmt.per:  # best per group: `limit N` counts in each group
        per_limit = limit is not None and limit.kind == "limit"
        rows = best_per_group(rows, stmt.per, limit.count if per_limit else 1)
        limit = None if per_limit else limit
    groups = merge_groups(rows) if stmt.merged else [[r] for r in rows]
    kept = apply_limit(groups, limit)
    hidden = len(groups) - len(kept)
    if plan.limit is not None:  # the store returned only the newest: count the rest
        counted = store.count(plan, within=COUNT_REST_WITHIN)
        hidden = None if counted is None else counted - len(kept)
    if stmt.merged:
        table_rows = [table_row(g, columns, merged=True) for g in kept]
    else:  # table_row's cells, with each column's getter looked up once
        getters = [(column_name(c), cell_getter(c)) for c in columns]
        table_rows = LazyRows(kept, lambda g: {name: get(g[0]) for name, get in getters})
        if any(isinstance(c, ast.Output) for c in columns):
            table_rows = list(table_rows)  # read the files now: the notes count what failed
    names = (["# records"] if stmt.merged else []) + [column_name(c) for c in columns]
    return Table(names, table_rows, source_rows=kept, store=store, hidden=hidden,
                 notes=ctx.notes(stmt.filter))


def check_names(ctx, keys) -> None:
    """A parameter key in `show` or `order by` that no record of the store
    has is a mistake (a misspelt name), not a column of dashes: an error
    with the closest keys and fields."""
    store, known = ctx.store, None
    for key in {k.path: k for k in keys if isinstance(k, ast.Param)}.values():
        if key.path == () or store.has_param(key.path):
            continue
        if known is None:
            known = store.param_keys()
        if key.dotted in known or not known:  # an empty store: nothing to be wrong about
            continue
        near = closest(key.dotted, list(known), cutoff=0.5)
        near += closest(key.dotted, fields.FIELDS)
        raise ctx.located(QueryError(f"no record has a field or parameter '{key.dotted}'",
                                     suggestion=quoted_choices(list(dict.fromkeys(near)))
                                     if near else None), key)


def plan_of(stmt: ast.Find, store) -> planner.Plan:
    """The plan `find` runs (and `explain find` shows and runs alike): the
    fields its columns and order keys read, the store limit it allows."""
    columns = expand_columns(stmt.show)
    wanted = {planner.key_field(c) for c in columns}
    wanted |= {planner.key_field(o.key) for o in stmt.order}
    wanted |= {group_key_field(k) for k in stmt.per}
    return planner.plan(stmt.filter, store, fields=wanted, limit=_store_limit(stmt, store),
                        newest_first=not stmt.order)


def _store_limit(stmt: ast.Find, store):
    """("latest"|"earliest", n) when only the n newest (oldest) answers by
    timestamp can be kept, so the store may return just those; ("order", n,
    keys) when only the first n by `order by` record fields the store can
    sort on."""
    if stmt.limit is None or stmt.merged or stmt.per:
        return None
    if stmt.limit.kind in ("latest", "earliest") or (stmt.limit.kind == "limit" and not stmt.order):
        return ("earliest" if stmt.limit.kind == "earliest" else "latest", stmt.limit.count)
    if stmt.limit.kind == "limit" and all(isinstance(o.key, ast.Field) and store.orders_by(o.key.name)
                                          for o in stmt.order):
        keys = tuple((o.key.name, o.descending) for o in stmt.order)
        return ("order", stmt.limit.count, keys)
    return None
