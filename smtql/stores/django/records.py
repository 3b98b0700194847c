"""Sumatra Record objects built from a Django store's rows, on request
(`res.records`, `describe`, `export`, two-record `diff`)."""

from __future__ import annotations

import json

from ...params import cache as paramcache
from ...params.model import Unreadable
from . import schema as S
from .compile import decode_ts
from .schema import Sql


def build_records(store, qy, db_ids: list) -> list:
    """sumatra.records.Record objects for these records, built the way
    Sumatra's `models.Record.to_sumatra` builds them, but from a fixed number
    of statements (one per related table, whatever the number of records)
    and without `eval`: parameter sets come from the parsed data, launch
    modes and data stores from `ast.literal_eval` of their stored dicts, and
    executables keep the stored path and version (Sumatra would search the
    PATH and run the program to ask its version)."""
    from sumatra import datastore as sm_datastore, records as sm_records

    d, q = store.dialect, store.dialect.q
    if not db_ids:
        return []
    cols = ("db_id", "label", "reason", "duration", "main_file", "version", "outcome",
            "timestamp", "diff", "user", "script_arguments", "stdout_stderr", "repeats",
            "datastore_id", "executable_id", "input_datastore_id", "launch_mode_id",
            "parameters_id", "repository_id")
    rows = qy.run(Sql("SELECT " + ", ".join(f"r.{q(c)}" for c in cols)
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

    executables = {i: _executable(v) for i, v in
                   fetch(S.EXECUTABLE, (r["executable_id"] for r in recs.values())).items()}
    repositories = {i: _repository(v) for i, v in
                    fetch(S.REPOSITORY, (r["repository_id"] for r in recs.values())).items()}
    launch_modes = {i: _launch_mode(v) for i, v in
                    fetch(S.LAUNCHMODE, (r["launch_mode_id"] for r in recs.values())).items()}
    datastores = {i: _datastore(v) for i, v in fetch(
        S.DATASTORE, [r[k] for r in recs.values() for k in ("datastore_id", "input_datastore_id")]
    ).items()}
    paramsets = {i: _parameter_set(v["type"], v["content"]) for i, v in
                 fetch(S.PARAMETERSET, (r["parameters_id"] for r in recs.values())).items()}

    def linked(link: S.Table, other: S.Table, other_fk: str):
        cols_ = ("record_id",) + tuple(f"o.{q(c)}" for c in other.columns)
        got = qy.run(Sql("SELECT l.record_id, " + ", ".join(cols_[1:])
                         + f" FROM {link.name} l JOIN {other.name} o ON o.id = l.{other_fk} "
                           f"WHERE ") + d.in_ints("l.record_id", recs))
        out: dict = {}
        for r in got:
            out.setdefault(r[0], []).append(dict(zip(other.columns, r[1:])))
        return out

    inputs = linked(S.RECORD_INPUT_DATA, S.DATAKEY, "datakey_id")
    deps = linked(S.RECORD_DEPENDENCIES, S.DEPENDENCY, "dependency_id")
    platforms = linked(S.RECORD_PLATFORMS, S.PLATFORM, "platforminformation_id")
    outputs: dict = {}
    for r in qy.run(Sql("SELECT " + ", ".join(f"k.{q(c)}" for c in S.DATAKEY.columns)
                        + f" FROM {S.DATAKEY.name} k WHERE ")
                    + d.in_ints("k.output_from_record_id", recs)):
        key = dict(zip(S.DATAKEY.columns, r))
        outputs.setdefault(key["output_from_record_id"], []).append(key)
    tags: dict = {}
    ctype = qy.content_type_id()
    if ctype is not None:
        # the reader's batched form: through the object_id index (principle 2)
        for object_id, name in qy.run(store.compiler.tags_of(qy, recs)):
            tags.setdefault(object_id, set()).add(name)

    def datakey(k):
        return sm_datastore.DataKey(k["path"], k["digest"], _aware(k["creation"]),
                                    **_metadata(k["metadata"]))

    built = {}
    for db_id, r in recs.items():
        record = sm_records.Record(
            executables.get(r["executable_id"]), repositories.get(r["repository_id"]),
            r["main_file"], r["version"], launch_modes.get(r["launch_mode_id"]),
            datastores.get(r["datastore_id"]), paramsets.get(r["parameters_id"]),
            [datakey(k) for k in sorted(inputs.get(db_id, ()), key=lambda k: k["path"])],
            r["script_arguments"], r["label"], r["reason"], r["diff"], r["user"],
            input_datastore=datastores.get(r["input_datastore_id"]),
            timestamp=decode_ts(r["timestamp"]))
        record.stdout_stderr = r["stdout_stderr"]
        record.duration = r["duration"]
        record.outcome = r["outcome"]
        record.tags = tags.get(db_id, set())
        record.output_data = [datakey(k) for k in sorted(outputs.get(db_id, ()),
                                                         key=lambda k: k["path"])]
        record.dependencies = [_dependency(x) for x in sorted(deps.get(db_id, ()),
                                                               key=lambda x: x["name"])]
        record.platforms = [_platform(x) for x in platforms.get(db_id, ())]
        record.repeats = r["repeats"]
        built[db_id] = record
    return [built[i] for i in db_ids]


def _aware(value):
    return None if value is None else decode_ts(value)


def _literal(text):
    import ast as pyast
    try:
        return pyast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _metadata(text) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        value = _literal(text)  # older Sumatra wrote repr(dict)
    return value if isinstance(value, dict) else {}


def _executable(row):
    from sumatra import programs
    from sumatra.core import get_registered_components
    cls = get_registered_components(programs.Executable).get(row["name"], programs.Executable)
    ex = cls.__new__(cls)  # no PATH search, no running the program for its version
    ex.path, ex.version, ex.options, ex.name = row["path"], row["version"], row["options"], row["name"]
    return ex


def _repository(row):
    from sumatra import versioncontrol
    for module in versioncontrol.vcs_list:
        if hasattr(module, row["type"]):
            try:
                return getattr(module, row["type"])(row["url"], upstream=row["upstream"])
            except Exception:  # noqa: BLE001 - the working copy may be gone
                break
    from sumatra.versioncontrol.base import Repository
    repo = Repository.__new__(Repository)
    repo.url, repo.upstream = row["url"], row["upstream"]
    return repo


def _launch_mode(row):
    from sumatra import launch
    params = _literal(row["parameters"])
    cls = getattr(launch, row["type"], None)
    if cls is None or not isinstance(params, dict):
        return None
    try:
        return cls(**params)
    except Exception:  # noqa: BLE001
        return None


def _datastore(row):
    from sumatra.datastore import get_data_store
    params = _literal(row["parameters"])
    if not isinstance(params, dict):
        return None
    try:
        return get_data_store(row["type"], params)
    except Exception:  # noqa: BLE001
        return None


def _dependency(row):
    from sumatra import dependency_finder
    module = getattr(dependency_finder, row["module"], None)
    if module is None or not hasattr(module, "Dependency"):
        from sumatra.dependency_finder.core import BaseDependency
        return BaseDependency(row["name"], row["path"], row["version"], row["diff"], row["source"])
    return module.Dependency(row["name"], row["path"], row["version"], row["diff"], row["source"])


def _platform(row):
    from sumatra import launch
    return launch.PlatformInformation(**{k: v for k, v in row.items() if k != "id"})


def _parameter_set(type_name: str, content):
    """A Sumatra parameter set built from the parsed data, never from eval.
    An unreadable set is left as its stored text."""
    import copy
    data = paramcache.parse(type_name, content)
    if isinstance(data, Unreadable):
        return content
    from sumatra import parameters
    cls = getattr(parameters, type_name, None)
    if cls is None:
        return copy.deepcopy(data)  # Sumatra's fallbacks: None, {}, the text
    try:
        if type_name in ("NTParameterSet", "SimpleParameterSet"):
            return cls(copy.deepcopy(data))
        if type_name == "ConfigParserParameterSet":
            from configparser import ConfigParser
            ps = cls.__new__(cls)
            ConfigParser.__init__(ps)
            ps.read_string(str(content))
            return ps
        ps = cls.__new__(cls)  # JSON, YAML: the parsed values
        ps._values = copy.deepcopy(data)
        return ps
    except Exception:  # noqa: BLE001 - fall back to the plain data
        return copy.deepcopy(data)
