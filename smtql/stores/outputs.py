"""Records' output files on this machine (LANGUAGE.md §11): where each one
is (its path relative to the record's data store, joined to the data
store's root as Sumatra's `FileSystemDataStore` joins them), whether it is
there, and the plain data in it.

Nothing here constructs a Sumatra object (a data store's constructor makes
its root folder): roots come from stored fields or the project file.
Files are parsed as data only (JSON, YAML's safe loader, TOML), never
unpickled or executed, and at most once per version of a file: the cache
is keyed by path, size and modification time, so a file rewritten between
two queries is read again.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from collections import OrderedDict
from fnmatch import fnmatchcase
from pathlib import Path

from ..params import model as _params
from ..plan.values import MISSING

# -------------------------------------------------------------- finding files


def matches(relpath: str, glob: str) -> bool:
    """A glob with a `/` matches the whole path relative to the data store;
    one without matches the file's name (`metrics.json` finds
    `out/LABEL/metrics.json`)."""
    name = relpath if "/" in glob else relpath.rsplit("/", 1)[-1]
    return fnmatchcase(name, glob)


def first_match(relpaths, glob: str) -> str | None:
    """The first output path (in path order) the glob matches."""
    return next((p for p in sorted(relpaths) if matches(p, glob)), None)


def resolve(root, relpath: str) -> str | None:
    """Where Sumatra finds the file: `os.path.join(root, path)`, the root
    made absolute as `FileSystemDataStore` makes it; None without a root.
    (Plain strings: a query resolves one path per candidate record.)"""
    if not isinstance(root, str) or not root:
        return None
    return os.path.join(_absolute(root), relpath)


@functools.lru_cache(maxsize=64)
def _absolute(root: str) -> str:
    return os.path.abspath(os.path.expanduser(root))


def root_of(datastore) -> str | None:
    """A data store object's root, read from its attributes (the `root`
    property of a file-system store reads `_root`; others have none)."""
    attributes = getattr(datastore, "__dict__", {})
    root = attributes.get("_root", attributes.get("root"))
    return root if isinstance(root, str) else None


def project_data_root(project_file: dict, project_dir: Path) -> str | None:
    """The data store root a project file (`.smt/project`) names, relative
    roots taken from the project directory (where `smt` runs)."""
    store = project_file.get("data_store")
    root = store.get("root") if isinstance(store, dict) else None
    if not isinstance(root, str) or not root:
        return None
    return str(project_dir / os.path.expanduser(root))


# -------------------------------------------------------------- reading data

class Unparsable(ValueError):
    """A file whose content is not plain data of its format."""


def _json(data: bytes):
    return json.loads(data)


def _yaml(data: bytes):
    import yaml
    try:
        return yaml.safe_load(data)  # tags beyond plain data are refused, never run
    except yaml.YAMLError as err:
        raise Unparsable(str(err).splitlines()[0]) from None


def _toml(data: bytes):
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(data.decode("utf-8"))


DATA_FORMATS = {".json": _json, ".yaml": _yaml, ".yml": _yaml, ".toml": _toml}


def parse_data(path: str, data: bytes):
    suffix = os.path.splitext(path)[1]
    parse = DATA_FORMATS.get(suffix.lower())
    if parse is None:
        raise Unparsable(f"{suffix or 'a file without an extension'} is not JSON, "
                         "YAML or TOML")
    try:
        return parse(data)
    except Unparsable:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise Unparsable(f"{type(err).__name__}: {err}") from None


class FileCache:
    """Parsed files by path, each kept with the (size, mtime) it was read
    at; a changed file is read again. Bounded: the oldest entries go."""

    def __init__(self, size: int = 20_000):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self.reads = 0  # files actually read (tests count them)

    def data(self, path: str):
        """The file's parsed content; MISSING (not on disk) or Unparsable."""
        try:
            st = os.stat(path)
        except OSError:
            return MISSING
        if not stat.S_ISREG(st.st_mode):
            return MISSING
        version = (st.st_size, st.st_mtime_ns)
        hit = self._entries.get(path)
        if hit is not None and hit[0] == version:
            self._entries.move_to_end(path)
            return hit[1]
        try:
            self.reads += 1
            with open(path, "rb") as fh:
                value = parse_data(path, fh.read())
        except OSError:
            return MISSING
        except Unparsable as err:
            value = err
        self._entries[path] = (version, value)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value


CACHE = FileCache()  # one per process: repeated queries reuse what they read


# -------------------------------------------------------------- per statement

