"""Stores of every Sumatra schema generation (../shared/schemas/), built from
the DDL on SQLite, PostgreSQL and MariaDB by support.generations and filled
with the quirky records real old stores show (issue 11).

- each generation builds on each backend, and its tables and columns are the
  DDL's (on the servers, column types as Django would have made them);
- the rows landed where schemas/README.md says that generation keeps them
  (plain SQL), and an empty store has no project row;
- oracle: Sumatra 0.8.1's own API (a child process) reads the 0.8.1 stores
  back with their tags, parameters and outputs;
- smtql's read statements on each generation, on each backend (issue 11).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from support.generations import (BACKENDS, GENERATIONS, SERVER_WIDENED, build_store,
                                 parse_schema, quirky_records)
from support import store_support
from support.scripts import CLI_RUNS

_built: dict = {}


def store(generation, backend, tmp_path_factory, empty=False):
    """The quirky (or empty) store of a generation on a backend, built once per process."""
    key = (generation, backend, empty)
    if key not in _built:
        store_support.require_server(backend)
        target = tmp_path_factory.mktemp(f"gen-{generation}-{'empty' if empty else 'quirky'}")
        _built[key] = build_store(generation, backend, [] if empty else quirky_records(),
                                  target=target)
    return _built[key]


ALL = [pytest.param(g, b, id=f"{g}-{b}") for g in GENERATIONS for b in BACKENDS]


# ------------------------------------------------------------------ schema

def _columns(s) -> dict[str, list[tuple[str, str]]]:
    """{table: [(column, type as the database reports it)]} in column order."""
    out: dict[str, list] = {}
    if s.backend == "sqlite":
        for (name,) in s.query("SELECT name FROM sqlite_master WHERE type = 'table'"):
            out[name] = [(r[1], r[2].lower()) for r in s.query(f'PRAGMA table_info("{name}")')]
    elif s.backend == "postgres":
        for t, c, typ in s.query(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"):
            out.setdefault(t, []).append((c, typ))
    else:
        for t, c, typ in s.query(
                "SELECT table_name, column_name, column_type FROM information_schema.columns "
                "WHERE table_schema = ? ORDER BY table_name, ordinal_position", (s.database,)):
            out.setdefault(t, []).append((c, typ.lower()))
    return out


@pytest.mark.parametrize("generation, backend", ALL)
def test_tables_and_columns_are_the_ddl(generation, backend, tmp_path_factory):
    s = store(generation, backend, tmp_path_factory)
    schema = parse_schema(generation)
    got = _columns(s)
    expected_tables = set(schema.tables)
    if backend == "sqlite" and any(c.autoincrement for t in schema.tables.values()
                                   for c in t.columns):
        expected_tables.add("sqlite_sequence")  # the DDL lists it too
    assert set(got) == expected_tables
    for name, table in schema.tables.items():
        assert [c for c, _ in got[name]] == list(table.column_names), name
    types = {(t, c): typ for t, cols in got.items() for c, typ in cols}
    ddl = {(t.name, c.name): c for t in schema.tables.values() for c in t.columns}
    for (t, c), col in ddl.items():
        typ = types[t, c]
        if backend == "sqlite":
            assert typ == col.type, (t, c)
        elif col.type == "datetime":
            assert typ == {"postgres": "timestamp with time zone",
                           "mysql": "datetime" if generation in ("0.5", "0.6dev")
                           else "datetime(6)"}[backend], (t, c)
        elif c == "ip_addr":
            assert typ == ("inet" if backend == "postgres" else col.type), (t, c)
        elif col.type.startswith(("varchar", "char")) and (generation, t, c) not in SERVER_WIDENED:
            n = col.type.split("(")[1].rstrip(")")
            assert typ in (f"character varying({n})", f"character({n})", "character varying",
                           "character", col.type), (t, c, typ)
            if backend == "postgres":
                (length,) = s.query("SELECT character_maximum_length FROM information_schema.columns "
                                    "WHERE table_name = ? AND column_name = ?", (t, c))[0]
                assert length == int(n), (t, c)
        elif col.type == "text":
            assert typ == ("text" if backend == "postgres" else "longtext"), (t, c)


# ------------------------------------------------------------------ where the data landed

def _by_label(s):
    return {r.label: r for r in s.saved()}


@pytest.mark.parametrize("generation, backend", ALL)
def test_rows_land_where_the_readme_says(generation, backend, tmp_path_factory):
    s = store(generation, backend, tmp_path_factory)
    schema = s.schema
    records = _by_label(s)
    assert s.query('SELECT "id", "name", "description" FROM "django_store_project"') == [
        ("quirks", "", "")]
    rows = s.query('SELECT "label", "db_id", "tags", "timestamp", "parameters_id" '
                   'FROM "django_store_record"')
    assert {r[0] for r in rows} == set(records)
    db_ids = {r[0]: r[1] for r in rows}
    for label, _, tags, ts, _ in rows:
        assert tags == records[label].tags_column()  # ",".join(tags), spaces kept
        want = records[label].timestamp  # naive, read as UTC
        if backend == "sqlite":
            assert ts == str(want) and "+" not in ts
        elif backend == "postgres":
            assert ts == want.replace(tzinfo=timezone.utc)
        else:
            assert ts.tzinfo is None
            assert ts == (want.replace(microsecond=0) if generation in ("0.5", "0.6dev") else want)

    # parameter sets: the class name and str() of the set; identical sets share a row
    params = {label: (t, c) for label, t, c in s.query(
        'SELECT r."label", p."type", p."content" FROM "django_store_record" r '
        'JOIN "django_store_parameterset" p ON p."id" = r."parameters_id"')}
    for label, r in records.items():
        assert params[label] == (r.stored_param_type(), r.stored_content()), label
    assert params["params-top"][1] == "{'params': {'lr': 0.01, 'seed': 3, 'layers': [64, 32]}}"
    assert params["yaml-bool"] == ("YAMLParameterSet", "true: true\n")
    assert params["smttask-json"][0] == "JSONParameterSet"
    assert json.loads(params["smttask-json"][1])["inputs"]["model"]["taskname"] == "MakeModel"
    shared = {r[4] for r in rows if r[0] in ("20130502-143312", "20130503-091500")}
    assert len(shared) == 1

    # tags: the generation's tag tables, through the content type django_store.record
    tag_table, item_table = schema.tag_tables
    other = {"django_store_tag", "tagging_tag"} - {tag_table}
    assert not other & set(schema.tables)
    (ct,) = s.query('SELECT "id" FROM "django_content_type" WHERE "app_label" = ? AND "model" = ?',
                    ("django_store", "record"))[0]
    assert ct != 1  # readers must look it up
    items = s.query(f'SELECT ti."object_id", t."name" FROM "{item_table}" ti '
                    f'JOIN "{tag_table}" t ON t."id" = ti."tag_id" WHERE ti."content_type_id" = ?',
                    (ct,))
    for label, r in records.items():
        assert sorted(n for o, n in items if o == db_ids[label]) == r.tag_names(), label
    assert records["20140110-120000"].tag_names() == ["hand", "picked"]  # django-tagging split it
    assert sorted(n for _, n in items if n == "needs review") == ["needs review"] * 2
    orphans = sorted(n for o, n in items if o not in db_ids.values())
    assert orphans == ["gone", "needs review"]  # the deleted record's tag rows stay
    assert not any(t.startswith("_") for _, t in items)  # no status tags at all

    # outputs
    if schema.outputs_by_foreign_key:
        out = s.query('SELECT r."label", k."path" FROM "django_store_datakey" k '
                      'JOIN "django_store_record" r ON r."db_id" = k."output_from_record_id"')
        assert "django_store_record_output_data" not in schema.tables
    else:
        out = s.query('SELECT r."label", k."path" FROM "django_store_record_output_data" o '
                      'JOIN "django_store_record" r ON r."db_id" = o."record_id" '
                      'JOIN "django_store_datakey" k ON k."id" = o."datakey_id"')
        assert {"creation", "output_from_record_id"}.isdisjoint(
            schema.tables["django_store_datakey"].column_names)
    for label, r in records.items():
        assert sorted(p for lab, p in out if lab == label) == sorted(f.path for f in r.outputs)
    inputs = s.query('SELECT r."label", k."path", k."metadata" FROM "django_store_record_input_data" i '
                     'JOIN "django_store_record" r ON r."db_id" = i."record_id" '
                     'JOIN "django_store_datakey" k ON k."id" = i."datakey_id"')
    assert [(lab, p) for lab, p, _ in inputs] == [("params-top", "data/train.csv")]
    metadata = inputs[0][2]
    if generation in ("0.5", "0.6dev"):
        assert metadata.startswith("{'encoding'")  # str() of a dict, before JSON
    else:
        assert json.loads(metadata)["mimetype"] == "text/csv"

    # the generation's marks (README "how to tell")
    has_migrations = "django_migrations" in schema.tables
    assert has_migrations == (generation not in ("0.5", "0.6dev"))
    assert schema.content_type_has_name == (generation in ("0.5", "0.6dev"))
    assert ("repeats" in schema.tables["django_store_record"].column_names) == (generation != "0.5")
    if has_migrations:
        apps = {a for a, _ in s.query('SELECT "app", "name" FROM "django_migrations"')}
        assert apps == ({"contenttypes", "django_store"} if generation == "0.8.1"
                        else {"contenttypes", "tagging"})


@pytest.mark.parametrize("generation, backend", ALL)
def test_empty_store_has_no_project(generation, backend, tmp_path_factory):
    s = store(generation, backend, tmp_path_factory, empty=True)
    tag_table, item_table = s.schema.tag_tables
    for table in ("django_store_project", "django_store_record", "django_store_parameterset",
                  tag_table, item_table):
        assert s.query(f'SELECT count(*) FROM "{table}"') == [(0,)], table
    assert s.query('SELECT count(*) FROM "django_content_type" WHERE "model" = ?', ("record",)) == [(1,)]


# ------------------------------------------------------------------ oracle: Sumatra 0.8.1's API

_SUMATRA_READS = textwrap.dedent("""\
    import json, sys
    uri = sys.argv[1]
    if uri.startswith("mysql"):
        import pymysql
        pymysql.version_info = (2, 2, 1, "final", 0)  # Django 5.2 asks for mysqlclient >= 2.2.1
        pymysql.install_as_MySQLdb()
    from sumatra.datastore import filesystem
    # Building a record's FileSystemDataStore creates its root (/Users/... here):
    # keep the attribute, drop the side effect. Nothing that is read changes.
    filesystem.FileSystemDataStore.root = property(lambda s: s._root,
                                                   lambda s, v: setattr(s, "_root", v))
    from sumatra.recordstore.django_store import DjangoRecordStore
    store = DjangoRecordStore(uri)
    def plain(v):
        if hasattr(v, "as_dict"):
            v = v.as_dict()
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    out = {"projects": store.list_projects(), "records": []}
    for name in out["projects"]:
        for r in store.list(name):
            out["records"].append({
                "label": r.label, "tags": sorted(r.tags), "timestamp": r.timestamp.isoformat(),
                "params_type": type(r.parameters).__name__, "params": plain(r.parameters),
                "outputs": sorted(k.path for k in r.output_data),
                "inputs": sorted(k.path for k in r.input_data),
                "reason": r.reason, "duration": r.duration, "main_file": r.main_file,
                "user": r.user, "dependencies": [d.name for d in r.dependencies],
                "platforms": [p.ip_addr for p in r.platforms],
                "launch_mode": type(r.launch_mode).__name__,
                "datastore_root": r.datastore._root,
            })
    json.dump(out, sys.stdout)
