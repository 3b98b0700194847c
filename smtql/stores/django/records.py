"""Sumatra Record objects built from a Django store's rows, on request
(`res.records`, `describe`, `export`, two-record `diff`)."""

from __future__ import annotations

import functools
import json

from ...params import cache as paramcache
from ...params.model import Unreadable
from .. import lean_sumatra
from . import schema as S
from .compile import decode_duration, decode_ts
from .schema import Sql


def build_records(store, qy, db_ids: list, parameters: bool = True) -> list:
    """sumatra.records.Record objects for these records, holding what
    Sumatra's `models.Record.to_sumatra` reads, but from a fixed number of
    statements (one per related table, whatever the number of records) and
    as plain data: no `eval`, no Sumatra constructor run on store content
    (see `plain` below). Parameter sets come from the parsed data; without
    `parameters`, `record.parameters` is None (the caller has the Rows')."""
    d, q = store.dialect, store.dialect.q
    if not db_ids:
        return []
    cols = ("db_id", "label", "reason", "duration", "main_file", "version", "outcome",
            "timestamp", "diff", "user", "script_arguments", "stdout_stderr", "repeats",
            "datastore_id", "executable_id", "input_datastore_id", "launch_mode_id",
            "parameters_id", "repository_id")
    names = store.layout  # the generation's tables and columns (generations.py)
    rows = qy.run(Sql("SELECT " + ", ".join(names.column_or_null(names.record, "r", c, q)
                                            for c in cols)
                      + f" FROM {S.RECORD.name} r WHERE ") + d.in_ints("r.db_id", db_ids))
    recs = {row[0]: dict(zip(cols, row)) for row in rows}

    def fetch(table: S.Table, ids, columns=None):
        ids = {i for i in ids if i is not None}
        if not ids:
            return {}
        columns = columns or table.columns
        got = qy.run(Sql("SELECT " + ", ".join(f"x.{q(c)}" for c in columns)
                         + f" FROM {table.name} x WHERE ") + d.in_ints("x.id", ids))
        return {r[0]: dict(zip(columns, r)) for r in got}

    # the related rows as stored; made into Sumatra objects per record below
    executables = fetch(S.EXECUTABLE, (r["executable_id"] for r in recs.values()))
    repositories = fetch(S.REPOSITORY, (r["repository_id"] for r in recs.values()))
    launch_modes = fetch(S.LAUNCHMODE, (r["launch_mode_id"] for r in recs.values()))
    datastores = fetch(S.DATASTORE, [r[k] for r in recs.values()
                                     for k in ("datastore_id", "input_datastore_id")])
    paramsets = {i: _parameter_set(v["type"], v["content"]) for i, v in
                 fetch(S.PARAMETERSET, (r["parameters_id"] for r in recs.values())).items()
                 } if parameters else {}

    def linked(link: S.Table, other: S.Table, other_fk: str):
        cols_ = ("record_id",) + tuple(f"o.{q(c)}" for c in other.columns)
        got = qy.run(Sql("SELECT l.record_id, " + ", ".join(cols_[1:])
                         + f" FROM {link.name} l JOIN {other.name} o ON o.id = l.{other_fk} "
                           f"WHERE ") + d.in_ints("l.record_id", recs))
        out: dict = {}
        for r in got:
            out.setdefault(r[0], []).append(dict(zip(other.columns, r[1:])))
        return out

    inputs = linked(S.RECORD_INPUT_DATA, names.datakey, "datakey_id")
    deps = linked(S.RECORD_DEPENDENCIES, S.DEPENDENCY, "dependency_id")
    platforms = linked(S.RECORD_PLATFORMS, S.PLATFORM, "platforminformation_id")
    outputs: dict = {}
    for r in qy.run(Sql(f"SELECT {names.output_owner}, "
                        + ", ".join(f"k.{q(c)}" for c in names.datakey.columns)
                        + f" FROM {names.outputs_from} WHERE ")
                    + d.in_ints(names.output_owner, recs)):
        outputs.setdefault(r[0], []).append(dict(zip(names.datakey.columns, r[1:])))
    tags: dict = {}
    ctype = qy.content_type_id()
    if ctype is not None:
        # the reader's batched form: through the object_id index (principle 2)
        for object_id, name in qy.run(store.compiler.tags_of(qy, recs)):
            tags.setdefault(object_id, set()).add(name)

    built = {}
    for db_id, r in recs.items():
        for column in _TEXT_COLUMNS:
            r[column] = _as_text(r[column])
        label = r["label"]
        faults = _Faults(store, label)
        datastore = faults.build("datastore", _datastore, datastores.get(r["datastore_id"]))
        record = plain_record(
            executable=faults.build("executable", _executable, executables.get(r["executable_id"])),
            repository=faults.build("repository", _repository, repositories.get(r["repository_id"])),
            main_file=r["main_file"], version=r["version"],
            launch_mode=faults.build("launch_mode", _launch_mode,
                                     launch_modes.get(r["launch_mode_id"])),
            datastore=datastore,
            input_datastore=faults.build("input_datastore", _datastore,
                                         datastores.get(r["input_datastore_id"])) or datastore,
            parameters=paramsets.get(r["parameters_id"]),
            input_data=faults.each("input_data", _datakey, inputs.get(db_id, ()), "path"),
            script_arguments=r["script_arguments"], label=label, reason=r["reason"],
            diff=r["diff"], user=r["user"],
            timestamp=faults.build("timestamp", decode_ts, r["timestamp"]),
            stdout_stderr=r["stdout_stderr"], outcome=r["outcome"],
            duration=faults.build("duration", decode_duration, r["duration"]),
            tags=tags.get(db_id, set()), repeats=r["repeats"],
            output_data=faults.each("output_data", _datakey, outputs.get(db_id, ()), "path"),
            dependencies=faults.each("dependencies", _dependency, deps.get(db_id, ()), "name"),
            platforms=faults.each("platforms", _platform, platforms.get(db_id, ())))
        built[db_id] = record
    return [built[i] for i in db_ids]


