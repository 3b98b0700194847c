"""Record stores of every Sumatra schema generation, built from the DDL in
`../shared/schemas/` (SQLite `.schema` output) on SQLite, PostgreSQL and
MariaDB, and filled with records made by the test.

Nothing here is anyone's data: the schema comes from the DDL file of the
generation, the rows from `Record` objects the test writes, stored in the
exact string formats Sumatra writes them (checked against Sumatra 0.8.1's
`DjangoRecordStore.save`, `sumatra/recordstore/django_store/`):

- `parameterset.type` names the class (`NTParameterSet`, `JSONParameterSet`,
  `YAMLParameterSet`); `content` is `str()` of the set, made with Sumatra's
  own classes (a Python repr, `json.dumps(sort_keys=True, indent=4)`,
  `yaml.dump(indent=4)`). Identical sets share one row.
- `record.tags` is `",".join(tags)`; the tag tables hold what django-tagging's
  `parse_tag_input` makes of that string (so one tag with a space, alone,
  becomes two tags in the tables: Sumatra does the same).
- launch mode and data store `parameters` are `str()` of a dict; datakey
  `metadata` is JSON (sort_keys) from 0.7 on, `str()` of a dict before.
- timestamps: SQLite text `YYYY-MM-DD HH:MM:SS[.ffffff]`, no zone (every
  generation); MariaDB `datetime` (naive UTC); PostgreSQL `timestamptz`.
  A naive `Record.timestamp` is read as UTC, as the README says of old stores.

Public API: GENERATIONS, BACKENDS, Record (+ DataFile, Executable, Repository,
LaunchMode, Datastore, Dependency, Platform), quirky_records(),
build_store(generation, backend, records, *, target) -> BuiltStore,
parse_schema(generation), server_ddl(generation, backend).

DDL translation for the servers (`server_ddl`): what Django's own backends
create for the field that produced each SQLite column, in the Django of that
generation (Django 1.3-1.6 for 0.5/0.6dev, 1.8-1.11 for 0.7-0.8dev, 5.2 for
0.8.1; the 0.8.1 mapping was checked against a store Sumatra 0.8.1 itself
created on both servers). Table and column names are kept exactly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import urlparse

from support import store_support as _ss

GENERATIONS = ("0.5", "0.6dev", "0.7-0.8dev", "0.8.1")
BACKENDS = ("sqlite", "postgres", "mysql")
OLDER = GENERATIONS[:-1]

SCHEMA_FILES = {
    "0.5": "sumatra-0.5.sql",
    "0.6dev": "sumatra-0.6dev.sql",
    "0.7-0.8dev": "sumatra-0.7-0.8dev.sql",
    "0.8.1": "sumatra-0.8.1.sql",
}


def schemas_dir() -> Path:
    """`../shared/schemas/` beside the repository (SMTQL_SCHEMAS overrides)."""
    env = os.environ.get("SMTQL_SCHEMAS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "schemas"


# ------------------------------------------------------------------ the DDL, parsed

@dataclass(frozen=True)
class Column:
    name: str
    type: str                 # as in the DDL, lower case: "integer", "varchar(50)", ...
    not_null: bool
    primary_key: bool
    autoincrement: bool
    unique: bool
    references: tuple[str, str] | None
    check: str | None


@dataclass(frozen=True)
class TableDef:
    name: str
    columns: tuple[Column, ...]
    uniques: tuple[tuple[str, ...], ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class IndexDef:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class Schema:
    generation: str
    statements: tuple[str, ...]        # the DDL file's statements, verbatim
    tables: dict                       # name -> TableDef (sqlite_sequence left out)
    indexes: tuple[IndexDef, ...]

    @property
    def tag_tables(self) -> tuple[str, str]:
        if "django_store_tag" in self.tables:
            return "django_store_tag", "django_store_taggeditem"
        return "tagging_tag", "tagging_taggeditem"

    @property
    def outputs_by_foreign_key(self) -> bool:
        return "output_from_record_id" in self.tables["django_store_datakey"].column_names

    @property
    def content_type_has_name(self) -> bool:
        return "name" in self.tables["django_content_type"].column_names


def _split_top(body: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


_COL = re.compile(r'"(\w+)"\s+(integer unsigned|integer|varchar\(\d+\)|char\(\d+\)|text|real|datetime)'
                  r'(.*)$', re.I | re.S)


def _parse_column(item: str) -> Column:
    m = _COL.match(item)
    if not m:
        raise ValueError(f"unparsed column definition: {item!r}")
    name, typ, rest = m.group(1), m.group(2).lower(), m.group(3)
    ref = re.search(r'REFERENCES\s+"(\w+)"\s*\("(\w+)"\)', rest)
    check = re.search(r"CHECK\s*\((.*)\)", rest)
    return Column(
        name=name, type=typ,
        not_null="NOT NULL" in rest.upper(),
        primary_key="PRIMARY KEY" in rest.upper(),
        autoincrement="AUTOINCREMENT" in rest.upper(),
        unique=bool(re.search(r"\bUNIQUE\b", rest, re.I)),
        references=(ref.group(1), ref.group(2)) if ref else None,
        check=check.group(1) if check else None)


@functools.lru_cache(maxsize=None)
def parse_schema(generation: str) -> Schema:
    text = (schemas_dir() / SCHEMA_FILES[generation]).read_text()
    statements = tuple(s.strip() for s in re.split(r";\s*\n", text) if s.strip())
    tables, indexes = {}, []
    for stmt in statements:
        m = re.match(r'CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)"?\s*\((.*)\)\s*;?$', stmt, re.S)
        if m:
            name, body = m.group(1), m.group(2)
            if name == "sqlite_sequence":  # SQLite's own, made by AUTOINCREMENT
                continue
            cols, uniques = [], []
            for item in _split_top(body):
                if item.upper().startswith("UNIQUE"):
                    uniques.append(tuple(re.findall(r'"(\w+)"', item)))
                else:
                    cols.append(_parse_column(item))
            tables[name] = TableDef(name, tuple(cols), tuple(uniques))
            continue
        m = re.match(r'CREATE (UNIQUE )?INDEX "(\w+)" ON "(\w+)" \((.*)\)', stmt, re.S)
        if m:
            indexes.append(IndexDef(m.group(2), m.group(3), tuple(re.findall(r'"(\w+)"', m.group(4))),
                                    bool(m.group(1))))
            continue
        raise ValueError(f"unparsed DDL statement in {SCHEMA_FILES[generation]}: {stmt[:80]!r}")
    return Schema(generation, statements, tables, tuple(indexes))


# ------------------------------------------------------------------ translating it for the servers

def _short(name: str, limit: int = 63) -> str:
    """An identifier within the servers' limits (PostgreSQL 63, MySQL 64),
    shortened the way Django does it: a prefix and a hash of the whole."""
    if len(name) <= limit:
        return name
    return name[:limit - 9] + "_" + hashlib.md5(name.encode()).hexdigest()[:8]


# Columns whose DDL width cannot hold what Sumatra of that generation writes
# into them: SQLite never enforced varchar(n), the servers do. The one case:
# 0.5/0.6dev declare launchmode.type varchar(10), and Sumatra writes the class
# name ("SerialLaunchMode", 16). Widened on the servers to the 0.7 width.
SERVER_WIDENED = {
    ("0.5", "django_store_launchmode", "type"): "varchar(100)",
    ("0.6dev", "django_store_launchmode", "type"): "varchar(100)",
}


def _server_type(generation: str, backend: str, table: str, col: Column) -> str:
    modern = generation == "0.8.1"
    if (generation, table, col.name) in SERVER_WIDENED:
        return SERVER_WIDENED[generation, table, col.name]
    if col.type == "integer" and col.primary_key:           # AutoField
        if backend == "postgres":
            return "integer GENERATED BY DEFAULT AS IDENTITY" if modern else "serial"
        return "integer AUTO_INCREMENT"
    if col.type == "integer unsigned":                       # PositiveIntegerField
        if backend == "postgres":
            return "integer"                                 # + CHECK (>= 0), below
        return "integer UNSIGNED"
    if col.type == "datetime":                               # DateTimeField
        if backend == "postgres":
            return "timestamp with time zone"
        return "datetime" if generation in ("0.5", "0.6dev") else "datetime(6)"
    if col.type == "real":                                   # FloatField
        return "double precision"
    if col.type == "text":                                   # TextField
        return "text" if backend == "postgres" else "longtext"
    if col.name == "ip_addr" and backend == "postgres":     # (Generic)IPAddressField
        return "inet"
    return col.type                                          # varchar(n), char(n), integer


def server_ddl(generation: str, backend: str) -> list[str]:
    """The generation's schema as PostgreSQL or MariaDB statements, tables
    and column names exactly as in the DDL. PostgreSQL: tables, then foreign
    keys by ALTER TABLE (DEFERRABLE INITIALLY DEFERRED, as Django makes them;
    this also covers the 0.7+ forward reference datakey -> record), then the
    DDL's indexes. MariaDB (InnoDB): foreign keys and indexes inside each
    CREATE TABLE (one statement per table: an ALTER rebuilds the table), run
    under FOREIGN_KEY_CHECKS=0 for the forward reference."""
    if backend not in ("postgres", "mysql"):
        raise ValueError(backend)
    schema = parse_schema(generation)
    q = (lambda n: f'"{n}"') if backend == "postgres" else (lambda n: f"`{n}`")
    creates, fks, idx = [], [], []
    for t in schema.tables.values():
        defs, extra = [], []
        for c in t.columns:
            d = f"{q(c.name)} {_server_type(generation, backend, t.name, c)}"
            d += " NOT NULL" if c.not_null else " NULL"
            if c.primary_key:
                d += " PRIMARY KEY"
            if c.unique:
                d += " UNIQUE"
            if c.type == "integer unsigned" and (backend == "postgres" or c.check):
                d += f" CHECK ({q(c.name)} >= 0)"
            defs.append(d)
            if c.references:
                rt, rc = c.references
                constraint = (f"CONSTRAINT {q(_short(f'{t.name}_{c.name}_fk_{rt}_{rc}'))} "
                              f"FOREIGN KEY ({q(c.name)}) REFERENCES {q(rt)} ({q(rc)})")
                if backend == "postgres":
                    fks.append(f"ALTER TABLE {q(t.name)} ADD {constraint} DEFERRABLE INITIALLY DEFERRED")
                else:
                    extra.append(constraint)
        for cols in t.uniques:
            defs.append(f"CONSTRAINT {q(_short(t.name + '_' + '_'.join(cols) + '_uniq'))} "
                        f"UNIQUE ({', '.join(q(c) for c in cols)})")
        for i in schema.indexes:
            if i.table != t.name:
                continue
            cols = ", ".join(q(c) for c in i.columns)
            if backend == "postgres":
                idx.append(f"CREATE {'UNIQUE ' if i.unique else ''}INDEX {q(_short(i.name))} "
                           f"ON {q(i.table)} ({cols})")
            else:
                extra.insert(0, f"{'UNIQUE ' if i.unique else ''}KEY {q(_short(i.name))} ({cols})")
        tail = " ENGINE=InnoDB" if backend == "mysql" else ""
        creates.append(f"CREATE TABLE {q(t.name)} ({', '.join(defs + extra)}){tail}")
    if backend == "mysql":
        return ["SET FOREIGN_KEY_CHECKS = 0"] + creates + ["SET FOREIGN_KEY_CHECKS = 1"]
    return creates + fks + idx


# ------------------------------------------------------------------ records made by the test

@dataclass(frozen=True)
class Executable:
    path: str = "/usr/bin/python"
    name: str = "Python"
    version: str = "2.7.3"
    options: str = ""


@dataclass(frozen=True)
class Repository:
    type: str = "GitRepository"
    url: str = "/Users/ada/projects/quirks"
    upstream: str | None = None


@dataclass(frozen=True)
class LaunchMode:
    type: str = "SerialLaunchMode"
    working_directory: str = "/Users/ada/projects/quirks"
    options: str | None = None

    def stored(self) -> str:  # str(LaunchMode.__getstate__())
        return str({"working_directory": self.working_directory, "options": self.options})


@dataclass(frozen=True)
class Datastore:
    type: str = "FileSystemDataStore"
    root: str = "/Users/ada/projects/quirks/Data"

    def stored(self) -> str:  # str(FileSystemDataStore.__getstate__())
        return str({"root": self.root})


@dataclass(frozen=True)
class Dependency:
    name: str = "numpy"
    path: str = "/usr/lib/python2.7/dist-packages/numpy"
    version: str = "1.6.1"
    diff: str = ""
    source: str | None = None
    module: str = "python"


@dataclass(frozen=True)
class Platform:
    architecture_bits: str = "64bit"
    architecture_linkage: str = "ELF"
    machine: str = "x86_64"
    network_name: str = "ada-laptop"
    ip_addr: str = "127.0.1.1"
    processor: str = "x86_64"
    release: str = "3.2.0-29-generic"
    system_name: str = "Linux"
    version: str = "#46-Ubuntu SMP Fri Jul 27 17:03:23 UTC 2012"


@dataclass
class DataFile:
    """A datakey: an input or output file of a record."""
    path: str
    digest: str = ""                      # default: sha1 of the path
    creation: datetime | None = None      # 0.7+ only (0.5/0.6dev have no column)
    metadata: dict = field(default_factory=lambda: {"encoding": None, "mimetype": "text/plain",
                                                    "size": 128})

    def __post_init__(self):
        if not self.digest:
            self.digest = hashlib.sha1(self.path.encode()).hexdigest()


PARAM_CLASSES = {"nt": "NTParameterSet", "json": "JSONParameterSet", "yaml": "YAMLParameterSet"}


@dataclass
class Record:
    """One record as the test means it; `build_store` writes it the way
    Sumatra would have. `parameters` is Python data in `format` ("nt",
    "json" or "yaml"), unless `content` (with `param_type`) gives the stored
    text verbatim. A `deleted` record is saved and then deleted the way the
    Django ORM deletes one: its row, links and outputs go, its tag rows stay
    (tagged items pointing at no record, as found in real stores)."""
    label: str
    timestamp: datetime                   # naive: UTC without a zone, as old stores keep it
    tags: tuple[str, ...] = ()
    parameters: Any = field(default_factory=dict)
    format: str = "nt"
    content: str | None = None
    param_type: str | None = None
    reason: str = ""
    outcome: str = ""
    duration: float | None = None
    main_file: str = "main.py"
    version: str = "6b4f2a09e1d3c5b7a8f90e1d2c3b4a5f6e7d8c9b"
    user: str = "Ada L. <ada@example.org>"  # fits 0.5's varchar(30)
    script_arguments: str = "<parameters>"
    stdout_stderr: str = ""
    diff: str = ""
    repeats: str | None = None
    outputs: list[DataFile] = field(default_factory=list)
    inputs: list[DataFile] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=lambda: [Dependency()])
    platforms: list[Platform] = field(default_factory=lambda: [Platform()])
    executable: Executable | None = field(default_factory=Executable)
    repository: Repository | None = field(default_factory=Repository)
    launch_mode: LaunchMode = field(default_factory=LaunchMode)
    datastore: Datastore = field(default_factory=Datastore)
    input_datastore: Datastore = field(default_factory=Datastore)
    project: str = "quirks"
    deleted: bool = False

    # -- the stored forms

    def stored_param_type(self) -> str:
        if self.param_type is not None:
            return self.param_type
        return PARAM_CLASSES[self.format]

    def stored_content(self) -> str:
        """`str()` of the Sumatra parameter set, made by Sumatra's own class."""
        if self.content is not None:
            return self.content
        from sumatra import parameters as sp
        if self.format == "nt":
            return str(sp.NTParameterSet(self.parameters))
        if self.format == "json":
            return str(sp.JSONParameterSet(json.dumps(self.parameters)))
        if self.format == "yaml":
            import yaml
            return str(sp.YAMLParameterSet(yaml.safe_dump(self.parameters)))
        raise ValueError(f"unknown parameter format {self.format!r}")

    def tags_column(self) -> str:
        """`django_store_record.tags`: DjangoRecordStore.save writes ",".join(tags)."""
        return ",".join(self.tags)

    def tag_names(self) -> list[str]:
        """What the tag tables hold (and Sumatra's Record.tags reads back):
        django-tagging's parse_tag_input of the column."""
        from sumatra.recordstore.django_store.tagging_utils import parse_tag_input
        return parse_tag_input(self.tags_column())

    def utc_timestamp(self) -> datetime:
        """The timestamp as an aware UTC datetime (a naive one read as UTC)."""
        ts = self.timestamp
        return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def quirky_records() -> list[Record]:
    """Records with what real old stores show (schemas/README.md): naive
    timestamps, no status tags at all, tags with spaces (two in one record,
    kept; one alone, split by django-tagging), a deleted record whose tag rows
    stay (orphans), a top-level `params` key, a YAML set with the key `true`,
    smttask task descriptions nested (JSON and NT), two records sharing one
    parameter set, outputs and inputs."""
    shared = {"dt": 0.1, "N": 100, "model": {"name": "lif", "tau_m": 20.0}}
    return [
        Record("20130502-143312", datetime(2013, 5, 2, 14, 33, 12),
               parameters=dict(shared), reason="first try", outcome="spikes look fine",
               duration=12.5, outputs=[DataFile("20130502-143312/spikes.dat",
                                                creation=datetime(2013, 5, 2, 14, 33, 25))]),
        Record("20130503-091500", datetime(2013, 5, 3, 9, 15, 0, 250000),
               tags=("needs review", "batch 2"), parameters=dict(shared), duration=13.0,
               reason="same again", outputs=[
                   DataFile("20130503-091500/spikes.dat", creation=datetime(2013, 5, 3, 9, 15, 14)),
                   DataFile("20130503-091500/vm.dat", creation=datetime(2013, 5, 3, 9, 15, 14),
                            metadata={"encoding": None, "mimetype": None, "size": 4096})]),
        Record("20140110-120000", datetime(2014, 1, 10, 12, 0, 0), tags=("hand picked",),
               parameters={"dt": 0.05, "N": 200, "model": {"name": "adex", "tau_m": 15.0}},
               duration=40.25, script_arguments="--fast <parameters>"),
        Record("params-top", datetime(2015, 3, 1, 8, 0, 0), tags=("sweep",),
               parameters={"params": {"lr": 0.01, "seed": 3, "layers": [64, 32]}},
               main_file="train.py", duration=600.0,
               inputs=[DataFile("data/train.csv", metadata={"encoding": "utf-8",
                                                           "mimetype": "text/csv", "size": 2048})]),
        Record("yaml-bool", datetime(2016, 6, 1, 0, 0, 0), tags=("yaml",),
               parameters={True: True}, format="yaml", main_file="flags.py"),
        Record("smttask-json", datetime(2019, 11, 5, 17, 45, 30), tags=("smttask",),
               parameters={"taskname": "Simulate", "inputs": {
                   "seed": 1, "T": 5.0,
                   "model": {"taskname": "MakeModel", "inputs": {"N": 50, "tau": 0.02}}}},
               format="json", main_file="tasks.py",
               stdout_stderr="Simulate: done\n"),
        Record("smttask-nt", datetime(2020, 2, 14, 6, 30, 0), tags=("smttask", "batch 2"),
               parameters={"taskname": "Fit", "inputs": {
                   "data": {"taskname": "Simulate", "inputs": {"seed": 2, "T": 5.0}},
                   "lr": 0.001}},
               main_file="tasks.py"),
        Record("deleted-run", datetime(2013, 5, 4, 10, 0, 0), tags=("gone", "needs review"),
               parameters={"dt": 0.2}, deleted=True,
               outputs=[DataFile("deleted-run/out.dat")]),
    ]


