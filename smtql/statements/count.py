"""`count FILTER`: the number of matching records."""

from __future__ import annotations

from ..language import ast
from ..plan import planner
from ..result import CountResult


def run(stmt: ast.Count, ctx) -> CountResult:
    plan = plan_of(stmt, ctx.store)
    if plan.post_is_trivial:
        n = ctx.store.count(plan)  # the store counts: no rows
    else:  # counted as they stream by: memory holds one chunk, not the answer
        n = ctx.count_plan(plan)
    return CountResult(n, notes=ctx.notes(stmt.filter))


def plan_of(stmt: ast.Count, store) -> planner.Plan:
    """The plan `count` runs (and `explain count` alike): no columns."""
    return planner.plan(stmt.filter, store, fields=())
