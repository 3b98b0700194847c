"""One module per statement, each a plain `run(stmt, ctx) -> Result`
(ctx: statements.context.StatementContext), and the one table that says
which handler runs which statement."""

from __future__ import annotations

from importlib import import_module

from ..language import ast

# Statement class → (module, function) in this package. A module is imported
# when its statement first runs: `smtql 'tag finished latest 20'` then loads
# neither the plotting, the group-by nor the writing code, which start-up time
# (a target of the speed issue) would otherwise pay for on every command.
HANDLERS = {
    ast.Find: ("find", "run"),
    ast.Count: ("count", "run"),
    ast.Describe: ("describe", "run"),
    ast.Diff: ("diff", "run"),
    ast.Keys: ("keys", "run"),
    ast.Group: ("group", "run"),
    ast.Tags: ("tags", "run"),
    ast.Plot: ("plot", "run"),
    ast.Explain: ("explain", "run"),
    ast.Export: ("export", "run"),
    ast.Let: ("let", "run"),
    ast.TagWrite: ("writes", "run_tag_write"),
    ast.Undo: ("writes", "run_undo"),
}


def handler(stmt):
    """The handler of a (bound) statement."""
    module, function = HANDLERS[type(stmt)]
    return getattr(import_module(f"{__name__}.{module}"), function)