# ------------------------------------------------------------------ building a store

_MIGRATIONS = {
    # README: 0.7-0.8dev has only contenttypes and tagging rows; 0.8.1 what
    # Sumatra 0.8.1's migrate writes (checked). 0.5/0.6dev: no table at all.
    "0.7-0.8dev": [("contenttypes", "0001_initial"), ("contenttypes", "0002_remove_content_type_name"),
                   ("tagging", "0001_initial"), ("tagging", "0002_on_delete")],
    "0.8.1": [("contenttypes", "0001_initial"), ("contenttypes", "0002_remove_content_type_name"),
              ("django_store", "0001_initial"), ("django_store", "0002_tag_taggeditem")],
}

# (verbose name, app_label, model); the 0.8.1 order is what Sumatra 0.8.1 creates
# (record is not id 1: readers must look it up).
_CONTENT_TYPES_081 = [
    ("data key", "django_store", "datakey"), ("datastore", "django_store", "datastore"),
    ("dependency", "django_store", "dependency"), ("executable", "django_store", "executable"),
    ("launch mode", "django_store", "launchmode"), ("parameter set", "django_store", "parameterset"),
    ("platform information", "django_store", "platforminformation"),
    ("project", "django_store", "project"), ("repository", "django_store", "repository"),
    ("record", "django_store", "record"), ("tag", "django_store", "tag"),
    ("tagged item", "django_store", "taggeditem"), ("content type", "contenttypes", "contenttype"),
]
_CONTENT_TYPES_OLD = [
    ("content type", "contenttypes", "contenttype"), ("tag", "tagging", "tag"),
    ("tagged item", "tagging", "taggeditem"), ("project", "django_store", "project"),
    ("executable", "django_store", "executable"), ("dependency", "django_store", "dependency"),
    ("repository", "django_store", "repository"), ("parameter set", "django_store", "parameterset"),
    ("launch mode", "django_store", "launchmode"), ("datastore", "django_store", "datastore"),
    ("data key", "django_store", "datakey"),
    ("platform information", "django_store", "platforminformation"),
    ("record", "django_store", "record"),
]

