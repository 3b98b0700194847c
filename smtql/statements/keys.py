"""`keys FILTER`: the parameter keys of the matched records, with how many
records have each and a few example values."""

from __future__ import annotations

from collections import Counter

from ..language import ast
from ..language.spelling import path_text
from ..params.model import folded, leaves
from ..plan import planner, values
from ..result import Table


def run(stmt: ast.Keys, ctx) -> Table:
    plan = planner.plan(stmt.filter, ctx.store, fields={"params"})
    indexed = ctx.store.keys_of(plan) if plan.post_is_trivial else None
    if indexed is not None:  # counted from the store's index: a few sets parsed, for examples
        counts, sample = indexed
        examples = {name: [] for name in counts}
        for params in sample:
            _add_examples(examples, params)
    else:  # every record's set parsed
        counts, examples = Counter(), {}
        for row in ctx.select_plan(plan):
            for name in _add_examples(examples, row.params):
                counts[name] += 1
    table_rows = [{"key": k, "records": n, "examples": examples[k]}
                  for k, n in sorted(counts.items(), key=_listed_order)]
    return Table(["key", "records", "examples"], table_rows, store=ctx.store,
                 kind="keys", notes=ctx.notes(stmt.filter))


def _add_examples(examples: dict, params) -> list[str]:
    """Add a set's leaf values to the examples (at most 3 distinct a key);
    the names of its leaf keys."""
    names = []
    for path, value in leaves(folded(params)):
        name = path_text(tuple(path))
        names.append(name)
        seen = examples.setdefault(name, [])
        if len(seen) < 3 and not any(values.equal(value, s) for s in seen):
            seen.append(value)
    return names


def _listed_order(item) -> tuple:
    """Keys in alphabetical order of what they name: `params.status` (the
    spelling a query needs) is listed under s, beside `seed`."""
    name = item[0]
    return (name.removeprefix("params."), name)

