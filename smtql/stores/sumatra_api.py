"""Any Sumatra RecordStore (shelve, Django, HTTP), read through Sumatra's
own API: every record is loaded and every filter runs in Python. This is
the smttask way, kept for stores SQL cannot reach, and the oracle the
differential tests compare the SQL backend with."""

from __future__ import annotations

from typing import Iterable, Iterator

from ..errors import StoreError
from ..progress import progress
from ..rows import Row, from_record
from .base import Store


class SumatraApiStore(Store):
    def __init__(self, record_store, project: str, location: str):
        self.record_store = record_store
        self.project = project
        self.location = location
        self._rows: list[Row] | None = None

    def _load(self) -> list[Row]:
        if self._rows is None:
            try:
                with progress(description="reading records") as bar:
                    self._rows = [from_record(r)
                                  for r in _each_record(self.record_store, self.project, bar)]
            except Exception as err:  # Sumatra raises bare Exceptions
                raise StoreError(f"could not read the records of {self.location}: {err}") from None
        return self._rows

    def scan(self, plan) -> Iterator[Row]:
        return iter(self._load())

    def records(self, rows: Iterable[Row]) -> list:
        return [row.handle for row in rows]

    def refresh(self) -> None:
        self._rows = None


def _each_record(record_store, project: str, bar):
    """The project's records as `record_store.list(project)` gives them,
    one at a time where the store allows it (Django: the same query and
    `to_sumatra()` as Sumatra's own `list`), so a long read shows progress."""
    manager = getattr(record_store, "_manager", None)
    if manager is None:
        records = record_store.list(project)
        bar.total = len(records)
        for record in records:
            bar.advance()
            yield record
        return
    db_records = manager.filter(project__id=project).select_related()
    bar.total = db_records.count()
    for db_record in db_records:
        yield db_record.to_sumatra()
        bar.advance()


def open_api_store(location, project: str | None) -> SumatraApiStore:
    """Open `location` with Sumatra's own RecordStore classes."""
    from ..discovery import DJANGO, choose_project
    try:
        if location.kind == DJANGO:
            from sumatra.recordstore.django_store import DjangoRecordStore
            record_store = DjangoRecordStore(location.uri)
        else:
            from sumatra.recordstore.shelve_store import ShelveRecordStore
            record_store = ShelveRecordStore(location.uri)
        available = record_store.list_projects()
    except Exception as err:  # Django and shelve raise many kinds
        raise StoreError(f"could not open the record store {location.uri}: {err}") from None
    name = choose_project(location, project, available)
    return SumatraApiStore(record_store, name, location.uri)
