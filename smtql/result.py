"""What a statement answers: plain data that renderers turn into text, CSV,
JSON, Markdown or HTML. Results never print."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    notes: list[str] = field(default_factory=list, kw_only=True)
    silent: bool = field(default=False, kw_only=True)  # a front end need not print it

    def render(self, fmt: str = "table", **options) -> str:
        from .render import render
        return render(self, fmt, **options)

    def __str__(self) -> str:
        return self.render()


@dataclass
class Table(Result):
    """Rows of a `find` (or `keys`): `columns` names, `rows` are dicts keyed by
    column. `source_rows` are the store's Rows behind each line (several for
    a merged line), for `.records`."""

    columns: list[str]
    rows: list[dict[str, Any]]
    source_rows: list[list] = field(default_factory=list, repr=False)
    store: Any = field(default=None, repr=False)
    hidden: int = 0  # rows the limit left out
    kind: str = "find"

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    @property
    def labels(self) -> list[str]:
        return [r for rows in self.source_rows for r in (row.label for row in rows)]

    @property
    def records(self) -> list:
        """Sumatra Record objects, built on request, in bulk."""
        rows = [r for rows in self.source_rows for r in rows]
        return self.store.records(rows) if rows else []

    def dataframe(self):
        import pandas as pd
        return pd.DataFrame(self.rows, columns=self.columns)

    def _repr_html_(self) -> str:
        return self.render("html")


@dataclass
class CountResult(Result):
    count: int

    def __int__(self) -> int:
        return self.count

    def __len__(self) -> int:
        return self.count

    def __eq__(self, other):
        if isinstance(other, int):
            return self.count == other
        return isinstance(other, CountResult) and self.count == other.count


@dataclass
class RecordResult(Result):
    """One record, every field (`describe`)."""

    label: str
    fields: dict[str, Any]
    row: Any = field(default=None, repr=False)
    store: Any = field(default=None, repr=False)

    @property
    def labels(self) -> list[str]:
        return [self.label]

    @property
    def records(self) -> list:
        return self.store.records([self.row])


@dataclass
class TextResult(Result):
    """A message or a plan (`let`, `explain`)."""

    text: str
    data: dict = field(default_factory=dict)
