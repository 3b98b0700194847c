"""Writes interrupted at any point leave the store exactly as it was or
exactly as intended, never in between, and the next write or undo says
which (the journal's settling note, journal.py).

- SQLite: an exception inside the transaction, the writer SIGKILLed inside
  it, the database locked by another writer.
- PostgreSQL and MariaDB: the server dropping the writer's connection inside
  the open transaction (`pg_terminate_backend`, `KILL CONNECTION`), and the
  writer SIGKILLed inside it.
- Shelve: the writer SIGKILLed before the renames and between them.
- Concurrency: real `smt run`s saving records into an SQLite store while a
  tag statement holds its write transaction open.

The writer is `python -m smtql` in a subprocess held inside its
transaction by SMTQL_FAULT=sleep:N (stores/django_writes.fault_point); the
store is read afterwards with Sumatra's own API in another subprocess (one
Django store per process, DESIGN.md). Server tests use databases of their
own (smtql_faults), skip when the server is absent and fail instead when
SMTQL_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import child_env
from statements.test_writes import SHIM, build_command, server_missing, skip_or_fail, sumatra_view

FAULT_DB = "smtql_faults"
URIS = {"postgres": f"postgres://root@127.0.0.1/{FAULT_DB}",
        "mysql": f"mysql://root@127.0.0.1/{FAULT_DB}"}
PROJECT = f"f{os.getpid()}"
CONCURRENT_RECORDS = 60


# ------------------------------------------------------------------ stores

class admin:
    """An autocommit cursor on the server, as the test's own administrator
    connection (never one of the writer's)."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self):
        if self.kind == "postgres":
            import psycopg
            self.conn = psycopg.connect("postgresql://root@127.0.0.1/postgres", autocommit=True)
        else:
            import pymysql
            self.conn = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
        return self.conn.cursor()

    def __exit__(self, *exc):
        self.conn.close()


@pytest.fixture(scope="module")
def journal_dir(tmp_path_factory):
    """Journals of this module's server stores in a directory of its own."""
    path = tmp_path_factory.mktemp("journals")
    old = os.environ.get("SMTQL_JOURNAL_DIR")
    os.environ["SMTQL_JOURNAL_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SMTQL_JOURNAL_DIR", None)
    else:
        os.environ["SMTQL_JOURNAL_DIR"] = old


@pytest.fixture(scope="module")
def stores(tmp_path_factory, journal_dir):
    """{name: project dir or a skip reason}, built side by side: small stores
    (14 records, no runs) on SQLite, shelve, PostgreSQL and MariaDB, and the
    concurrency project (60 records and two real `smt run`s)."""
    root = tmp_path_factory.mktemp("faults")
    out, procs = {}, {}
    for name in ("sqlite", "shelve", "postgres", "mysql", "concurrent"):
        directory = root / name
        if name == "concurrent":
            cmd = [sys.executable, "-m", "smtql.demo", "build", str(directory), "--records",
                   str(CONCURRENT_RECORDS), "--seed", "3", "--quiet"]
        else:
            if name in URIS:
                why = server_missing(name, FAULT_DB)
                if why:
                    out[name] = why
                    continue
            cmd = build_command(directory, name)
            if name in URIS:
                cmd[cmd.index("--store") + 1] = URIS[name]
                cmd[cmd.index("--project") + 1] = f"{PROJECT}{name}"
        procs[name] = (directory, subprocess.Popen(cmd, env=child_env(), stdout=subprocess.PIPE,
                                                   stderr=subprocess.PIPE, text=True))
    for name, (directory, proc) in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"building {name} failed:\n{err}"
        out[name] = directory
    yield out
    for name in URIS:
        if isinstance(out.get(name), Path):
            subprocess.run([sys.executable, "-m", "smtql.demo", "clear", "--store", URIS[name],
                            "--project", f"{PROJECT}{name}"], env=child_env(),
                           capture_output=True, timeout=120)


BEFORE: dict = {}  # store -> Sumatra's view before the tests (each test puts it back)


def view_before(project: Path) -> dict:
    if project not in BEFORE:
        BEFORE[project] = sumatra_view(project)
    return BEFORE[project]


def store_of(stores, name) -> Path:
    found = stores[name]
    if not isinstance(found, Path):
        skip_or_fail(found)
    return found


# ------------------------------------------------------------------ helpers

def writer(project, program, *args, **env):
    e = child_env()
    e.update(env)
    return subprocess.Popen([sys.executable, "-m", "smtql", "-C", str(project), "--yes",
                             *args, program],
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finished(proc, timeout=60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    return proc.returncode, out, err


def wait_for_fault(proc) -> None:
    """Until the writer reports it is held at its fault point."""
    line = proc.stderr.readline()
    assert "fault hook: sleeping" in line, line + proc.stderr.read()


def with_tag(view: dict, tag: str) -> dict:
    return {label: tags | {tag} for label, tags in view["tags"].items()}


def check_whole(view: dict, before: dict, tag: str) -> bool:
    """The store is exactly as before (False) or exactly as intended (True):
    every record, as Sumatra reads it; the tags column (Django) agrees."""
    intended = with_tag(before, tag)
    assert view["tags"] in (before["tags"], intended), \
        "the store is neither as before nor as intended"
    for label, tags in view["tags"].items():
        if view["columns"]:
            assert set(filter(None, view["columns"][label].split(","))) == tags, label
    return view["tags"] == intended and intended != before["tags"]


def settle_with_undo(project) -> tuple[str, str]:
    """The next smtql write on the store (an undo), and its settling note."""
    code, out, err = finished(writer(project, "undo"))
    assert code == 0, err
    return out, err


def journal_states(project) -> dict:
    import smtql
    from smtql.statements.writes import store_journal
    with smtql.connect(project) as conn:
        journal = store_journal(conn.store)
        return {e["statement"]: e["state"] for e in journal.entries(conn.store.project)}


# ------------------------------------------------------------------ SQLite

def test_exception_killed_and_locked_writes_change_nothing(stores):
    store = store_of(stores, "sqlite")
    before = sumatra_view(store)
    # an exception inside the transaction, after the first changes
    proc = writer(store, "tag f1 where all", SMTQL_FAULT="raise")
    code, out, err = finished(proc)
    assert code == 3 and "rolled back: nothing changed" in err, err
    # killed inside the open transaction
    proc = writer(store, "tag f2 where all", SMTQL_FAULT="sleep:60")
    wait_for_fault(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # the database locked by another writer: waits the busy timeout, then fails cleanly
    db = store / ".smt" / "records"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        proc = writer(store, "tag f3 where all", SMTQL_BUSY_TIMEOUT="1")
        code, out, err = finished(proc)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 3 and "locked" in err and "nothing changed" in err, err
    assert sumatra_view(store) == before
    # the next write settles the killed one: it was not applied, and is not undoable
    code, _, err = finished(writer(store, "tag f4 where all"))
    assert code == 0, err
    assert "interrupted" in err and "not applied" in err, err
    import smtql
    with smtql.connect(store) as conn:
        conn.run("undo")
        assert "nothing to undo" in conn.query("undo").text
    assert sumatra_view(store) == before


# ------------------------------------------------------------------ servers

def local_ports(pid: int) -> set:
    """The local TCP ports of a process's sockets (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def backend_of_writer(kind: str, pid: int):
    """The server-side id of the writer's connection, found by its client
    port among the sessions of the fault database inside a transaction."""
    ports = local_ports(pid) if Path("/proc/self/net/tcp").exists() else None
    with admin(kind) as cur:
        if kind == "postgres":
            cur.execute("SELECT pid, client_port FROM pg_stat_activity WHERE datname = %s AND "
                        "state LIKE 'idle in transaction%%'", (FAULT_DB,))
            found = [(i, port) for i, port in cur.fetchall()]
        else:
            cur.execute("SELECT p.id, p.host FROM information_schema.processlist p JOIN "
                        "information_schema.innodb_trx t ON t.trx_mysql_thread_id = p.id "
                        "WHERE p.db = %s", (FAULT_DB,))
            found = [(i, int(host.rsplit(":", 1)[1])) for i, host in cur.fetchall()
                     if ":" in host]
    ids = [i for i, port in found if ports is None or port in ports]
    assert len(ids) == 1, f"the writer's session (ports {ports}) among {found}"
    return ids[0]


def drop_connection(kind: str, backend_id) -> None:
    with admin(kind) as cur:
        if kind == "postgres":
            cur.execute("SELECT pg_terminate_backend(%s)", (backend_id,))
            assert cur.fetchone()[0] is True
        else:
            cur.execute(f"KILL CONNECTION {int(backend_id)}")


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_server_drops_connection_or_writer_killed_mid_write(stores, kind):
    project = store_of(stores, kind)
    before = sumatra_view(project)

    # 1. The server drops the writer's connection inside the open transaction:
    # the server rolls it back, the writer says so and journals the abort.
    proc = writer(project, "tag fdrop where all", SMTQL_FAULT="sleep:1.5")
    wait_for_fault(proc)
    drop_connection(kind, backend_of_writer(kind, proc.pid))
    code, out, err = finished(proc)
    assert code == 3 and "rolled back: nothing changed" in err, err
    view = sumatra_view(project)
    assert check_whole(view, before, "fdrop") is False
    assert view == before

    # 2. The writer SIGKILLed inside the open transaction: no outcome in the
    # journal; the server rolls back; the next write settles it and says so.
    proc = writer(project, "tag fkill where all", SMTQL_FAULT="sleep:60")
    wait_for_fault(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert journal_states(project) == {"tag fdrop where all": "aborted",
                                       "tag fkill where all": "pending"}
    view = sumatra_view(project)
    assert check_whole(view, before, "fkill") is False
    out, err = settle_with_undo(project)
    assert "interrupted" in err and "not applied; nothing had changed" in err, err
    assert "nothing to undo" in out  # neither the dropped nor the killed write is undoable
    assert journal_states(project) == {"tag fdrop where all": "aborted",
                                       "tag fkill where all": "aborted"}
    assert sumatra_view(project) == before


# ------------------------------------------------------------------ shelve

@pytest.mark.parametrize("place", ["transaction", "rename"])
def test_shelve_writer_killed(stores, place):
    """Killed after the new copy is written (before the renames), or between
    renaming the new data file and the new index over the old ones."""
    project = store_of(stores, "shelve")
    before = view_before(project)
    tag = f"fk-{place}"
    fault = "sleep:60" if place == "transaction" else "sleep:60@rename"
    proc = writer(project, f"tag {tag} where all", SMTQL_FAULT=fault)
    wait_for_fault(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert journal_states(project)[f"tag {tag} where all"] == "pending"
    view = sumatra_view(project)
    applied = check_whole(view, before, tag)
    out, err = settle_with_undo(project)
    assert "interrupted" in err, err
    if applied:
        assert "applied in full" in err, err
        assert "undid" in out  # the settled write is the one undone
    else:
        assert "not applied; nothing had changed" in err, err
        assert "nothing to undo" in out
    assert journal_states(project)[f"tag {tag} where all"] == \
        ("committed" if applied else "aborted")
    assert sumatra_view(project) == before


# ------------------------------------------------------------------ concurrency

RECORDS_VIEW = SHIM + textwrap.dedent("""\
    import json, sys
    from sumatra.projects import load_project
    project = load_project(sys.argv[1])
    rs = project.record_store
    out = {}
    for label in rs.labels(project.name):
        r = rs.get(project.name, label)
        out[label] = {
            "tags": sorted(r.tags), "reason": r.reason, "outcome": r.outcome,
            "main_file": r.main_file, "version": r.version, "duration": r.duration,
            "timestamp": r.timestamp.isoformat(), "user": r.user,
            "parameters": r.parameters.as_dict() if r.parameters is not None else None,
            "script_arguments": r.script_arguments, "stdout_stderr": r.stdout_stderr,
            "output_data": sorted([k.path, k.digest] for k in r.output_data),
            "input_data": sorted([k.path, k.digest] for k in r.input_data),
            "executable": [r.executable.path, r.executable.version],
            "repository": r.repository.url, "launch_mode": str(r.launch_mode),
        }
    json.dump(out, sys.stdout, default=str)
""")


def records_view(project: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", RECORDS_VIEW, str(project)], env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def smt_run(project: Path, label: str) -> subprocess.Popen:
    from smtql.demo.build import _SMT_BOOT
    return subprocess.Popen([sys.executable, "-c", _SMT_BOOT, "run", "-l", label, "-r",
                             "run while smtql writes", "-t", "concurrent", "default.param"],
                            cwd=project, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_smt_run_while_tag_holds_the_write_lock(stores):
    project = store_of(stores, "concurrent")
    before = records_view(project)
    assert len(before) == CONCURRENT_RECORDS + 2  # the demo's two real runs
    old = sorted(before)
    # the first run starts just before the write, the second while it is held
    runs = {"conc-run-1": smt_run(project, "conc-run-1")}
    proc = writer(project, f"tag during-run where label in {json.dumps(old)}",
                  SMTQL_FAULT="sleep:3")
    wait_for_fault(proc)
    runs["conc-run-2"] = smt_run(project, "conc-run-2")
    code, out, err = finished(proc)
    assert code == 0, err
    assert f"tagged {len(old)} records" in out, out
    for label, run in runs.items():
        run_out, run_err = run.communicate(timeout=120)
        assert run.returncode == 0 and "Traceback" not in run_err, (label, run_out, run_err)
        assert f"Record label for this run: '{label}'" in run_out, run_out

    after = records_view(project)
    assert set(after) == set(before) | set(runs)
    for label, rec in before.items():  # the tag change exactly, nothing else
        assert after[label] == dict(rec, tags=sorted(set(rec["tags"]) | {"during-run"})), label
    for label in runs:  # the new records are whole, and not tagged by the write
        rec = after[label]
        assert rec["tags"] == ["_finished_", "concurrent"], rec["tags"]
        assert rec["reason"] == "run while smtql writes" and rec["main_file"] == "main.py"
        assert rec["parameters"]["optimizer"]["model"]["kind"] == "gru"
        assert rec["parameters"]["n_epochs"] == 25
        assert "epoch 25/25" in rec["stdout_stderr"]
        assert (project / "out" / label / "summary.json").is_file()
        # which files Sumatra attributes to which run is its own affair when
        # runs overlap (it finds "new" files by time stamp: FileSystemDataStore
        # says concurrent runs should each use their own data store); every
        # key it recorded is one of these runs' files, intact on disk
        for path, digest in rec["output_data"]:
            assert any(part in path for part in runs), (label, path)
            if path.startswith("out/"):  # (Sumatra deletes its copy LABEL.params)
                assert hashlib.sha1((project / path).read_bytes()).hexdigest() == digest, path
    # smtql reads the same; its undo removes exactly its own change
    code, out, err = finished(writer(project, "undo"))
    assert code == 0 and "interrupted" not in err, err
    final = records_view(project)
    assert {k: v for k, v in final.items() if k not in runs} == before
    assert {k: final[k] for k in runs} == {k: after[k] for k in runs}
