"""Reading a Sumatra shelve store without running what it holds.

A shelve store is a dbm file of pickles (project name -> {label: Record}),
and unpickling runs code: a value whose `__reduce__` names `os.system` runs
a shell command, and even Sumatra's own classes act when unpickled (a
repository's or data store's `__setstate__` calls its constructor, which
opens the working copy or makes the data store's folder). So a shelf is
read here with `dbm.open(path, "r")` (nothing written, no `.bak` left) and
the pure-Python unpickler, restricted:

- `find_class` admits only an explicit allowlist: Sumatra's record classes
  (records, data keys, data stores, launch modes, executables, repositories,
  dependencies, platforms, parameter sets), plain builtins, datetime values,
  and the few configparser and functools objects a pickled
  ConfigParserParameterSet holds; `getattr` and `type` only in the harmless
  forms those use. Anything else is refused with the module and name.
- Sumatra classes are never called: `REDUCE` and the protocol 0/1
  instantiation opcodes refuse them (Sumatra's objects pickle as `NEWOBJ`,
  which only runs `object.__new__`), and `BUILD` sets their attributes
  without `__setstate__`.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping

from ..errors import StoreError
from . import lean_sumatra

# (module, name) of the Sumatra 0.8 classes a record pickles.
_SUMATRA = {
    "sumatra.records": ("Record",),
    "sumatra.datastore.base": ("DataKey", "DataStore", "DataItem"),
    "sumatra.datastore.filesystem": ("FileSystemDataStore", "DataFile"),
    "sumatra.datastore.archivingfs": ("ArchivingFileSystemDataStore", "ArchivedDataFile"),
    "sumatra.datastore.mirroredfs": ("MirroredFileSystemDataStore", "MirroredDataFile"),
    "sumatra.datastore.davfs": ("DavFsDataStore", "DavFsDataItem"),
    "sumatra.launch": ("LaunchMode", "SerialLaunchMode", "SerialTqdmLaunchMode",
                       "DistributedLaunchMode", "SlurmMPILaunchMode", "PlatformInformation"),
    "sumatra.programs": ("Executable", "PythonExecutable", "NESTSimulator", "NEURONSimulator",
                         "GENESISSimulator", "MatlabExecutable", "RExecutable"),
    "sumatra.versioncontrol.base": ("Repository",),
    "sumatra.versioncontrol._git": ("GitRepository",),
    "sumatra.versioncontrol._mercurial": ("MercurialRepository",),
    "sumatra.versioncontrol._subversion": ("SubversionRepository",),
    "sumatra.versioncontrol._bazaar": ("BazaarRepository",),
    "sumatra.dependency_finder.core": ("BaseDependency",),
    "sumatra.dependency_finder.python": ("Dependency",),
    "sumatra.dependency_finder.neuron": ("Dependency",),
    "sumatra.dependency_finder.genesis": ("Dependency",),
    "sumatra.dependency_finder.matlab": ("Dependency",),
    "sumatra.dependency_finder.r": ("Dependency",),
    "sumatra.parameters": ("NTParameterSet", "SimpleParameterSet", "YAMLParameterSet",
                           "JSONParameterSet", "ConfigParserParameterSet"),
    "parameters": ("ParameterSet",),  # NTParameterSet's base (the `parameters` package)
}
# Plain data, called by REDUCE with data arguments: nothing runs.
_PLAIN = {
    "builtins": ("bool", "int", "float", "complex", "str", "bytes", "bytearray", "tuple",
                 "list", "dict", "set", "frozenset", "slice", "range"),
    "datetime": ("date", "datetime", "time", "timedelta", "timezone"),
    "collections": ("OrderedDict",),
    "re": ("_compile",),  # a ConfigParserParameterSet's option patterns
    "configparser": ("BasicInterpolation", "ExtendedInterpolation", "Interpolation",
                     "ConverterMapping", "SectionProxy"),
    "functools": ("partial",),  # its converters: partial(getattr(parser, "_get_conv"), …)
}
# The methods a pickled ConfigParser's converters and sections name.
_GETATTR_NAMES = frozenset(("get", "getint", "getfloat", "getboolean", "_get_conv"))
# Attributes a data store's constructor keeps under another name (`root` is a
# property whose setter makes the folder: its value lives in `_root`).
_DATASTORE_ATTRIBUTES = {"root": "_root", "archive": "archive_store"}


class RefusedPickle(pickle.UnpicklingError):
    """The shelf holds something that is not a Sumatra record's plain data."""


