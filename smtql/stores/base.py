"""What the executor asks of a record store, whatever holds the records."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from typing import Iterable, Iterator, Protocol

from ..language import ast
from ..language.spelling import path_text
from ..params import model as params
from ..errors import QueryError, StoreError, closest, quoted_choices
from . import outputs
from .outputs import OutputReader
from .rows import Row
from ..plan.values import MISSING


class Store(ABC):
    """A project's records, as Rows: the contract between the executor and
    whatever holds the records.

    A backend must answer `scan` and `records`. Everything else has a
    default built on those two, which a backend overrides where it can do
    better; its abilities are declared here, never probed:

    - `pushes_down`, `pushable(atom)`: whether `scan` applies `plan.pre`
      at all, and which predicates it decides exactly there (default:
      none; the post-filter decides everything);
    - `orders_newest_first`: `scan` returns rows newest first when the plan
      asks (`plan.newest_first`), so the executor need not sort;
    - `limits_scan`: `scan` honours `plan.limit` (only the n newest or
      oldest candidates, and their ties), and `count(plan)` says how many
      there are in all; `orders_by(field)`: also the first n by `order by`
      that field;
    - `count(plan)`, `explain(plan)`, `tag_counts()`, `present_tags()`, `tag_names()`,
      `param_keys()`, `has_param()`, `get_row()`: answered from `scan` by
      default;
    - `writer()`: what writes tags (default: none, a StoreError);
    - `interrupt()`: stop the running statement at once, from another
      thread (Ctrl-C; default: nothing to stop);
    - `statement_started()`, `statement_notes()`, `refresh()`: per-statement
      state, notes about what it could not read, and forgetting what it
      holds after a write;
    - `report_fault(label, field, reason)`: a record's field the store could
      not read (store content is other people's data: it never stops the
      answer), said in the statement's notes.
    """

    project: str
    location: str
    pushes_down: bool = False
    orders_newest_first: bool = False
    limits_scan: bool = False
    tags_column_limit: int | None = None  # characters a record's joined tags may take
    # The project's own data store root, when a project directory was opened
    # (registry.open_store): output files are found there. None: each
    # record's stored data store.
    data_root: str | None = None

    @abstractmethod
    def scan(self, plan) -> Iterator[Row]:
        """Rows that may satisfy `plan.pre` (a superset is fine: the executor
        applies `plan.post` to each)."""

    @abstractmethod
    def records(self, rows: Iterable[Row]) -> list:
        """The Sumatra Record objects of these rows, in the same order."""

    def records_without_parameters(self, rows: Iterable[Row]) -> list:
        """`records`, where the caller reads the parameters from the Rows
        (`describe`): a backend that builds Sumatra's parameter set objects
        on request may leave them out (None), which for a set of megabytes
        is most of the work."""
        return self.records(rows)

    def describe(self) -> str:
        return f"{type(self).__name__} {self.location} (project {self.project})"

    # -- the plan
    def pushable(self, atom) -> bool:
        """Whether `scan` decides this predicate exactly from `plan.pre`."""
        return False

    def orders_by(self, name: str) -> bool:
        """Whether `scan` honours a plan limit ("order", n, ((field,
        descending), …)): the first n rows in the executor's order of `order
        by` those record fields (needs `limits_scan`)."""
        return False

    def count(self, plan, within: float | None = None) -> int | None:
        """The number of records satisfying `plan.pre` (an answer when the
        post-filter is trivial). `scan` may return more than `plan.pre`
        selects: the pre-filter is decided here again. With `within`, a
        store that can stop counting after so many seconds may do so and
        answer None (this one always counts)."""
        from ..plan.evaluate import compile_filter
        keep = compile_filter(plan.pre)
        return sum(1 for row in self.scan(plan) if keep(row))

    def explain(self, plan, count: bool = False) -> dict:
        """What running the plan takes: the statements the store runs (none
        here), the candidates it returns, the answer after the post-filter,
        and whether the store counted the answer itself."""
        from ..plan.evaluate import compile_filter
        keep = compile_filter(plan.post)
        candidates = answer = 0
        for row in self.scan(plan):
            candidates += 1
            answer += bool(keep(row))
        return {"statements": [], "candidates": candidates, "answer": answer, "counted": False}

    # -- groups (LANGUAGE.md §9)
    def can_group(self, keys, aggregates) -> bool:
        """Whether `group` runs a group-by of these keys and aggregates in
        the store (its filter already known to be all pre-filter)."""
        return False

    def group(self, plan, keys, aggregates):
        """(lines keyed by item name, values each aggregate left out) of the
        group-by, computed by the store; only asked when `can_group`. None
        when the store cannot answer this one exactly (records it cannot
        tell are readable): the group-by then streams over `scan`."""
        raise NotImplementedError

    # -- output files
    @property
    def output_reader(self) -> OutputReader:
        """Output files of this store's rows, found and read (outputs.py)."""
        if "_output_reader" not in self.__dict__:
            self._output_reader = OutputReader(self.datastore_root)
        return self._output_reader

    def datastore_root(self, row) -> str | None:
        """The root of the data store the row's output paths are relative to."""
        if self.data_root is not None:
            return self.data_root
        return self.stored_datastore_root(row)

    def stored_datastore_root(self, row) -> str | None:
        """The root of the data store stored with the record (default:
        from its Record)."""
        records = self.records([row])
        return outputs.root_of(getattr(records[0], "datastore", None)) if records else None

    # -- per statement
    def statement_started(self) -> None:
        """A statement begins: per-statement state starts afresh."""
        self._faults = {}
        self.output_reader.started()

    def statement_notes(self) -> list[str]:
        """Notes on what the last statement could not read."""
        return fault_notes(getattr(self, "_faults", None) or {}) + self.output_reader.notes()

    def report_fault(self, label, field: str, reason: str) -> None:
        """Record `label`'s `field` could not be read, for `reason`."""
        faults = self.__dict__.setdefault("_faults", {})
        if len(faults) < MAX_FAULTS_KEPT:
            faults.setdefault((label, field), reason)
        else:
            faults[None] = faults.get(None, 0) + 1

    opening_notes: list = []  # how the store was found (registry.open_store)

    def take_opening_notes(self) -> list[str]:
        """The notes on how the store was found, once: the first answer carries them."""
        notes, self.opening_notes = list(self.opening_notes), []
        return notes

    # -- vocabularies, for notes ("no record has tag …") and completion
    def tag_counts(self) -> Counter:
        counts = Counter()
        for row in self.scan(None):
            counts.update(row.tags)
        return counts

    def keys_of(self, plan):
        """(leaf key -> number of the plan's records with it, a few of
        their parameter sets, parsed, newest first, to take examples from)
        answered without parsing every record's set (a persistent index),
        or None: `keys` then parses each record's set. Only asked when the
        plan's post-filter is trivial."""
        return None

    def param_keys(self) -> Counter:
        """Every task-folded parameter key (leaves and their prefixes), with
        how many records have it."""
        counts = Counter()
        for row in self.scan(None):
            counts.update(parameter_key_names(row.params))
        return counts

    def present_tags(self, names) -> set[str]:
        """Which of these tags some record carries."""
        counts = self.tag_counts()
        return {n for n in names if counts.get(n)}

    def tag_names(self) -> set[str]:
        """Every tag some record carries (no counts: for notes' hints)."""
        return set(+self.tag_counts())

    def has_param(self, path: tuple) -> bool:
        return any(row.param(path) is not MISSING for row in self.scan(None))

    # -- references
    def get_row(self, ref: ast.Ref) -> Row:
        rows = list(self.scan(None))
        if not rows:
            raise QueryError(f"the store holds no records for project {self.project}")
        if ref.kind == "latest":
            return max(rows, key=lambda r: (r.timestamp, r.label))
        if ref.kind == "earliest":
            return min(rows, key=lambda r: (r.timestamp, r.label))
        for row in rows:
            if row.label == ref.text:
                return row
        raise no_such_record(ref, [r.label for r in rows])

    # -- writes
    def writer(self):
        """The store's writer (smtql.stores.writers.Writer), for `tag`,
        `untag` and `undo`."""
        raise StoreError(f"smtql cannot write to {self.describe()}")

    def refresh(self) -> None:
        """Forget what the store holds in memory (after a write)."""

    def interrupt(self) -> None:
        """Stop the statement the store is running now (Ctrl-C), called from
        another thread. Default: nothing to stop, as a store read in Python
        stops at the KeyboardInterrupt itself."""

    def close(self) -> None:
        pass


class Writer(Protocol):
    """What `Store.writer()` returns: tag changes applied all or nothing.

    `apply(changes, prepare, commit_hook)` reads the current tags of the
    changed records, calls `prepare(planned_records)` (the journal's
    `begin`; it may refuse) before changing anything, makes the change in
    one transaction, calls `commit_hook(ok)` and returns the records
    changed. `current(labels)` reads tags anew, on a fresh connection."""

    project: str

    def apply(self, changes, prepare, commit_hook) -> list[dict]: ...

    def current(self, labels) -> dict: ...

    def close(self) -> None: ...


MAX_FAULTS_KEPT = 1000  # memory grows with the answer, never with the store's damage
_FAULTS_SHOWN = 10


def fault_notes(faults: dict) -> list[str]:
    """One note per unreadable field (the first few), and how many more."""
    more = faults.get(None, 0)
    items = [(k, v) for k, v in faults.items() if k is not None]
    notes = [f"record {label}: {field} could not be read ({reason})" for (label, field), reason in items[:_FAULTS_SHOWN]]
    more += len(items) - len(notes)
    if more > 0:
        notes.append(f"and {more} more unreadable field{'s' if more != 1 else ''} of records")
    return notes


def parameter_key_names(p) -> set[str]:
    names = set()
    for path, _ in params.leaves(params.folded(p)):
        for i in range(1, len(path) + 1):
            names.add(path_text(tuple(path[:i])))
    return names


def no_such_record(ref: ast.Ref, labels) -> QueryError:
    near = closest(ref.text, labels, cutoff=0.5)
    return QueryError(f"no record labelled '{ref.text}'",
                      suggestion=quoted_choices(near) if near else None)
