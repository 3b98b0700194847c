"""Which store opens which location: the record store found the way `smt`
finds it (the nearest `.smt/project` above a directory) or named outright
(a Sumatra SQLite file, a shelve file, `postgres://…`, `mysql://…`), and
the backend that reads it (`open_store`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import StoreError
from .location import DJANGO, NOT_A_STORE, SERVER_SCHEMES, SHELVE, StoreLocation

def find_project_dir(start: str | os.PathLike | None = None) -> Path | None:
    here = Path(start or os.getcwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / ".smt" / "project").is_file():
            return directory
    return None


def locate(directory=None, store: str | None = None) -> StoreLocation:
    """Where the records are: `store` if given, else the project found from
    `directory` (default: the current directory)."""
    if store:
        return _bare_store(store)
    if directory is not None and not Path(directory).is_dir():
        raise StoreError(f"no such directory: {directory}")
    project_dir = find_project_dir(directory)
    if project_dir is None:
        raise StoreError(f"no Sumatra project in {Path(directory or os.getcwd()).resolve()} "
                         "or above it (looked for .smt/project); give -C PROJECT_DIR or "
                         "--store PATH")
    return _project_store(project_dir)


def _project_store(project_dir: Path) -> StoreLocation:
    path = project_dir / ".smt" / "project"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        record_store = info["record_store"]
        name = info["name"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise StoreError(f"cannot read the Sumatra project file {path}: {err}") from None
    kind = SHELVE if "shelve" in record_store.get("type", "").lower() else DJANGO
    uri = record_store.get("db_file") or record_store.get("shelf_name")
    if not uri:
        raise StoreError(f"{path} names a record store smtql cannot read: "
                         f"{record_store.get('type')}")
    if uri.startswith(SERVER_SCHEMES):
        return StoreLocation(kind, uri, name, project_dir)
    uri = str((project_dir / os.path.expanduser(uri)).resolve())
    if _store_files(uri):
        _check_store_file(uri)
        return StoreLocation(kind, uri, name, project_dir)
    return _beside_project_file(project_dir, kind, uri, name)


def _beside_project_file(project_dir: Path, kind: str, named: str, name: str) -> StoreLocation:
    """A project cloned from another machine names its store by a path of
    that machine (`/Users/…/.smt/records`); the store itself usually came
    along, as `.smt/records` beside `.smt/project`. Use that, and say so."""
    beside = str(project_dir / ".smt" / "records")
    if beside != named and _store_files(beside):
        note = (f"the project names its record store {named}, which does not exist here; "
                f"reading {beside} (beside .smt/project) instead")
        if kind == DJANGO and not _is_sqlite(beside):
            kind = SHELVE
        return StoreLocation(kind, beside, name, project_dir, notes=(note,))
    raise StoreError(f"the project in {project_dir} names its record store {named}, which does "
                     f"not exist (nor does {beside})")


# dbm.dumb keeps a shelf as NAME.dat, NAME.dir (and NAME.bak); dbm.ndbm as NAME.db
_SHELF_SUFFIXES = ("", ".db", ".dat")


def _store_files(path: str) -> list[Path]:
    """The files of a store at `path` (a file, or a shelf's files)."""
    return [Path(path + ext) for ext in _SHELF_SUFFIXES if Path(path + ext).is_file()]


def _is_sqlite(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16).startswith(b"SQLite format 3")
    except OSError:
        return False


def _bare_store(store: str) -> StoreLocation:
    if store.startswith(SERVER_SCHEMES):
        return StoreLocation(DJANGO, store, None)
    _check_scheme(store)
    path = Path(os.path.expanduser(store))
    if path.is_dir() and (path / ".smt" / "project").is_file():
        return _project_store(path)
    if path.is_file() and _is_sqlite(str(path)):
        return StoreLocation(DJANGO, str(path.resolve()), None)
    if path.suffix in (".dat", ".dir") and path.with_suffix(".dat").is_file() \
            and path.with_suffix(".dir").is_file():
        path = path.with_suffix("")  # a dbm.dumb shelf named by one of its files
    if not _store_files(str(path)):
        raise StoreError(f"no record store at {store} (no such file)")
    _check_store_file(str(path))
    return StoreLocation(SHELVE, str(path.resolve()), None)


def _check_store_file(path: str) -> None:
    """A file that is neither SQLite nor a dbm shelf (empty, random, some
    other format) is said to be no store here, before Sumatra's own
    "db type could not be determined" or a driver's error can be shown."""
    import dbm
    if not _is_sqlite(path) and not dbm.whichdb(path):
        raise StoreError(NOT_A_STORE.format(path=path) + ": its content is neither")


API_ENGINE_WARNING = (
    "smtql: warning: SMTQL_ENGINE=api reads {uri} through Sumatra's own API, which "
    "evaluates stored content (parameter sets, launch modes, data stores) as Python "
    "and runs programs it names; use it only on a store you trust")


def _warn_api_engine(location: StoreLocation) -> None:
    """Said on stderr whenever the API engine opens a Django store: the
    SQL engine (the default) never evaluates content, Sumatra's models do."""
    import sys
    print(API_ENGINE_WARNING.format(uri=location.uri), file=sys.stderr)


def _check_scheme(store: str) -> None:
    """`--store foo://bar`: a URI of a scheme no backend reads, said as such
    rather than as a missing file."""
    scheme, sep, _ = store.partition("://")
    if sep and scheme and scheme.replace("+", "").isalnum():
        supported = ", ".join(SERVER_SCHEMES)
        raise StoreError(f"the store scheme '{scheme}://' is not supported; smtql opens "
                         f"{supported}, or the path of a Sumatra SQLite or shelve file")


def open_store(directory=None, store: str | None = None, project: str | None = None,
               engine: str | None = None, index: bool | None = None):
    """The Store for a project directory or a bare store. Sumatra's Django
    stores (SQLite files, postgres://, mysql://) are read with SQL; shelve
    stores through Sumatra's API. `engine="api"` (or the environment
    variable SMTQL_ENGINE=api) reads a Django store through Sumatra's API
    too, the slow reference path. `index=False` (or SMTQL_INDEX=off, or
    the CLI's --no-index) reads a Django store's parameters without the
    persistent parameter index (smtql.stores.django.paramindex)."""
    location = locate(directory, store)
    engine = engine or os.environ.get("SMTQL_ENGINE") or "sql"
    if engine not in ("sql", "api"):
        raise StoreError(f"unknown engine '{engine}' (choose sql or api)")
    if location.kind == DJANGO and engine == "sql":
        from .django.reader import open_sql_store
        opened = open_sql_store(location, project, index=index)
    else:
        if location.kind == DJANGO:
            _warn_api_engine(location)
        from .sumatra_api import open_api_store
        opened = open_api_store(location, project)
    opened.opening_notes = list(location.notes)
    if location.project_dir is not None:  # -C: the project's own data store
        opened.data_root = project_data_root(location.project_dir)
    return opened


def project_data_root(project_dir: Path) -> str | None:
    """The data store root `.smt/project` names (read as JSON, no Sumatra
    object made: a data store's constructor makes its folder)."""
    from .outputs import project_data_root as root_in
    try:
        info = json.loads((project_dir / ".smt" / "project").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return root_in(info, project_dir) if isinstance(info, dict) else None
