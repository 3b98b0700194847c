"""`count FILTER`: the number of matching records."""

from __future__ import annotations

from ..language import ast
from ..plan import planner
from ..result import CountResult


def run(stmt: ast.Count, ctx) -> CountResult:
    plan = planner.plan(stmt.filter, ctx.store, fields=())
    if plan.post_is_trivial:
        n = ctx.store.count(plan)  # the store counts: no rows
    else:
        n = len(ctx.select_plan(plan))
    return CountResult(n, notes=ctx.notes(stmt.filter))
