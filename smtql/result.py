"""What a statement answers: plain data that renderers turn into text, CSV,
JSON, Markdown or HTML. Results never print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from .cellvalues import Distinct, Folded, digest  # noqa: F401 - part of the result's data


@dataclass(repr=False)
class Result:
    """A statement's answer. `shape` says which renderer draws it."""

    shape: ClassVar[str] = ""
    notes: list[str] = field(default_factory=list, kw_only=True)
    silent: bool = field(default=False, kw_only=True)  # a front end need not print it
    statement: str = field(default="", kw_only=True)  # the statement as written

    def render(self, fmt: str = "table", **options) -> str:
        from .render import render
        return render(self, fmt, **options)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:  # short: a debugger or a log line need not draw the table
        return f"<smtql {type(self).__name__}: {self.summary()}>"

    def summary(self) -> str:
        return self.shape

    # How terminal IPython shows it: as the command line would. (The
    # subclasses define no __repr__ of their own, or IPython would use it.)
    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.render("table"))

    # How a notebook draws it: the first rows of a table (as jupysql's
    # displaylimit; the result keeps them all). The %smtql magic sets its
    # own on the results it returns (%config SmtqlMagic.displaylimit, …).
    html_options: ClassVar[dict] = {"limit": 10}

    def _repr_html_(self) -> str:  # how a notebook shows it
        return self.render("html", **self.html_options)


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


