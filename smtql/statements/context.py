"""What a statement's handler is given: the store and a few services, not
the executor. Every handler is a plain `run(stmt, ctx) -> Result`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import SmtqlError
from ..language import ast
from ..language.bind import Context as Binding
from ..plan import planner
from ..plan.evaluate import compile_filter
from .notes import filter_notes


@contextlib.contextmanager
def scanning(store, plan):
    """The store's rows for the plan, the scan closed however the caller
    stops (a Python predicate that raises): its read transaction ends now,
    not when the generator is collected."""
    rows = store.scan(plan)
    try:
        yield rows
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


@dataclass
class StatementContext:
    store: Any  # a smtql.stores.base.Store
    binding: Binding  # variables, "now", the program's source
    # Writes (`tag`, `untag`, `undo`): show the change only; or ask first
    # (`confirm(preview) -> bool`, the CLI's prompt). None: the statement
    # itself is the confirmation (Python, notebooks).
    dry_run: bool = False
    confirm: Callable | None = None

    def select(self, f, fields=None, limit=None) -> list:
        """The rows the filter selects: store pre-filter, then post-filter.
        `fields`: the row fields needed besides the filter's (None: all);
        `limit`: ("latest"|"earliest", n) when only the n newest/oldest
        answers matter (the store may then return fewer candidates)."""
        return self.select_plan(planner.plan(f, self.store, fields=fields, limit=limit))

    def select_where(self, f, select, fields=None) -> list:
        """The rows a SELECTION chooses (`where F order by … per … limit
        N`), in its order (newest first without one)."""
        from .selection import choose, selection_fields
        if fields is not None:
            fields = set(fields) | selection_fields(select)
        return choose(self.select(f, fields=fields), select)

    def select_plan(self, plan) -> list:
        keep = compile_filter(plan.post)
        with scanning(self.store, plan) as rows:
            return [row for row in rows if keep(row)]

    def count_plan(self, plan) -> int:
        """How many rows the plan selects, never holding them all."""
        keep = compile_filter(plan.post)
        with scanning(self.store, plan) as rows:
            return sum(1 for row in rows if keep(row))

    def notes(self, f, keys=()) -> list[str]:
        return filter_notes(self.store, f, keys)

    def resolve(self, ref: ast.Ref):
        """The row a REF names (a label, `latest`, `earliest`)."""
        try:
            return self.store.get_row(ref)
        except SmtqlError as err:
            raise self.located(err, ref) from None

    def located(self, err: SmtqlError, node) -> SmtqlError:
        """The error, pointing at `node` in the program (unless it points
        somewhere already)."""
        span = getattr(node, "span", None)
        if span is not None and err.line is None:
            err.at(self.binding.source, span.start, span.end)
        return err

    def refusals_located(self, stmt, fn, *args):
        """fn(*args), its refusals (exit 1) pointing at the statement."""
        try:
            return fn(*args)
        except SmtqlError as err:
            if err.exit_status == 1:
                raise self.located(err, stmt) from None
            raise
