"""The view of a record that filters read and tables show.

Every store backend yields `Row`s: the SQL backend builds them from columns,
the Sumatra-API backend from `sumatra.records.Record` objects. Filters and
renderers only ever see this one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..params import model as _params
from ..language.dates import as_utc


@dataclass(eq=False)
class Row:
    label: str
    timestamp: datetime
    tags: frozenset = frozenset()
    reason: str = ""
    outcome: str = ""
    main_file: str = ""
    version: str = ""
    user: str = ""
    script_arguments: str = ""
    stdout_stderr: str = ""
    duration: float | None = None
    outputpath: tuple = ()
    executable: str | None = None
    repository: str | None = None
    params: Any = field(default=None, repr=False)
    # A backend's own handle on the record (a primary key, a Record).
    handle: Any = field(default=None, repr=False, compare=False)
    # The store that read it: what builds its Record and finds its output
    # files, for the filters that need them (LANGUAGE.md §11).
    store: Any = field(default=None, repr=False, compare=False)

    @property
    def outputs(self) -> int:
        return len(self.outputpath)

    def value_of(self, name: str):
        """A record field's value by its canonical name (fields.FIELDS)."""
        if name == "tags":
            return tuple(sorted(self.tags))
        return getattr(self, name)

    def param(self, path: tuple):
        return _params.lookup(self.params, path)

    def __getstate__(self) -> dict:  # pickled without its store (a connection)
        return {**self.__dict__, "store": None}

    def record(self):
        """The Sumatra Record, built by the store without side effects."""
        return self.store.records([self])[0]

    def output_value(self, glob: str, path: tuple):
        return self.store.output_reader.value(self, glob, path)

    def outputs_missing(self) -> bool:
        return self.store.output_reader.missing(self)


def text(value) -> str:
    """Sumatra text columns: null reads as empty text; smttask stores some
    reasons as tuples of lines."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value)


def from_record(record, store=None) -> Row:
    """A Row from a Sumatra Record, reading only what Sumatra itself read."""
    return Row(
        label=record.label,
        timestamp=as_utc(record.timestamp),
        tags=frozenset(record.tags or ()),
        reason=text(record.reason),
        outcome=text(record.outcome),
        main_file=text(record.main_file),
        version=text(record.version),
        user=text(record.user),
        script_arguments=text(record.script_arguments),
        stdout_stderr=text(record.stdout_stderr),
        duration=record.duration,
        outputpath=tuple(key.path for key in (record.output_data or ())),
        executable=getattr(record.executable, "path", None),
        repository=getattr(record.repository, "url", None),
        params=_params.plain(record.parameters),
        handle=record,
        store=store,
    )
