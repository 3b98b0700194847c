"""The executor: runs a program's statements against a store, one after
another, and yields their results. Nothing here prints.

Each statement is bound (variables, relative dates: one "now" per program)
and handed to its handler in smtql.statements, with a StatementContext: the
store, the selection (plan, pre-filter in the store, post-filter here) and
the notes every answer carries.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from .errors import SmtqlError
from .language import ast
from .language.bind import Context, bind_statement
from .result import Result
from .statements import handler
from .statements.context import StatementContext


@dataclass
class Executor:
    store: Any
    variables: dict = field(default_factory=dict)
    now: datetime | None = None
    # Writes (`tag`, `untag`, `undo`): show the change only; or ask first
    # (`confirm(preview) -> bool`, the CLI's prompt). None: the statement
    # itself is the confirmation (Python, notebooks).
    dry_run: bool = False
    confirm: Callable | None = None

    def run(self, program: ast.Program) -> Iterator[Result]:
        """Run each statement in turn, yielding its result."""
        binding = Context(variables=self.variables, now=self.now or datetime.now(timezone.utc),
                          source=program.source, filename=program.filename)
        ctx = StatementContext(self.store, binding, dry_run=self.dry_run, confirm=self.confirm)
        binding.resolve_ref = ctx.resolve
        for stmt in program.statements:
            try:
                result = self.run_statement(stmt, ctx)
                if stmt.span is not None:
                    result.statement = program.source[stmt.span.start:stmt.span.end].strip()
                yield result
            except SmtqlError as err:
                if program.filename and not err.filename:
                    err.filename = program.filename
                raise

    def run_statement(self, stmt, ctx: StatementContext) -> Result:
        self.store.statement_started()
        bound = bind_statement(stmt, ctx.binding)
        with _collections_spaced():
            result = handler(bound)(bound, ctx)
        opening = self.store.take_opening_notes()
        if opening:
            result.notes[:0] = opening
        return result


# Allocations between two collections of the young generation while a
# statement runs (Python's default: 700).
SPACED_THRESHOLD = 50_000


@contextmanager
def _collections_spaced():
    """A statement builds its answer's rows by the hundred thousand, all kept
    alive until it ends. With Python's default thresholds the cyclic
    collector runs every 700 allocations and, as the answer grows, rescans
    it whole again and again: a third of the time of a 70,000-row `find`.
    Spaced out, a statement still collects (garbage stays bounded: a
    ConfigParser parameter set leaves reference cycles), but the answer is
    scanned a few times, not dozens."""
    old = gc.get_threshold()
    if old[0] == 0 or old[0] >= SPACED_THRESHOLD:  # turned off, or spaced already
        yield
        return
    gc.set_threshold(SPACED_THRESHOLD, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