def _safe_getattr(obj, name, *default):
    if isinstance(obj, type) or name not in _GETATTR_NAMES or default:
        raise RefusedPickle(f"getattr({type(obj).__name__}, {name!r})")
    return getattr(obj, name)


def _safe_type(obj):
    return type(obj)  # one argument: never makes a class


class RecordUnpickler(pickle._Unpickler):
    """The pure-Python unpickler (its opcodes can be overridden one by
    one), admitting only Sumatra's record classes and plain data."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module, name):
        if (module, name) == ("builtins", "getattr"):
            return _safe_getattr
        if (module, name) == ("builtins", "type"):
            return _safe_type
        if name in _SUMATRA.get(module, ()) or name in _PLAIN.get(module, ()):
            return super().find_class(module, name)
        raise RefusedPickle(f"{module}.{name}")

    def load_reduce(self):
        func = self.stack[-2]
        if _is_sumatra(func):
            raise RefusedPickle(f"a call of {func.__module__}.{func.__name__}")
        super().load_reduce()
    dispatch[pickle.REDUCE[0]] = load_reduce

    def _instantiate(self, klass, args):  # INST and OBJ (protocols 0 and 1) call the class
        raise RefusedPickle(f"a call of {getattr(klass, '__name__', klass)}")

    def load_build(self):
        inst = self.stack[-2]  # under its state
        if not _is_sumatra(type(inst)):
            return super().load_build()  # plain data, partial, configparser: their own
        state = self.stack.pop()
        slots = None
        if isinstance(state, tuple) and len(state) == 2:
            state, slots = state
        for part in (state, slots):
            if part:
                _set_attributes(inst, part)
    dispatch[pickle.BUILD[0]] = load_build


def _is_sumatra(obj) -> bool:
    return isinstance(obj, type) and any(
        c.__name__ in _SUMATRA.get(c.__module__, ()) for c in obj.__mro__)


def _set_attributes(inst, state) -> None:
    from sumatra.datastore.base import DataStore
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise RefusedPickle(f"the state of a {type(inst).__name__} that is not a dict of names")
    rename = _DATASTORE_ATTRIBUTES if isinstance(inst, DataStore) else {}
    inst.__dict__.update({rename.get(k, k): v for k, v in state.items()})


def unpickle(data: bytes):
    return RecordUnpickler(io.BytesIO(data)).load()


def load_value(db, key: str, name: str):
    """The value of `key` in a shelf's dbm, unpickled with RecordUnpickler
    (the shelve writer reads its copy this way too, so a poisoned shelf is
    refused by a write as by a read)."""
    data = db[key.encode("utf-8")]
    try:
        return unpickle(data)
    except RefusedPickle as err:
        raise StoreError(f"the shelve store {name} holds a pickled object smtql "
                         f"will not load ({err}): a shelve store is a pickle, and only "
                         f"Sumatra's record classes and plain data are read from it") from None
    except Exception as err:  # noqa: BLE001 - any damage in the bytes
        raise StoreError(f"the shelve store {name} cannot be read: "
                         f"{type(err).__name__}: {err}") from None


class ReadOnlyShelf(Mapping):
    """What `shelve.open(name)` gives Sumatra's ShelveRecordStore, read
    only and unpickled with RecordUnpickler; each value read once."""

    def __init__(self, name: str):
        import dbm
        try:
            self._db = dbm.open(name, "r")
        except Exception as err:  # dbm.error is a tuple of several kinds
            raise StoreError(f"could not open the shelve store {name}: {err}") from None
        self.name = name
        self._values: dict = {}

    def keys(self):
        return [k.decode("utf-8", errors="replace") for k in self._db.keys()]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self._db.keys())

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and key.encode("utf-8") in self._db

    def __getitem__(self, key: str):
        if key not in self._values:
            self._values[key] = load_value(self._db, key, self.name)
        return self._values[key]

    def close(self) -> None:
        self._db.close()


def open_shelve_store(name: str):
    """Sumatra's ShelveRecordStore over a ReadOnlyShelf: its own `list`,
    `get` and `list_projects`, without its constructor (which opens the
    shelf for writing)."""
    lean_sumatra.load()
    from sumatra.recordstore.shelve_store import ShelveRecordStore
    store = ShelveRecordStore.__new__(ShelveRecordStore)
    store._shelf_name = name
    store._shelf_files = set()
    store.shelf = ReadOnlyShelf(name)
    return store
