"""Any Sumatra RecordStore (shelve, Django, HTTP), read through Sumatra's
own API: every record is loaded and every filter runs in Python. This is
the smttask way, kept for stores SQL cannot reach, and the oracle the
differential tests compare the SQL backend with."""

from __future__ import annotations

import math
import os
import shutil
from datetime import datetime
from typing import Iterable, Iterator

from ..errors import StoreError
from ..progress import progress
from .rows import Row, from_record
from .base import Store
from .faults import fault_point
from . import lean_sumatra


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
                    rows = (self._row(r)
                            for r in _each_record(self.record_store, self.project, bar))
                    self._rows = [row for row in rows if row is not None]
            except StoreError:
                raise
            except Exception as err:  # Sumatra raises bare Exceptions
                raise StoreError(f"could not read the records of {self.location}: {err}") from None
        return self._rows

    def _row(self, record) -> Row | None:
        """The record's Row; a record Sumatra could not order or show (a
        timestamp that is no datetime: a damaged shelf) is reported and left
        out, and a duration that is no number of seconds reads as null."""
        label = str(getattr(record, "label", "?"))
        try:
            row = from_record(record, self)
        except (TypeError, ValueError, AttributeError, OverflowError) as err:
            field = "timestamp" if not isinstance(getattr(record, "timestamp", None), datetime) \
                else "record"
            self.report_fault(label, field, f"{type(err).__name__}: {str(err)[:80]}")
            return None
        d = row.duration
        if not (d is None or type(d) is int or (type(d) is float and math.isfinite(d))):
            self.report_fault(label, "duration", f"{type(d).__name__} {str(d)[:40]!r} is not "
                                                 "a number of seconds")
            row.duration = None
        return row

    def scan(self, plan) -> Iterator[Row]:
        return iter(self._load())

    def records(self, rows: Iterable[Row]) -> list:
        return [row.handle for row in rows]

    def refresh(self) -> None:
        self._rows = None

    @property
    def tags_column_limit(self) -> int | None:
        from .django.schema import TAGS_COLUMN_LENGTH
        return TAGS_COLUMN_LENGTH if self._is_django() else None

    def _is_django(self) -> bool:
        return type(self.record_store).__name__ == "DjangoRecordStore"

    def writer(self):
        """Sumatra's Django store is written with SQL whichever engine reads
        it; other stores through Sumatra's API (ApiWriter)."""
        if self._is_django():
            from .django.writer import SqlWriter
            return SqlWriter(self.location, self.project)
        return ApiWriter(self)

    def current_tags(self, labels) -> dict:
        """{label: frozenset of tags} as Sumatra reads them now."""
        self._reopen()
        out = {}
        for label in labels:
            try:
                out[label] = frozenset(self.record_store.get(self.project, label).tags or ())
            except KeyError:
                pass
        return out

    def _reopen(self) -> None:
        shelf = getattr(self.record_store, "shelf", None)
        if shelf is not None:
            shelf.close()
            from .shelf import open_shelve_store
            self.record_store = open_shelve_store(self.location)
        self._rows = None


class ApiWriter:
    """Writes tags through Sumatra's API, all or nothing where the store
    allows. A shelve store keeps a project's records as one pickled dict;
    the change is made on a copy of the shelf's files, which then replaces
    the original (see _apply_shelve); other stores save record by record."""

    limits_tags_column = False

    def __init__(self, store: SumatraApiStore):
        self.store = store
        self.project = store.project

    def current(self, labels) -> dict:
        return self.store.current_tags(labels)

    def apply(self, changes, prepare, commit_hook) -> list[dict]:
        lean_sumatra.load()
        from sumatra.recordstore.shelve_store import ShelveRecordStore
        if not isinstance(self.store.record_store, ShelveRecordStore):
            return _apply_record_by_record(self.store, changes, prepare, commit_hook)
        return _apply_shelve(self.store, changes, prepare, commit_hook)

    def close(self) -> None:
        pass


def _each_record(record_store, project: str, bar):
    """The project's records as `record_store.list(project)` gives them,
    one at a time where the store allows it (Django: the same query and
    `to_sumatra()` as Sumatra's own `list`), so a long read shows progress."""
    manager = getattr(record_store, "_manager", None)
    shelf = getattr(record_store, "shelf", None)
    if shelf is not None:  # not Sumatra's `list`: it sorts by timestamp, which fails on a bad one
        records = list(shelf[project].values()) if project in shelf else []
        bar.total = len(records)
        for record in records:
            bar.advance()
            yield record
        return
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
    """Open `location` with Sumatra's own RecordStore classes: a shelve
    store read only, through the restricted unpickler (smtql.stores.shelf);
    a Django store through Sumatra's Django models, which `eval` stored
    content (only when asked for: SMTQL_ENGINE=api, the reference path)."""
    from .location import DJANGO, choose_project
    if location.kind == DJANGO:
        refuse_migration(location.uri)
    try:
        if location.kind == DJANGO:
            lean_sumatra.load()
            from sumatra.recordstore.django_store import DjangoRecordStore
            record_store = DjangoRecordStore(location.uri)
        else:
            from .shelf import open_shelve_store
            record_store = open_shelve_store(location.uri)
        available = record_store.list_projects()
    except StoreError:
        raise
    except Exception as err:  # Django and shelve raise many kinds
        raise StoreError(f"could not open the record store {location.uri}: {err}") from None
    name = choose_project(location, project, available)
    return SumatraApiStore(record_store, name, location.uri)


