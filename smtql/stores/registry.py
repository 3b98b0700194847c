"""Which store opens which location: the record store found the way `smt`
finds it (the nearest `.smt/project` above a directory) or named outright
(a Sumatra SQLite file, a shelve file, `postgres://…`, `mysql://…`), and
the backend that reads it (`open_store`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import StoreError
from .location import DJANGO, SERVER_SCHEMES, SHELVE, StoreLocation

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
    if not uri.startswith(SERVER_SCHEMES):
        uri = str((project_dir / os.path.expanduser(uri)).resolve())
    return StoreLocation(kind, uri, name, project_dir)


def _bare_store(store: str) -> StoreLocation:
    if store.startswith(SERVER_SCHEMES):
        return StoreLocation(DJANGO, store, None)
    _check_scheme(store)
    path = Path(os.path.expanduser(store))
    if path.is_dir() and (path / ".smt" / "project").is_file():
        return _project_store(path)
    candidates = [path, path.with_name(path.name + ".db")]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise StoreError(f"no record store at {store} (no such file)")
    with open(found, "rb") as fh:
        head = fh.read(16)
    kind = DJANGO if head.startswith(b"SQLite format 3") else SHELVE
    return StoreLocation(kind, str(path.resolve()), None)


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
        return open_sql_store(location, project, index=index)
    if location.kind == DJANGO:
        _warn_api_engine(location)
    from .sumatra_api import open_api_store
    return open_api_store(location, project)
