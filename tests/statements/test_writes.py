"""`tag`, `untag` and `undo` on every backend (SQLite, PostgreSQL, MariaDB,
shelve), checked with Sumatra's own API in a subprocess (one Django store
per process): `RecordStore.get(...).tags`, `RecordStore.list(tags=[…])`,
`smt list TAG` and the `tags` column all show exactly the change.

Each backend gets a small store of its own, built with `python -m
smtql.demo build` in a subprocess (the builds run side by side). Server
backends skip when the server is absent and fail instead when
SMTQL_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import child_env

RECORDS = 14
PROJECT = f"w{os.getpid()}"
SERVERS = {
    "postgres": (5432, "psycopg", "PostgreSQL", "postgres://root@127.0.0.1/smtql_writes"),
    "mysql": (3306, "pymysql", "MariaDB", "mysql://root@127.0.0.1/smtql_writes"),
}
BACKENDS = ("sqlite", "shelve", "postgres", "mysql")


# ------------------------------------------------------------------ building stores

def server_missing(kind: str, database: str = "smtql_writes") -> str | None:
    """Why the server cannot be used (None when it can); makes `database`,
    a database of the tests' own, so other tests' stores are not touched."""
    port, driver, what, _ = SERVERS[kind]
    try:
        __import__(driver)
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    except (OSError, ImportError) as err:
        return f"{what} not available on 127.0.0.1:{port}: {err}"
    try:
        if kind == "postgres":
            import psycopg
            with psycopg.connect("postgresql://root@127.0.0.1/postgres", autocommit=True) as c:
                if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                 (database,)).fetchone():
                    c.execute(f'CREATE DATABASE "{database}"')
        else:
            import pymysql
            c = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
            c.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")
            c.close()
    except Exception as err:  # noqa: BLE001
        return f"{what}: cannot create the database {database}: {err}"
    return None


def skip_or_fail(message: str):
    if os.environ.get("SMTQL_REQUIRE_SERVERS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def build_command(directory: Path, backend: str, records: int = RECORDS, seed: int = 5) -> list:
    cmd = [sys.executable, "-m", "smtql.demo", "build", str(directory), "--records", str(records),
           "--seed", str(seed), "--no-runs", "--quiet"]
    if backend == "shelve":
        cmd += ["--store", str(directory.parent / (directory.name + "-records.shelf"))]
    elif backend in SERVERS:
        cmd += ["--store", SERVERS[backend][3], "--project", f"{PROJECT}{directory.name}"]
    return cmd


def build_stores(root: Path, names_backends: list[tuple[str, str]], records: int = RECORDS) -> dict:
    """{name: project dir or skip reason}, built side by side."""
    out, procs = {}, {}
    for name, backend in names_backends:
        if backend in SERVERS:
            why = server_missing(backend)
            if why:
                out[name] = why
                continue
        directory = root / name
        procs[name] = (directory, subprocess.Popen(build_command(directory, backend, records),
                                                   env=child_env(), stdout=subprocess.PIPE,
                                                   stderr=subprocess.PIPE, text=True))
    for name, (directory, proc) in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"building {name} failed:\n{err}"
        out[name] = directory
    return out


def clear_server_stores(built: dict) -> None:
    for name, directory in built.items():
        if not isinstance(directory, Path):
            continue
        info = json.loads((directory / ".smt" / "project").read_text())
        uri = info["record_store"].get("db_file") or ""
        if "://" in uri:
            subprocess.run([sys.executable, "-m", "smtql.demo", "clear", "--store", uri,
                            "--project", info["name"]], env=child_env(), capture_output=True,
                           timeout=120)


# ------------------------------------------------------------------ running smtql and Sumatra

def smtql(project: Path, *args, env=None, check=True, input=None) -> subprocess.CompletedProcess:
    e = child_env()
    e.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "smtql", "-C", str(project), *args],
                          env=e, capture_output=True, text=True, timeout=120, input=input)
    if check:
        assert proc.returncode == 0, (args, proc.returncode, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
    return proc


SHIM = textwrap.dedent("""\
    try:
        import MySQLdb
    except ImportError:  # Django's MySQL backend on PyMySQL (DESIGN.md)
        import pymysql
        if getattr(pymysql, "version_info", (0,)) < (2, 2, 1):
            pymysql.version_info = (2, 2, 1, "final", 0)
        pymysql.install_as_MySQLdb()
""")

SUMATRA_VIEW = SHIM + textwrap.dedent("""\
    import json, sys
    from sumatra.projects import load_project
    project = load_project(sys.argv[1])
    rs = project.record_store
    out = {"tags": {}, "columns": {}, "list": {}}
    for label in rs.labels(project.name):
        out["tags"][label] = sorted(rs.get(project.name, label).tags)
    for tag in sys.argv[2:]:
        out["list"][tag] = sorted(r.label for r in rs.list(project.name, tags=[tag]))
    if hasattr(rs, "_manager"):
        for r in rs._manager.filter(project__id=project.name):
            out["columns"][r.label] = r.__dict__["tags"]
    json.dump(out, sys.stdout)