""")


def _plain_keys(v):
    if isinstance(v, dict):
        return {str(k): _plain_keys(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain_keys(x) for x in v]
    return v


@pytest.mark.parametrize("backend", BACKENDS)
def test_sumatra_081_reads_the_081_store(backend, tmp_path_factory):
    s = store("0.8.1", backend, tmp_path_factory)
    proc = subprocess.run([sys.executable, "-c", _SUMATRA_READS, s.uri],
                          env=store_support.child_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["projects"] == ["quirks"]
    by_label = {r["label"]: r for r in got["records"]}
    want = _by_label(s)
    assert set(by_label) == set(want)  # the deleted record is not listed
    for label, r in want.items():
        g = by_label[label]
        assert g["tags"] == r.tag_names(), label
        assert datetime.fromisoformat(g["timestamp"]) == r.utc_timestamp(), label
        assert g["params_type"] == r.stored_param_type(), label
        assert g["params"] == _plain_keys(r.parameters), label
        assert g["outputs"] == sorted(f.path for f in r.outputs), label
        assert g["inputs"] == sorted(f.path for f in r.inputs), label
        assert (g["reason"], g["duration"], g["main_file"], g["user"]) == (
            r.reason, r.duration, r.main_file, r.user), label
        assert g["dependencies"] == ["numpy"] and g["platforms"] == ["127.0.1.1"]
        assert g["launch_mode"] == "SerialLaunchMode"
        assert g["datastore_root"] == r.datastore.root
    assert by_label["yaml-bool"]["params"] == {"True": True}  # PyYAML's key True
    assert by_label["20140110-120000"]["tags"] == ["hand", "picked"]


# ------------------------------------------------------------------ smtql on each generation

# Each store's statements run in one child process (the CLI's main, in turn).

NEWEST_FIRST = ["smttask-nt", "smttask-json", "yaml-bool", "params-top", "20140110-120000",
                "20130503-091500", "20130502-143312"]


def _check_find(out):
    assert out.split() == NEWEST_FIRST


def _check_count(out):
    assert json.loads(out) == {"count": 2}


def _check_describe(out):
    d = json.loads(out)
    assert d["label"] == "smttask-nt" and d["tags"] == ["batch 2", "smttask"]


def _check_diff(out):
    assert json.loads(out)["records"] == ["smttask-nt", "20130502-143312"]


def _labels(*want):
    return lambda out: out.split() == list(want)


def _check_keys(out):
    keys = {k["key"]: k["records"] for k in json.loads(out)}
    assert keys["dt"] == 3 and keys["model.name"] == 3 and keys["data.seed"] == 1


def _check_export(out):
    assert [r["label"] for r in json.loads(out)] == NEWEST_FIRST


def _check_explain(out):
    assert "SELECT COUNT(*)" in out and "taggeditem" in out


def _check_outputs_column(out):
    assert json.loads(out) == [{"label": "20130503-091500", "outputs": 2},
                               {"label": "20130502-143312", "outputs": 1}]


LABELS, JSON = ["--format", "labels"], ["--format", "json"]
STATEMENTS = {
    "find all": (LABELS, _check_find),
    'count tag "batch 2"': (JSON, _check_count),
    "describe latest": (JSON, _check_describe),
    "diff latest, earliest": (JSON, _check_diff),
    "keys all": (JSON, _check_keys),
    "export all": (JSON, _check_export),
    "explain count tag smttask": ([], _check_explain),
    'tag "needs review"': (LABELS, _labels("20130503-091500")),
    'tags = ["smttask", "batch 2"]': (LABELS, _labels("smttask-nt")),
    'tag like "ha*"': (LABELS, _labels("20140110-120000")),
    'outputpath contains "vm"': (LABELS, _labels("20130503-091500")),
    "outputs > 0 show label, outputs": (JSON, _check_outputs_column),
    "not tag smttask and model.name = 'lif'": (LABELS, _labels("20130503-091500",
                                                               "20130502-143312")),
    "status finished": (LABELS, _labels()),
}

_smtql_results: dict = {}


def smtql_results(generation, backend, tmp_path_factory) -> dict:
    key = (generation, backend)
    if key not in _smtql_results:
        s = store(generation, backend, tmp_path_factory)
        argvs = [["--store", s.uri, *opts, program] for program, (opts, _) in STATEMENTS.items()]
        proc = subprocess.run([sys.executable, "-c", CLI_RUNS, json.dumps(argvs)],
                              env=store_support.child_env(), capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        _smtql_results[key] = dict(zip(STATEMENTS, json.loads(proc.stdout)))
    return _smtql_results[key]


def _smtql_params():
    for g in GENERATIONS:
        for b in BACKENDS:
            for program in STATEMENTS:
                yield pytest.param(g, b, program, id=f"{g}-{b}-{program}")


@pytest.mark.parametrize("generation, backend, program", list(_smtql_params()))
def test_smtql_reads(generation, backend, program, tmp_path_factory):
    res = smtql_results(generation, backend, tmp_path_factory)[program]
    assert res["rc"] == 0, f"exit {res['rc']}: {res['err'].strip()}"
    STATEMENTS[program][1](res["out"])