class OutputReader:
    """A store's output files for one statement at a time: values read from
    them, and what could not be read, for the statement's notes."""

    def __init__(self, root_of_row):
        self.root_of_row = root_of_row  # row -> the data store root, or None
        self.started()

    def started(self) -> None:
        self.not_on_disk: dict[str, set] = {}
        self.unparsable: dict[str, set] = {}

    def files(self, row) -> list[tuple[str, str | None]]:
        """(relative path, resolved path) of every output file, in path order."""
        root = self.root_of_row(row) if row.outputpath else None
        return [(p, resolve(root, p)) for p in sorted(row.outputpath)]

    def missing(self, row) -> bool:
        """Some output file is not on disk (or cannot be placed at all)."""
        return any(path is None or not os.path.isfile(path) for _, path in self.files(row))

    def value(self, row, glob: str, path: tuple):
        """`output("GLOB").KEY…` for this row, or MISSING."""
        rel = first_match(row.outputpath, glob)
        if rel is None:
            return MISSING
        where = resolve(self.root_of_row(row), rel)
        data = CACHE.data(where) if where is not None else MISSING
        if data is MISSING:
            self.not_on_disk.setdefault(glob, set()).add(row.label)
            return MISSING
        if isinstance(data, Unparsable):
            self.unparsable.setdefault(glob, set()).add(row.label)
            return MISSING
        return _params.lookup(data, path) if path else data

    def notes(self) -> list[str]:
        notes = []
        for glob in sorted(set(self.not_on_disk) | set(self.unparsable)):
            counts = [(len(self.not_on_disk.get(glob, ())), "is not on disk"),
                      (len(self.unparsable.get(glob, ())), "could not be parsed")]
            said = ", ".join(f"{what} for {n} record{'s' if n != 1 else ''}"
                             for n, what in counts if n)
            notes.append(f'output("{glob}"): the file {said}; those records lack the value')
        return notes


# -------------------------------------------------------------- from Python

def files_frame(rows: list, store):
    """`res.outputs()`: one line per output file of these rows (label,
    relative path, resolved path, digest, size, on disk, digest matches).
    Digests and sizes are what Sumatra stored (from the Records); a file on
    disk is hashed as Sumatra hashes it (SHA-1 of the content)."""
    import pandas as pd
    lines = []
    for row, keys in _output_keys(rows, store):
        root = store.datastore_root(row) if keys else None
        for key in keys:
            path = resolve(root, key.path)
            on_disk = path is not None and os.path.isfile(path)
            lines.append({
                "label": row.label, "path": key.path, "resolved": path,
                "digest": key.digest, "size": (key.metadata or {}).get("size"),
                "on_disk": on_disk,
                "digest_matches": on_disk and key.digest is not None
                and sha1_of(path) == key.digest})
    return pd.DataFrame(lines, columns=["label", "path", "resolved", "digest", "size", "on_disk",
                                        "digest_matches"])


def _output_keys(rows: list, store):
    """(row, its output DataKeys in path order), from the rows' Records
    (built in bulk: a row read for a table need not carry its paths)."""
    for row, record in zip(rows, store.records(rows) if rows else []):
        keys = [k for k in (getattr(record, "output_data", None) or ())
                if isinstance(getattr(k, "path", None), str)]
        yield row, sorted(keys, key=lambda k: k.path)


def sha1_of(path: str) -> str:
    import hashlib
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_files(rows: list, store, glob: str, allow_pickle: bool = False) -> dict:
    """`res.load(GLOB)`: label -> the content of the row's first output
    file matching the glob. Records without such a file are left out; files
    not on disk are left out with a warning that counts them."""
    import warnings
    out, gone = {}, []
    for row, keys in _output_keys(rows, store):
        rel = first_match([k.path for k in keys], glob)
        if rel is None:
            continue
        path = resolve(store.datastore_root(row), rel)
        if path is None or not os.path.isfile(path):
            gone.append(row.label)
            continue
        out[row.label] = load_file(Path(path), allow_pickle, row.label)
    if gone:
        warnings.warn(f'res.load("{glob}"): the file of {len(gone)} record'
                      f"{'s' if len(gone) != 1 else ''} is not on disk ({', '.join(gone[:3])}"
                      f"{', …' if len(gone) > 3 else ''}); left out", stacklevel=3)
    return out


_PICKLES = (".pkl", ".pickle")


def load_file(path: Path, allow_pickle: bool, label: str = ""):
    """A file's content by its extension: JSON, YAML (plain data), TOML;
    CSV as a DataFrame; `.npy`/`.npz` through NumPy; a pickle only when
    allowed; text otherwise (bytes if it is not UTF-8)."""
    from ..errors import QueryError
    suffix = path.suffix.lower()
    whose = f"{path} (record {label})" if label else str(path)
    if suffix in _PICKLES and not allow_pickle:
        raise QueryError(f"{whose} is a pickle, which runs code when loaded; pass "
                         "allow_pickle=True only if you trust it")
    try:
        if suffix in DATA_FORMATS:
            return parse_data(str(path), path.read_bytes())
        if suffix == ".csv":
            import pandas as pd
            return pd.read_csv(path)
        if suffix in (".npy", ".npz"):
            return _numpy(path, allow_pickle)
        if suffix in _PICKLES:
            import pickle
            with open(path, "rb") as fh:
                return pickle.load(fh)  # noqa: S301 - asked for: allow_pickle=True
        data = path.read_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data
    except Unparsable as err:
        raise QueryError(f"{whose} cannot be read as {suffix[1:].upper()}: {err}") from None
    except ValueError as err:  # NumPy refusing an object array, pandas a broken CSV
        raise QueryError(f"{whose} cannot be loaded: {err}") from None


def _numpy(path: Path, allow_pickle: bool):
    try:
        import numpy as np
    except ImportError:
        from ..errors import QueryError
        raise QueryError(f"{path} is a NumPy file: install numpy to load it") from None
    loaded = np.load(path, allow_pickle=allow_pickle)
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    return loaded