_MIGRATED_AT = {"0.7-0.8dev": datetime(2017, 4, 3, 9, 12, 44, 123456),
                "0.8.1": datetime(2025, 5, 2, 11, 0, 1, 654321)}


@dataclass
class BuiltStore:
    generation: str
    backend: str
    uri: str                     # an SQLite path, or postgres://…/DB, mysql://…/DB
    records: list[Record]
    path: Path | None = None     # SQLite only
    database: str | None = None  # servers only

    @property
    def schema(self) -> Schema:
        return parse_schema(self.generation)

    def connect(self):
        return _connect(self.backend, self.uri)

    def query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        """Rows of one statement; write `?` for parameters, `"x"` for names
        (translated for MariaDB)."""
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(_dialect(self.backend, sql), tuple(params))
            return [tuple(r) for r in cur.fetchall()]
        finally:
            conn.close()

    def saved(self) -> list[Record]:
        """The records that have a row (not deleted)."""
        return [r for r in self.records if not r.deleted]


def _dialect(backend: str, sql: str) -> str:
    if backend == "sqlite":
        return sql
    sql = sql.replace("?", "%s")
    if backend == "mysql":
        sql = sql.replace('"', "`")
    return sql


def _connect(backend: str, uri: str):
    if backend == "sqlite":
        return sqlite3.connect(uri)
    if backend == "postgres":
        import psycopg
        conn = psycopg.connect(uri)
        conn.execute("SET TIME ZONE 'UTC'")
        return conn
    import pymysql
    u = urlparse(uri)
    conn = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root",
                           password=u.password or "", database=u.path.lstrip("/"),
                           charset="utf8mb4")
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
    return conn