@dataclass(repr=False)
class Table(Result):
    """Rows of a `find` (or `keys`): `columns` names, `rows` are dicts keyed by
    column. `source_rows` are the store's Rows behind each line (several for
    a merged line), for `.records`."""

    shape: ClassVar[str] = "table"

    columns: list[str]
    rows: list[dict[str, Any]]
    source_rows: list[list] = field(default_factory=list, repr=False)
    store: Any = field(default=None, repr=False)
    hidden: int | None = 0  # rows the limit left out; None: not counted (too long)
    kind: str = "find"

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def summary(self) -> str:
        return f"{len(self)} rows × {len(self.columns)} columns"

    def __getitem__(self, index):
        """A row as a RecordView (a dict of its cells, also read as
        attributes; `.record` its Sumatra Record); a slice gives a list."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"the table has {len(self)} rows")
        sources = self.source_rows[index] if index < len(self.source_rows) else []
        return RecordView(self.rows[index], sources, self.store)

    @property
    def labels(self) -> list[str]:
        return [row.label for rows in self.source_rows for row in rows]

    @property
    def records(self) -> list:
        """Sumatra Record objects, built on request, in bulk."""
        rows = self._answer_rows()
        return self.store.records(rows) if rows else []

    def _answer_rows(self) -> list:
        return [r for rows in self.source_rows for r in rows]

    def outputs(self):
        """A DataFrame of every output file of the answer: label, path
        (relative to the data store), resolved (on this machine), digest,
        size, on_disk, digest_matches."""
        from .stores.outputs import files_frame
        return files_frame(self._answer_rows(), self.store)

    def load(self, glob: str, allow_pickle: bool = False) -> dict:
        """label -> the loaded content of the record's first output file
        matching `glob`: JSON, YAML, TOML as data, CSV as a DataFrame,
        `.npy`/`.npz` through NumPy, text otherwise; a pickle only with
        `allow_pickle=True`."""
        from .stores.outputs import load_files
        return load_files(self._answer_rows(), self.store, glob, allow_pickle)

    def dataframe(self):
        """The table as pandas sees data: a key a record lacks and a null
        field are missing values (`isna()`), numeric columns numeric."""
        return frame([{c: _missing_as_none(row[c]) for c in self.columns} for row in self.rows],
                     self.columns)


class RecordView(dict):
    """One row of a table: its cells by column name, also as attributes
    (`row.label`, `row["optimizer.lr"]`); `.record` builds the Sumatra
    Record behind it."""

    def __init__(self, cells: dict, sources: list, store):
        super().__init__(cells)
        self._sources, self._store = sources, store

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def record(self):
        records = self._store.records(self._sources[:1]) if self._sources else []
        return records[0] if records else None


def _missing_as_none(value):
    from .plan.values import MISSING
    return None if value is MISSING else value


def frame(rows: list[dict], columns):
    """A DataFrame whose missing values pandas knows as missing, and whose
    columns of numbers (with gaps) are numeric."""
    import pandas as pd
    df = pd.DataFrame(rows, columns=list(columns))
    for name in df.columns:
        column = df[name]
        known = column.dropna()
        if len(known) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                              for v in known):
            df[name] = pd.to_numeric(column)
        elif column.dtype == object:
            df[name] = column.where(column.notna(), None)
    return df


@dataclass(eq=False, repr=False)
class CountResult(Result):
    """A number of records; it is one (`res + 1`, `int(res)`, `res > 3`)."""

    shape: ClassVar[str] = "count"
    count: int

    def summary(self) -> str:
        return str(self.count)

    def __int__(self) -> int:
        return self.count

    __index__ = __int__

    def __float__(self) -> float:
        return float(self.count)

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return bool(self.count)

    def __hash__(self) -> int:
        return hash(self.count)

    @staticmethod
    def _number(other):
        if isinstance(other, CountResult):
            return other.count
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return other
        return None

    def __eq__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count == n

    def __lt__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count < n

    def __le__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count <= n

    def __gt__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count > n

    def __ge__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count >= n

    def __add__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count + n

    __radd__ = __add__

    def __sub__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count - n

    def __rsub__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else n - self.count

    def __mul__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count * n

    __rmul__ = __mul__

    def __truediv__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else self.count / n

    def __rtruediv__(self, other):
        n = self._number(other)
        return NotImplemented if n is None else n / self.count


@dataclass(repr=False)
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


@dataclass(repr=False)
class RecordsResult(Result):
    """Several records, every field of each (`describe A, B`, `describe
    where SELECTION`), one after another. The rows are held; the records'
    fields are read `chunk` rows at a time as they are drawn
    (`described()`), so a describe of thousands of records never holds
    their Records or their text at once. `read(rows)` gives the fields of
    a chunk; `columns` names them (a CSV's header, with no record too)."""

    shape: ClassVar[str] = "records"

    rows: list = field(repr=False)
    read: Any = field(repr=False)
    columns: tuple[str, ...] = ()
    store: Any = field(default=None, repr=False)
    chunk: int = 50
    first: list | None = field(default=None, repr=False)  # the first chunk's fields, read ahead

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def labels(self) -> list[str]:
        return [r.label for r in self.rows]

    @property
    def records(self) -> list:
        return self.store.records(self.rows) if self.rows else []

    def summary(self) -> str:
        return f"{len(self.rows)} records described"

    def read_ahead(self) -> None:
        """Read the first chunk now: what the store could not read of it
        is in the statement's notes, printed before the answer."""
        if self.first is None:
            self.first = self.read(self.rows[:self.chunk])

    def described(self):
        """Each record as a RecordResult, in order, read chunk by chunk."""
        for start in range(0, len(self.rows), self.chunk):
            part = self.rows[start:start + self.chunk]
            fields = self.first if start == 0 and self.first is not None else self.read(part)
            for row, fields_of_row in zip(part, fields):
                yield RecordResult(row.label, fields_of_row, row=row, store=self.store)

    def late_notes(self) -> list[str]:
        """The store's notes on the records read while drawing, not yet said."""
        if self.store is None:
            return []
        return [n for n in self.store.statement_notes() if n not in self.notes]


@dataclass(repr=False)
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
    default_depth: bool = False  # folded by a renderer to fit: no depth was asked
    raw: bool = False
    ignored: list[str] = field(default_factory=list)
    source_rows: list = field(default_factory=list, repr=False)
    store: Any = field(default=None, repr=False)
    # No depth asked, more than two records: the parameters, ready to be
    # folded to the depth a page holds (statements.diff.Folds); else None.
    folds: Any = field(default=None, repr=False)
    # Fields left out so the table fits (a renderer's choice, not the user's).
    dropped: list[str] = field(default_factory=list)
    fitted_to: str = ""  # what a renderer folded or dropped for: "80 columns"

    def folded_to(self, depth: int, fitted_to: str = "") -> "DiffResult":
        """The same diff with its parameter keys folded to `depth` (as if
        asked without `depth` and folded to fit). Only a diff with `folds`."""
        params, folded_names = self.folds.at(depth)
        return replace(self, params=params, folded=folded_names, depth=depth,
                       default_depth=True, fitted_to=fitted_to)

    def without_fields(self, names) -> "DiffResult":
        """The same diff with the fields `names` left out (to fit a page)."""
        names = list(names)
        return replace(self, fields=[(n, c) for n, c in self.fields if n not in names],
                       dropped=self.dropped + names)

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
        rows = [{name: None if cells[i] is MISSING else (
                    str(cells[i]) if isinstance(cells[i], Folded) else cells[i])
                 for name, cells in self.columns} for i in range(len(self.labels))]
        df = frame(rows, [name for name, _ in self.columns])
        df.index = pd.Index(self.labels, name="label")
        return df


@dataclass(repr=False)
class TextResult(Result):
    """A message or a plan (`let`, `explain`)."""

    shape: ClassVar[str] = "text"

    text: str
    data: dict = field(default_factory=dict)
    # The text is itself the answer in its own format (an export's JSON):
    # every renderer prints it as it is.
    verbatim: bool = False


@dataclass
class Series:
    """One line (bars, points) of a chart: its name in the legend, its
    points, the unit of its values ("duration", "time" or ""), and the
    column it draws. Series of another unit get a y axis of their own."""

    name: str
    x: list
    y: list
    y_unit: str = ""
    column: str = ""  # the y column (or aggregate) it draws: its axis says so


@dataclass(repr=False)
class PlotResult(Result):
    """A chart (`plot`): what to draw, not yet drawn. `.figure` is a
    matplotlib Figure a user can restyle; a notebook shows it inline."""

    shape: ClassVar[str] = "plot"

    kind: str
    x: str
    ys: list[str]
    series: list[Series]
    color: str | None = None
    title: str = ""
    x_unit: str = ""
    path: str | None = None  # written there (`to "FILE"`)
    text: str = ""

    def summary(self) -> str:
        return f"{self.kind} chart of {', '.join(self.ys) or self.x} by {self.x}"

    @property
    def figure(self):
        if getattr(self, "_figure", None) is None:
            from .render.chart import figure
            self._figure = figure(self)
        return self._figure

    def _repr_png_(self):  # a notebook shows the chart inline
        import io
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()

    def _repr_html_(self):
        return None  # the PNG, not a table

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text or self.summary())
