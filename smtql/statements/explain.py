"""`explain STATEMENT`: the plan of a statement's filter (pre-filter run by
the store, post-filter run in Python), the SQL it runs, and how many
candidates each part leaves."""

from __future__ import annotations

import re

from ..language import ast
from ..language.unparse import filter_text
from ..plan import planner
from ..result import TextResult


def run(stmt: ast.Explain, ctx) -> TextResult:
    inner = stmt.statement
    if isinstance(inner, ast.Group):
        return _explain_group(inner, ctx)
    f = getattr(inner, "filter", None) or getattr(inner, "where", None)
    if f is None:
        return TextResult(f"{type(inner).__name__.lower()}: no filter to plan")
    count = isinstance(inner, ast.Count)
    return explain_plan(_plan_of(inner, f, ctx.store), ctx.store, count=count)


def _plan_of(inner, f, store) -> planner.Plan:
    """The very plan the statement runs (its fields, its store limit), so
    `explain` shows the SQL it sends and costs no more than running it."""
    from . import count, find, group
    if isinstance(inner, ast.Group):
        return group.plan_of(inner, store)
    if isinstance(inner, ast.Count):
        return count.plan_of(inner, store)
    if isinstance(inner, ast.Find):
        return find.plan_of(inner, store)
    if isinstance(inner, ast.TagWrite):
        return planner.plan(f, store, fields={"tags"})  # what writes.py selects
    return planner.plan(f, store)


def _explain_group(stmt: ast.Group, ctx) -> TextResult:
    """A group-by's plan: in the store (its GROUP BY statement) or streamed
    through Python (the scan's plan)."""
    from . import group
    store = ctx.store
    plan = group.plan_of(stmt, store)
    pushed = None
    if group.pushable(plan, store, stmt):
        from ..plan.evaluate import group_items
        pushed = store.group(plan, stmt.keys, group_items(stmt)[1])
    if pushed is not None:
        lines, _ = pushed
        info = {"statements": store.last_group_statements, "candidates": len(lines),
                "answer": len(lines), "groups": True}
        how = "in the store: one SQL GROUP BY"
    else:  # (or the store could not answer exactly: see Store.group)
        info = store.explain(plan)
        how = "in Python, streaming: memory grows with the number of groups, not of records"
    result = explain_plan(plan, store, info=info)
    result.text += f"\ngroup by:    {how}"
    result.data["group_by"] = "store" if info.get("groups") else "python"
    return result


def explain_plan(plan, store, count: bool = False, info=None) -> TextResult:
    if info is None:
        info = store.explain(plan, count=count)  # the store runs the plan once
    candidates, answer, statements = info["candidates"], info["answer"], info["statements"]
    lines = [
        f"store:       {store.describe()}",
        f"filter:      {filter_text(plan.filter)}",
        f"pre-filter:  {filter_text(plan.pre)}   (run by the store)",
        f"post-filter: {filter_text(plan.post)}   (run in Python)",
    ]
    if statements:
        lines.append(f"sql:         {len(statements)} statement{'s' if len(statements) != 1 else ''}")
        for i, (text, params) in enumerate(statements, 1):
            lines.append(f"  -- {i}")
            lines.extend("  " + line for line in sql_layout(text).splitlines())
            if params:
                lines.append("    -- parameters: " + _short_params(params))
    if info.get("groups"):
        lines.append(f"groups:      {answer} from the store")
    elif info.get("counted"):
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


_PLACEHOLDER_RUN = re.compile(r"(?:\?|%s)(?:, (?:\?|%s))+")
_SHOWN_PLACEHOLDERS = 6  # a longer run shows its first three and how many


def sql_layout(text: str) -> str:
    """A statement laid out one clause per line (sqlparse), with a long run
    of bound placeholders shown as its first few and how many there are."""
    import sqlparse  # only `explain` draws SQL

    runs = []

    def hold(m):
        runs.append(m.group(0))
        return f"__smtql_run_{len(runs) - 1}__"
    laid = sqlparse.format(_PLACEHOLDER_RUN.sub(hold, text), reindent=True)
    for i, run in enumerate(runs):
        marks = run.split(", ")
        if len(marks) > _SHOWN_PLACEHOLDERS:
            run = ", ".join(marks[:3]) + f", … ({len(marks)} values)"
        laid = laid.replace(f"__smtql_run_{i}__", run)
    return laid
