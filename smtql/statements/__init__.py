"""One module per statement, each a plain `run(stmt, ctx) -> Result`
(ctx: statements.context.StatementContext), and the one table that says
which handler runs which statement."""

from __future__ import annotations

from ..language import ast
from . import count, describe, diff, explain, export, find, group, keys, let, plot, tags, writes

HANDLERS = {
    ast.Find: find.run,
    ast.Count: count.run,
    ast.Describe: describe.run,
    ast.Diff: diff.run,
    ast.Keys: keys.run,
    ast.Group: group.run,
    ast.Tags: tags.run,
    ast.Plot: plot.run,
    ast.Explain: explain.run,
    ast.Export: export.run,
    ast.Let: let.run,
    ast.TagWrite: writes.run_tag_write,
    ast.Undo: writes.run_undo,
}


def handler(stmt):
    """The handler of a (bound) statement."""
    return HANDLERS[type(stmt)]