""")


def sumatra_view(project: Path, *tags) -> dict:
    """What Sumatra reads: every record's tags (RecordStore.get), the
    labels `RecordStore.list(tags=[TAG])` gives, and the raw tags column."""
    proc = subprocess.run([sys.executable, "-c", SUMATRA_VIEW, str(project), *tags],
                          env=child_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    out["tags"] = {k: set(v) for k, v in out["tags"].items()}
    return out


def smt_list(project: Path, tag: str) -> set:
    """`smt list TAG` (sumatra.commands.list, as the `smt` script runs it)."""
    code = SHIM + "import sys\nfrom sumatra.commands import list as smt_list\nsmt_list(sys.argv[1:])\n"
    proc = subprocess.run([sys.executable, "-c", code, tag], cwd=project, env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def labels_of(project: Path, program: str) -> list:
    return run(project, program).labels


def run(project: Path, program: str, **kw):
    """In this process: smtql's SQL engine and shelve reader open no Django store."""
    import smtql as _smtql
    with _smtql.connect(project) as conn:
        return conn.query(program, **kw)


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("writes")
    built = build_stores(root, [(b, b) for b in BACKENDS])
    yield built
    clear_server_stores(built)


@pytest.fixture(params=BACKENDS)
def project(request, stores) -> Path:
    found = stores[request.param]
    if not isinstance(found, Path):
        skip_or_fail(found)
    return found


# ------------------------------------------------------------------ tests

def test_tag_untag_undo_agree_with_sumatra(project):
    before = sumatra_view(project)
    chosen = labels_of(project, "tag finished latest 4")
    assert len(chosen) == 4
    one_has_it = chosen[0]
    # one record has w-one already: adding it again changes nothing and is not counted
    run(project, f'tag w-one where label = "{one_has_it}"')
    data = run(project, f"tag w-one, w-two where label in {json.dumps(chosen)}").data
    assert data["changed"] == 4 and data["matched"] == 4
    assert data["inverse"].count("untag") == 2  # one record lacked only w-two
    view = sumatra_view(project, "w-one", "w-two")
    for label, tags in before["tags"].items():
        expected = tags | ({"w-one", "w-two"} if label in chosen else set())
        assert view["tags"][label] == expected, label
    assert set(view["list"]["w-one"]) == set(chosen) == set(view["list"]["w-two"])
    if view["columns"]:  # Django: the column in Sumatra's format, the same set
        for label, tags in view["tags"].items():
            assert set(filter(None, view["columns"][label].split(","))) == tags
    assert smt_list(project, "w-two") == set(chosen)

    # the same statement again changes nothing
    again = run(project, f"tag w-one, w-two where label in {json.dumps(chosen)}")
    assert again.text.startswith("0 records changed")
    # untag what one record lacks: not counted
    assert run(project, "untag w-two where all").data["changed"] == 4
    # undo: the untag, then the tag, then the first tag, then nothing
    run(project, "undo")
    assert set(sumatra_view(project, "w-two")["list"]["w-two"]) == set(chosen)
    run(project, "undo")
    smtql(project, "undo", "--yes")  # the command, too
    after = sumatra_view(project)
    assert after["tags"] == before["tags"]
    assert after["columns"] == before["columns"]  # the column exactly as it was
    assert "nothing to undo" in run(project, "undo").text


def test_refusals_change_nothing(project):
    before = sumatra_view(project)
    label = labels_of(project, "all latest 1")[0]
    from smtql.errors import QueryError
    with pytest.raises(QueryError, match="nothing changed"):
        run(project, "untag _finished_ where all")  # the other refusals: test_executor
    # the tags column (255 characters) would overflow for this record
    long_tags = ", ".join(f"{c * 45}" for c in "abcdef")
    if "Shelve" not in (project / ".smt" / "project").read_text():
        with pytest.raises(QueryError) as info:
            run(project, f'tag {long_tags} where label = "{label}"')
        assert label in info.value.message and "255" in info.value.message
    # not a terminal and no --yes: exit 2, nothing changed; --dry-run writes nothing
    if "sqlite" in str(project.name):
        proc = smtql(project, "tag w-three where all", check=False)
        assert proc.returncode == 2 and "--yes" in proc.stderr
        assert "dry run" in smtql(project, "--dry-run", "tag w-three where all").stdout
    assert "dry run" in run(project, "tag w-three where all", dry_run=True).text
    assert "no record matches" in run(project, 'tag w-three where label = "nope"').text
    assert sumatra_view(project) == before