_db_count = 0


def create_generation_database(backend: str) -> tuple[str, str]:
    """A fresh server database `smtql_gen_<pid>_<n>`: (name, URI). Made as
    store_support.create_database makes its own, with its PG_BASE/MYSQL_BASE,
    and registered in its list so that its exit hook drops it too."""
    global _db_count
    _ss.require_server(backend)
    name = f"smtql_gen_{os.getpid()}_{_db_count}"
    _db_count += 1
    if backend == "postgres":
        import psycopg
        with psycopg.connect(_ss.PG_BASE + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'")
        uri = f"{_ss.PG_BASE}/{name}"
    else:
        conn = _ss._mysql_admin()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
        uri = f"{_ss.MYSQL_BASE}/{name}"
    _ss._databases.append((backend, name))
    return name, uri


class _Writer:
    """Inserts rows, letting the database number them (so that sequences and
    AUTO_INCREMENT counters stay right for later writers such as smtql's)."""

    def __init__(self, backend: str, conn):
        self.backend, self.conn = backend, conn
        self.cur = conn.cursor()
        self.q = (lambda n: f"`{n}`") if backend == "mysql" else (lambda n: f'"{n}"')
        self.mark = "?" if backend == "sqlite" else "%s"
        self._cache: dict = {}

    def execute(self, sql: str, params: Sequence = ()):
        self.cur.execute(_dialect(self.backend, sql), tuple(params))

    def insert(self, table: str, values: dict, pk: str | None = "id"):
        cols = ", ".join(self.q(c) for c in values)
        marks = ", ".join(self.mark for _ in values)
        sql = f"INSERT INTO {self.q(table)} ({cols}) VALUES ({marks})"
        if self.backend == "postgres" and pk:
            sql += f" RETURNING {self.q(pk)}"
        self.cur.execute(sql, tuple(self.adapt(v) for v in values.values()))
        if not pk:
            return None
        if self.backend == "postgres":
            return self.cur.fetchone()[0]
        return self.cur.lastrowid

    def get_or_create(self, table: str, values: dict) -> int:
        """Django's get_or_create: identical objects share one row."""
        key = (table, tuple(sorted((k, repr(v)) for k, v in values.items())))
        if key not in self._cache:
            self._cache[key] = self.insert(table, values)
        return self._cache[key]

    def adapt(self, v):
        if isinstance(v, datetime):
            utc = v if v.tzinfo is None else v.astimezone(timezone.utc).replace(tzinfo=None)
            if self.backend == "sqlite":
                return str(utc)  # Django's SQLite form: "YYYY-MM-DD HH:MM:SS[.ffffff]"
            if self.backend == "postgres":
                return utc.replace(tzinfo=timezone.utc)
            return utc
        return v


def build_store(generation: str, backend: str, records: Iterable[Record], *,
                target: str | os.PathLike | None = None) -> BuiltStore:
    """A store of `generation` on `backend` ("sqlite", "postgres", "mysql"),
    its schema made from the generation's DDL file, holding `records` (none:
    an empty store, no project row). `target`: for SQLite a directory (the
    file is `<target>/sumatra-<generation>.sqlite`) or a file path; servers
    get a fresh database `smtql_gen_<pid>_<n>` (dropped at exit) and ignore it."""
    if generation not in GENERATIONS:
        raise ValueError(f"unknown generation {generation!r}; one of {GENERATIONS}")
    records = list(records)
    schema = parse_schema(generation)
    if backend == "sqlite":
        if target is None:
            raise ValueError("an SQLite store needs target= (a directory)")
        path = Path(target)
        if path.is_dir() or not path.suffix:
            path.mkdir(parents=True, exist_ok=True)
            path = path / f"sumatra-{generation}.sqlite"
        if path.exists():
            path.unlink()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN")  # one transaction: one fsync, not one per statement
        for stmt in schema.statements:
            if stmt.startswith("CREATE TABLE sqlite_sequence"):
                continue  # made by SQLite itself with the first AUTOINCREMENT table
            conn.execute(stmt)
        built = BuiltStore(generation, backend, str(path), records, path=path)
    elif backend in ("postgres", "mysql"):
        name, uri = create_generation_database(backend)
        conn = _connect(backend, uri)
        cur = conn.cursor()
        for stmt in server_ddl(generation, backend):
            cur.execute(stmt)
        conn.commit()
        built = BuiltStore(generation, backend, uri, records, database=name)
    else:
        raise ValueError(f"unknown backend {backend!r}; one of {BACKENDS}")
    try:
        _fill(schema, _Writer(backend, conn), records)
        conn.commit()
    finally:
        conn.close()
    return built


def _fill(schema: Schema, w: _Writer, records: list[Record]) -> None:
    gen = schema.generation
    for app, name in _MIGRATIONS.get(gen, []):
        w.insert("django_migrations", {"app": app, "name": name, "applied": _MIGRATED_AT[gen]})
    record_ct = None
    for verbose, app, model in (_CONTENT_TYPES_081 if gen == "0.8.1" else _CONTENT_TYPES_OLD):
        row = {"app_label": app, "model": model}
        if schema.content_type_has_name:
            row = {"name": verbose, **row}
        ct = w.insert("django_content_type", row)
        if (app, model) == ("django_store", "record"):
            record_ct = ct
    tag_table, item_table = schema.tag_tables
    record_cols = schema.tables["django_store_record"].column_names
    datakey_cols = schema.tables["django_store_datakey"].column_names
    projects: set[str] = set()
    tag_ids: dict[str, int] = {}
    datakey_ids: dict = {}

    def datakey(f: DataFile) -> tuple[int, bool]:
        if "creation" in datakey_cols:
            values = {"path": f.path, "digest": f.digest, "creation": f.creation,
                      "metadata": json.dumps(f.metadata, sort_keys=True)}
        else:  # before 0.7 metadata was str() of the dict (DataKey.get_metadata's fallback)
            values = {"path": f.path, "digest": f.digest, "metadata": str(f.metadata)}
        key = tuple((k, repr(v)) for k, v in values.items())
        if key in datakey_ids:
            return datakey_ids[key], False
        datakey_ids[key] = w.insert("django_store_datakey", values)
        return datakey_ids[key], True

    for r in records:
        if r.project not in projects:  # Project(id=name).save(): name and description empty
            w.insert("django_store_project", {"id": r.project, "name": "", "description": ""},
                     pk=None)
            projects.add(r.project)
        row = {
            "label": r.label, "reason": r.reason, "duration": r.duration,
            "executable_id": None if r.executable is None else w.get_or_create(
                "django_store_executable", vars_of(r.executable)),
            "repository_id": None if r.repository is None else w.get_or_create(
                "django_store_repository", vars_of(r.repository)),
            "main_file": r.main_file, "version": r.version,
            "parameters_id": w.get_or_create("django_store_parameterset", {
                "type": r.stored_param_type(), "content": r.stored_content()}),
            "launch_mode_id": w.get_or_create("django_store_launchmode", {
                "type": r.launch_mode.type, "parameters": r.launch_mode.stored()}),
            "datastore_id": w.get_or_create("django_store_datastore", {
                "type": r.datastore.type, "parameters": r.datastore.stored()}),
            "input_datastore_id": w.get_or_create("django_store_datastore", {
                "type": r.input_datastore.type, "parameters": r.input_datastore.stored()}),
            "outcome": r.outcome, "timestamp": r.timestamp, "tags": r.tags_column(),
            "diff": r.diff, "user": r.user, "project_id": r.project,
            "script_arguments": r.script_arguments, "stdout_stderr": r.stdout_stderr,
        }
        if "repeats" in record_cols:
            row["repeats"] = r.repeats
        db_id = w.insert("django_store_record", row, pk="db_id")
        for f in r.inputs:
            key_id, _ = datakey(f)
            w.insert("django_store_record_input_data", {"record_id": db_id, "datakey_id": key_id})
        for f in r.outputs:
            key_id, _ = datakey(f)
            if schema.outputs_by_foreign_key:
                w.execute('UPDATE "django_store_datakey" SET "output_from_record_id" = ? '
                          'WHERE "id" = ?', (db_id, key_id))
            else:
                w.insert("django_store_record_output_data", {"record_id": db_id,
                                                             "datakey_id": key_id})
        for d in r.dependencies:
            w.insert("django_store_record_dependencies", {
                "record_id": db_id,
                "dependency_id": w.get_or_create("django_store_dependency", vars_of(d))})
        for p in r.platforms:
            w.insert("django_store_record_platforms", {
                "record_id": db_id, "platforminformation_id": w.get_or_create(
                    "django_store_platforminformation", vars_of(p))})
        for name in r.tag_names():  # TagField's post_save: Tag.objects.update_tags
            if name not in tag_ids:
                tag_ids[name] = w.insert(tag_table, {"name": name})
            w.insert(item_table, {"tag_id": tag_ids[name], "content_type_id": record_ct,
                                  "object_id": db_id})
        if r.deleted:  # Record.delete(): m2m links and outputs go; tagged items stay
            for table in ("django_store_record_input_data", "django_store_record_dependencies",
                          "django_store_record_platforms") + (
                    () if schema.outputs_by_foreign_key else ("django_store_record_output_data",)):
                w.execute(f'DELETE FROM "{table}" WHERE "record_id" = ?', (db_id,))
            if schema.outputs_by_foreign_key:
                w.execute('DELETE FROM "django_store_datakey" WHERE "output_from_record_id" = ?',
                          (db_id,))
                gone = {datakey(f)[0] for f in r.outputs}
                for key in [k for k, v in datakey_ids.items() if v in gone]:
                    del datakey_ids[key]
            w.execute('DELETE FROM "django_store_record" WHERE "db_id" = ?', (db_id,))


def vars_of(obj) -> dict:
    return dict(vars(obj))
