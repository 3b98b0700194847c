"""What a statement answers: plain data that renderers turn into text, CSV,
JSON, Markdown or HTML. Results never print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .cellvalues import Distinct, Folded, digest  # noqa: F401 - part of the result's data


@dataclass
class Result:
    """A statement's answer. `shape` says which renderer draws it."""

    shape: ClassVar[str] = ""
    notes: list[str] = field(default_factory=list, kw_only=True)
    silent: bool = field(default=False, kw_only=True)  # a front end need not print it

    def render(self, fmt: str = "table", **options) -> str:
        from .render import render
        return render(self, fmt, **options)

    def __str__(self) -> str:
        return self.render()

    def _repr_pretty_(self, printer, cycle) -> None:  # how terminal IPython shows it
        printer.text(self.render("table"))

    def _repr_html_(self) -> str:  # how a notebook shows it
        return self.render("html")


class LazyRows(Sequence):
    """A table's rows, built from the store's rows the first time they are
    read: an answer that is only counted, listed by label or turned into
    records never pays for its cells."""

    def __init__(self, source: list, build):
        self._source, self._build, self._rows = source, build, None

    def _all(self) -> list:
        if self._rows is None:
            self._rows = [self._build(s) for s in self._source]
        return self._rows

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, index):
        return self._all()[index]

    def __iter__(self):
        return iter(self._all())

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return f"LazyRows({len(self)} rows)"


@dataclass
class Table(Result):
    """Rows of a `find` (or `keys`): `columns` names, `rows` are dicts keyed by
    column. `source_rows` are the store's Rows behind each line (several for
    a merged line), for `.records`."""

    shape: ClassVar[str] = "table"

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
        return pd.DataFrame(list(self.rows), columns=self.columns)


@dataclass
class CountResult(Result):
    shape: ClassVar[str] = "count"
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

    shape: ClassVar[str] = "record"

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
class DiffResult(Result):
    """What differs between records (`diff`). `fields` and `params` are
    (name, cells) pairs, the cells aligned with `labels`; a cell is the
    record's value, `MISSING` where the record lacks the key (not the same
    as a stored null), or a `Folded` sub-tree for the keys in `folded`."""

    shape: ClassVar[str] = "diff"

    labels: list[str]
    fields: list[tuple[str, tuple]]
    params: list[tuple[str, tuple]]
    folded: list[str] = field(default_factory=list)
    compared: int = 0  # parameter keys (leaves) compared
    depth: int | None = None
    raw: bool = False
    ignored: list[str] = field(default_factory=list)
    source_rows: list = field(default_factory=list, repr=False)
    store: Any = field(default=None, repr=False)

    @property
    def pair(self) -> bool:
        """Two records: shown as two columns, one line per difference."""
        return len(self.labels) == 2

    @property
    def columns(self) -> list[tuple[str, tuple]]:
        """Fields, then parameter keys."""
        return self.fields + self.params

    @property
    def differs(self) -> bool:
        return bool(self.fields or self.params)

    @property
    def records(self) -> list:
        return self.store.records(self.source_rows)

    def dataframe(self):
        """One row per record, one column per difference (missing keys and
        folded sub-trees as None and `<+> digest`)."""
        import pandas as pd
        from .plan.values import MISSING
        data = {name: [None if c is MISSING else (str(c) if isinstance(c, Folded) else c)
                       for c in cells] for name, cells in self.columns}
        return pd.DataFrame(data, index=pd.Index(self.labels, name="label"))


@dataclass
class TextResult(Result):
    """A message or a plan (`let`, `explain`)."""

    shape: ClassVar[str] = "text"

    text: str
    data: dict = field(default_factory=dict)
    # The text is itself the answer in its own format (an export's JSON):
    # every renderer prints it as it is.
    verbatim: bool = False