# ------------------------------------------------------------------ plain objects
#
# Store content is other people's data (DESIGN.md, principles 4 and 5).
# Sumatra's own constructors act on what they are given: Executable searches
# the PATH and runs `<path> --version` in a shell, launch modes look for
# `mpiexec`, repositories open the working copy (GitPython runs git), data
# stores make their root folder, `Record` copies its data store through the
# constructor. So every Sumatra object here is made with `cls.__new__(cls)`
# and given its stored fields as attributes; only classes Sumatra registers
# for that role are ever chosen, and stored `parameters` strings are read
# with the literal-only parameter parser.

def plain(cls, **attrs):
    """An instance of `cls` with these attributes, its constructor not run."""
    obj = cls.__new__(cls)
    obj.__dict__.update(attrs)
    return obj


def plain_record(**fields):
    """A sumatra.records.Record with exactly these fields (what
    Record.__init__ would set, without copying the data store or checking
    the label)."""
    lean_sumatra.load()
    from sumatra.records import Record
    fields.setdefault("on_changed", "error")
    return plain(Record, **fields)


class _Faults:
    """Builds one record's parts; a part its stored fields cannot make is
    left out (None) and reported once per statement, with label and field."""

    def __init__(self, store, label):
        self.store, self.label = store, label

    def build(self, field: str, make, value):
        if value is None:
            return None
        try:
            return make(value)
        except _Unusable as err:
            reason = str(err)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError,
                RecursionError, MemoryError, UnicodeError) as err:
            reason = f"{type(err).__name__}: {err}"
        report = getattr(self.store, "report_fault", None)
        if report is not None:
            report(self.label, field, reason)
        return None

    def each(self, field: str, make, rows, order_by: str | None = None) -> list:
        """The parts made of these rows (in `order_by` order, as Sumatra
        lists them), those that cannot be made left out."""
        if order_by is not None:
            rows = sorted(rows, key=lambda row: str(row[order_by]))
        return [p for p in (self.build(field, make, row) for row in rows) if p is not None]


class _Unusable(ValueError):
    """Stored fields that make no Sumatra object of the kind asked for."""


def _stored_dict(text, what: str) -> dict:
    """A stored `repr(dict)` (launch mode and data store parameters, old
    data-key metadata), read as literals only, never evaluated."""
    from ...params.parse import UnreadableParameters, parse_parameter_content
    try:
        value = parse_parameter_content("NTParameterSet", _text(text))
    except (UnreadableParameters, RecursionError, MemoryError) as err:
        raise _Unusable(f"{what} {str(err).replace('NTParameterSet', 'parameters')}") from None
    if not isinstance(value, dict):
        raise _Unusable(f"{what} parameters are not a dictionary")
    return value


_TEXT_COLUMNS = ("label", "reason", "main_file", "version", "outcome", "diff", "user",
                 "script_arguments", "stdout_stderr")


def _as_text(value):
    """A text column's value as text: SQLite keeps numbers and blobs where
    text belongs."""
    value = _text(value)
    return value if value is None or isinstance(value, str) else str(value)


