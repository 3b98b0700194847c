"""`tags [FILTER]`: every tag the matched records carry, status tags as
their status words, with how many records carry each (most first)."""

from __future__ import annotations

from collections import Counter

from ..language import ast, fields
from ..result import Table


def run(stmt: ast.Tags, ctx) -> Table:
    counts = Counter()
    for row in ctx.select(stmt.filter, fields={"tags"}):
        # a record tagged both `finished` and `_finished_` counts once
        counts.update({fields.tag_word(t) for t in row.tags})
    lines = [{"tag": t, "records": n}
             for t, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    return Table(["tag", "records"], lines, store=ctx.store, kind="tags",
                 notes=ctx.notes(stmt.filter))
