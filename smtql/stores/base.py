"""What the executor asks of a record store, whatever holds the records."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from typing import Iterable, Iterator

from .. import ast, params
from ..errors import QueryError, closest, quoted_choices
from ..rows import Row
from ..values import MISSING


class Store(ABC):
    """A project's records, as Rows. Subclasses answer `scan` and `records`;
    everything else has a default built on them."""

    project: str
    location: str

    @abstractmethod
    def scan(self, plan) -> Iterator[Row]:
        """Rows that may satisfy `plan.pre` (a superset is fine: the executor
        applies `plan.post` to each)."""

    @abstractmethod
    def records(self, rows: Iterable[Row]) -> list:
        """The Sumatra Record objects of these rows, in the same order."""

    def describe(self) -> str:
        return f"{type(self).__name__} {self.location} (project {self.project})"

    # -- vocabularies, for notes ("no record has tag …") and completion
    def tag_counts(self) -> Counter:
        counts = Counter()
        for row in self.scan(None):
            counts.update(row.tags)
        return counts

    def param_keys(self) -> Counter:
        """Every task-folded parameter key (leaves and their prefixes), with
        how many records have it."""
        counts = Counter()
        for row in self.scan(None):
            counts.update(parameter_key_names(row.params))
        return counts

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

    def close(self) -> None:
        pass


def parameter_key_names(p) -> set[str]:
    names = set()
    for path, _ in params.leaves(params.folded(p)):
        for i in range(1, len(path) + 1):
            names.add(params.dotted(path[:i]))
    return names


def no_such_record(ref: ast.Ref, labels) -> QueryError:
    near = closest(ref.text, labels, cutoff=0.5)
    return QueryError(f"no record labelled '{ref.text}'",
                      suggestion=quoted_choices(near) if near else None)