def refuse_migration(uri: str) -> None:
    """Sumatra 0.8.1's DjangoRecordStore runs Django's `migrate` whenever it
    opens a store: on a store of an older generation that alters the user's
    store (and then fails). A read never changes the store, so look first,
    read-only, and refuse if Sumatra would change it."""
    from .django.generations import read_layout
    why = read_layout(uri).api_would_migrate()
    if why:
        raise StoreError(f"smtql will not read {uri} through Sumatra's API (SMTQL_ENGINE=api): "
                         f"{why}, and a read must never change the store. Read it with SQL "
                         "(the default engine) instead.")


def _plan(records_by_label: dict, changes) -> list[dict]:
    plan = []
    for change in changes:
        record = records_by_label.get(change.label)
        if record is None:
            continue
        before = frozenset(record.tags or ())
        after = (before - change.remove) | change.add
        if after != before:
            plan.append({"label": change.label, "added": sorted(after - before),
                         "removed": sorted(before - after)})
    return plan


def _apply_record_by_record(store, changes, prepare, commit_hook) -> list[dict]:
    rs, project = store.record_store, store.project
    records = {}
    for change in changes:
        try:
            records[change.label] = rs.get(project, change.label)
        except KeyError:
            pass
    plan = _plan(records, changes)
    if not plan:
        return []
    prepare(plan)
    try:
        for p in plan:
            rs.save(project, _retagged(records[p["label"]], p))
    except BaseException:
        commit_hook(None)
        raise
    commit_hook(True)
    store.refresh()
    return plan


def _retagged(record, change: dict):
    """The record with a planned change's tags removed and added."""
    record.tags = (set(record.tags) - set(change["removed"])) | set(change["added"])
    return record


def _shelf_files(name: str) -> list[str]:
    """The files of a shelf: one (dbm.gnu, dbm.ndbm) or .dat and .dir (dbm.dumb)."""
    exts = [e for e in ("", ".db", ".dat", ".dir") if os.path.exists(name + e)]
    if ".dat" in exts:
        return [".dat", ".dir"]  # the data first: see _apply_shelve
    return exts[:1]


def _copy_prefix(name: str) -> str:
    """How the names of a shelf's working copies begin (the writer's PID follows)."""
    return f".{os.path.basename(name)}.smtql-"


def _remove_stale_copies(name: str) -> None:
    """Delete the working copies of writers that died (SIGKILL, a crash)
    before removing them: those whose PID no process on this machine has.
    A live PID's copy is left alone, whoever owns it."""
    import re
    directory = os.path.dirname(name) or "."
    pattern = re.compile(re.escape(_copy_prefix(name)) + r"(\d+)(\.db|\.dat|\.dir|\.bak)?")
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        found = pattern.fullmatch(entry)
        if found and not _process_exists(int(found.group(1))):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:  # gone already, or not ours to remove: harmless
                pass


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _apply_shelve(store, changes, prepare, commit_hook) -> list[dict]:
    """Work on a copy of the shelf, then rename it over the original. With
    dbm.dumb (a .dat and a .dir file) the project's value is deleted and
    re-added in the copy, so it is appended to the data file and the old
    bytes stay where they were: the new .dat replaces the old first (the old
    index still reads the old records from it), then the new .dir (the new
    records). A crash between the two renames leaves the old store.
    Copies that killed writers left behind are removed first."""
    lean_sumatra.load()
    from sumatra.recordstore.shelve_store import ShelveRecordStore
    from .shelf import load_value
    name = store.location
    store.record_store.shelf.close()
    exts = _shelf_files(name)
    _remove_stale_copies(name)
    tmp = os.path.join(os.path.dirname(name) or ".", f"{_copy_prefix(name)}{os.getpid()}")
    try:
        for ext in exts:
            shutil.copyfile(name + ext, tmp + ext)
        copy = ShelveRecordStore(tmp)
        project = store.project
        # read as the reader reads: never Sumatra's own unpickling of store content
        records = load_value(copy.shelf.dict, project, name) if project in copy.shelf else {}
        plan = _plan(records, changes)
        if not plan:
            copy.shelf.close()
            return []
        prepare(plan)
        try:
            for p in plan:
                _retagged(records[p["label"]], p)
            del copy.shelf[project]  # re-added at the end of the data file
            copy.shelf[project] = records
            copy.shelf.close()
            for ext in exts:
                with open(tmp + ext, "rb+") as fh:
                    os.fsync(fh.fileno())
            fault_point()
        except BaseException:
            commit_hook(False)
            raise
        for i, ext in enumerate(exts):
            os.replace(tmp + ext, name + ext)
            if i == 0:
                fault_point("rename")  # tests: killed between the renames
        commit_hook(True)
        return plan
    finally:
        for ext in exts + [".bak"]:
            try:
                os.unlink(tmp + ext)
            except OSError:
                pass
        store._reopen()
