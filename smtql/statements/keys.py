"""`keys FILTER`: the parameter keys of the matched records, with how many
records have each and a few example values."""

from __future__ import annotations

from collections import Counter

from ..language import ast
from ..language.spelling import path_text
from ..params.model import folded, leaves
from ..plan import values
from ..result import Table


def run(stmt: ast.Keys, ctx) -> Table:
    rows = ctx.select(stmt.filter, fields={"params"})
    counts, examples = Counter(), {}
    for row in rows:
        for path, value in leaves(folded(row.params)):
            name = path_text(tuple(path))
            counts[name] += 1
            seen = examples.setdefault(name, [])
            if len(seen) < 3 and not any(values.equal(value, s) for s in seen):
                seen.append(value)
    table_rows = [{"key": k, "records": n, "examples": examples[k]}
                  for k, n in sorted(counts.items(), key=_listed_order)]
    return Table(["key", "records", "examples"], table_rows, store=ctx.store,
                 kind="keys", notes=ctx.notes(stmt.filter))


def _listed_order(item) -> tuple:
    """Keys in alphabetical order of what they name: `params.status` (the
    spelling a query needs) is listed under s, beside `seed`."""
    name = item[0]
    return (name.removeprefix("params."), name)