def _text(value):
    """Stored text as str (a driver may hand bytes for a blob); invalid
    UTF-8 is kept visible as replacement characters."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def _attributes(params: dict, what: str) -> dict:
    """Stored parameters as attribute names: identifiers only, never
    private or special names (they would reach Sumatra's internals)."""
    bad = [k for k in params if not isinstance(k, str) or not k.isidentifier() or k.startswith("_")]
    if bad:
        raise _Unusable(f"{what} parameters hold a name that is not a plain attribute: {bad[0]!r}")
    return params


def _registered(base, type_name, what: str):
    """The Sumatra class registered for `base` whose name is `type_name`."""
    from sumatra.core import get_registered_components
    classes = {c.__name__: c for c in get_registered_components(base).values()}
    cls = classes.get(_text(type_name))
    if cls is None:
        raise _Unusable(f"{what} type {_text(type_name)!r} is not one Sumatra knows")
    return cls


def _aware(value):
    return None if value is None else decode_ts(value)


def _metadata(text) -> dict:
    text = _text(text)
    if text in (None, ""):
        return {}
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        value = _stored_dict(text, "data key metadata")  # older Sumatra wrote repr(dict)
    except RecursionError:
        raise _Unusable("data key metadata: too deeply nested") from None
    if not isinstance(value, dict):
        raise _Unusable("data key metadata is not a dictionary")
    return value


def _datakey(row):
    """A data key; unreadable metadata (sizes, MIME types: nothing smtql
    needs) reads as none, so the key itself still counts."""
    from sumatra.datastore import DataKey
    try:
        metadata = _metadata(row["metadata"])
    except _Unusable:
        metadata = {}
    return plain(DataKey, path=_text(row["path"]), digest=_text(row["digest"]),
                 creation=_aware(row.get("creation")), metadata=metadata)  # no creation before 0.7


def _executable(row):
    from sumatra import programs
    from sumatra.core import get_registered_components
    name = _text(row["name"])
    classes = get_registered_components(programs.Executable)
    cls = classes.get(name, programs.Executable) if isinstance(name, str) else programs.Executable
    return plain(cls, path=_text(row["path"]), version=_text(row["version"]),
                 options=_text(row["options"]), name=name)


def _repository(row):
    from sumatra import versioncontrol
    from sumatra.versioncontrol.base import Repository
    type_name = _text(row["type"])
    for module in versioncontrol.vcs_list:
        cls = getattr(module, type_name, None) if isinstance(type_name, str) else None
        if isinstance(cls, type) and issubclass(cls, Repository):
            break
    else:
        cls = Repository  # Sumatra: "Repository type … not supported"; the URL still reads
    # GitRepository keeps its working copy in a private attribute, opened on use.
    return plain(cls, url=_text(row["url"]), upstream=_text(row["upstream"]),
                 **{f"_{cls.__name__}__repository": None})


def _launch_mode(row):
    from sumatra import launch
    cls = _registered(launch.LaunchMode, row["type"], "launch mode")
    params = _attributes(_stored_dict(row["parameters"], "launch mode"), "launch mode")
    return plain(cls, **{**_defaults(cls), **params})


@functools.lru_cache(maxsize=None)
def _defaults(cls) -> dict:
    """What the constructor of `cls` would default (plain values from its
    signature), for attributes a stored launch mode lacks."""
    import inspect
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


# Data store parameters that the constructor keeps under another name (`root`
# is a property whose setter makes the folder: its value lives in `_root`).
_DATASTORE_ATTRIBUTES = {"root": "_root", "archive": "archive_store"}


def _datastore(row):
    from sumatra.datastore.base import DataStore
    cls = _registered(DataStore, row["type"], "data store")
    params = _attributes(_stored_dict(row["parameters"], "data store"), "data store")
    return plain(cls, **{_DATASTORE_ATTRIBUTES.get(k, k): v for k, v in params.items()})


def _dependency(row):
    import types
    from sumatra import dependency_finder
    from sumatra.dependency_finder.core import BaseDependency
    module = getattr(dependency_finder, _text(row["module"]) or "", None) \
        if isinstance(_text(row["module"]), str) else None
    cls = getattr(module, "Dependency", None) if isinstance(module, types.ModuleType) else None
    if not (isinstance(cls, type) and issubclass(cls, BaseDependency)):
        cls = BaseDependency
    return plain(cls, name=_text(row["name"]), path=_text(row["path"]),
                 version=_text(row["version"]), diff=_text(row["diff"]),
                 source=_text(row["source"]), module=_text(row["module"]))


def _platform(row):
    from sumatra import launch
    return plain(launch.PlatformInformation,
                 **{k: _text(v) for k, v in row.items() if k != "id"})


def _parameter_set(type_name: str, content):
    """A Sumatra parameter set built from the parsed data, never from eval.
    An unreadable set is left as its stored text."""
    data = paramcache.parse(type_name, content)
    if isinstance(data, Unreadable):
        return content
    lean_sumatra.load()
    from sumatra import parameters
    cls = getattr(parameters, type_name, None)
    if cls is None:
        return _copy(data)  # Sumatra's fallbacks: None, {}, the text
    try:
        if type_name in ("NTParameterSet", "SimpleParameterSet"):
            return cls(_copy(data))
        if type_name == "ConfigParserParameterSet":
            from configparser import ConfigParser
            ps = cls.__new__(cls)
            ConfigParser.__init__(ps)
            ps.read_string(str(content))
            return ps
        ps = cls.__new__(cls)  # JSON, YAML: the parsed values
        ps._values = _copy(data)
        return ps
    except Exception:  # noqa: BLE001 - fall back to the plain data
        return _copy(data)


def _copy(value):
    """A copy of parsed parameters (plain data: the cache's own must not be
    changed through a Record), several times quicker than copy.deepcopy on
    a large set: only dicts and lists are copied; the rest cannot change."""
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    if type(value) is tuple:
        return tuple(_copy(v) for v in value)
    if isinstance(value, (dict, list, set)):  # anything else mutable: the general way
        import copy
        return copy.deepcopy(value)
    return value
