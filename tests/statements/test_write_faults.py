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
- A hot SQLite journal (a writer SIGKILLed after its cache spilled): smtql
  rolls it back on opening, or, on a read-only file system, says what to run.
- The undo journal: the writer SIGKILLed halfway through writing each kind
  of entry, and each kind of entry meeting a full disk (a real small tmpfs).

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
import shutil
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


# ------------------------------------------------------------------ bare SQLite copies

@pytest.fixture
def bare(stores, tmp_path, monkeypatch):
    """A copy of the SQLite fault store, opened with --store, its journal
    beside it; and no fault hook in this process."""
    monkeypatch.delenv("SMTQL_JOURNAL_DIR", raising=False)
    monkeypatch.delenv("SMTQL_FAULT", raising=False)
    path = tmp_path / "records"
    shutil.copyfile(store_of(stores, "sqlite") / ".smt" / "records", path)
    return path


def on_bare(store, program, *args, **env):
    """smtql on the bare store, in a subprocess (one to kill, or to see its
    exit status and messages)."""
    e = child_env()
    e.pop("SMTQL_JOURNAL_DIR", None)
    e.update(env)
    return subprocess.Popen([sys.executable, "-m", "smtql", "--store", str(store), "--yes",
                             *args, program],
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_bare(store, program, *args, **env) -> tuple[int, str, str]:
    return finished(on_bare(store, program, *args, **env))


def query(store, program):
    """The result of `program` on the store, in this process (quicker than
    a subprocess, for the steps after a fault)."""
    import smtql
    with smtql.connect(store=str(store)) as conn:
        return conn.query(program)


def bare_view(store) -> dict:
    """{label: (tags column, tag names from the tag tables)}."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT r.label, r.tags, (SELECT group_concat(name) FROM (SELECT t.name FROM "
            "django_store_taggeditem i JOIN django_store_tag t ON t.id = i.tag_id "
            "WHERE i.object_id = r.db_id ORDER BY t.name)) FROM django_store_record r").fetchall()
    finally:
        db.close()
    return {label: (column, names) for label, column, names in rows}


def has_tag(view: dict, tag: str) -> set:
    """Whether each record has `tag` in the tag tables (a set: all agree)."""
    return {tag in (names or "").split(",") for _, names in view.values()}


# ------------------------------------------------------------------ hot SQLite journal

HOT_WRITER = textwrap.dedent("""\
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA cache_size = 1")  # the cache spills: the journal is synced, hot
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE django_store_record SET tags = tags || ',hot'")
    db.execute("UPDATE django_store_taggeditem SET tag_id = tag_id")
    db.execute("UPDATE django_store_parameterset SET content = content")
    print("held", flush=True)
    time.sleep(60)
""")
ROLLED_BACK = "made SQLite roll that write back: the store is as it was before it"


def leave_hot_journal(store: Path) -> None:
    """A real SQLite writer (as `smt run` or smtql is) SIGKILLed inside its
    transaction after writing pages to the store file."""
    proc = subprocess.Popen([sys.executable, "-c", HOT_WRITER, str(store)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    journal = Path(str(store) + "-journal")
    assert journal.read_bytes()[:8] == bytes.fromhex("d9d505f920a163d7")  # a live header


def test_hot_journal_is_rolled_back_on_opening(bare):
    before = bare_view(bare)
    leave_hot_journal(bare)
    code, out, err = run_bare(bare, "count all")
    assert code == 0 and out.strip() == str(len(before)), err
    assert "interrupted write" in err and ROLLED_BACK in err, err
    assert not Path(str(bare) + "-journal").exists()
    assert bare_view(bare) == before
    leave_hot_journal(bare)  # and `undo`, the command a user reaches for first
    code, out, err = run_bare(bare, "undo")
    assert code == 0 and "nothing to undo" in out and ROLLED_BACK in err, (out, err)
    assert bare_view(bare) == before


@pytest.fixture
def tmpfs(tmp_path):
    """mount(size): a real tmpfs of that size (skips where mounting is not
    allowed), unmounted afterwards."""
    mounted = []

    def mount(size: str) -> Path:
        point = tmp_path / f"tmpfs-{size}"
        point.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=True)


def test_hot_journal_on_a_read_only_file_system_says_what_to_run(bare, tmpfs):
    from smtql.errors import StoreError
    leave_hot_journal(bare)
    directory = tmpfs("1m")
    for name in ("records", "records-journal"):
        shutil.copyfile(bare.parent / name, directory / name)
    subprocess.run(["mount", "-o", "remount,ro", str(directory)], check=True)
    store = directory / "records"
    code, out, err = run_bare(store, "undo")
    assert code == 3, (out, err)
    assert "not a Sumatra record store" not in err, err
    assert "interrupted write" in err and f"sqlite3 {store} 'PRAGMA quick_check'" in err, err
    with pytest.raises(StoreError, match="PRAGMA quick_check"):
        query(store, "count all")
    subprocess.run(["mount", "-o", "remount,rw", str(directory)], check=True)
    result = query(store, "count all")  # as the user told to run it would
    assert any(ROLLED_BACK in note for note in result.notes), result.notes


# ------------------------------------------------------------------ the undo journal

def journal_of(store: Path) -> Path:
    from smtql.statements.journal import SUFFIX
    return Path(str(store) + SUFFIX)


def undo_all(store, statements) -> None:
    """`undo` reverts these writes, in this order, then finds nothing."""
    for statement in statements:
        text = query(store, "undo").text
        assert f"undid `{statement}" in text, (statement, text)
    assert "nothing to undo" in query(store, "undo").text


@pytest.mark.parametrize("kind", ["begin", "commit", "abort"])
def test_writer_killed_while_writing_a_journal_entry(bare, kind):
    """Half the entry is in the journal when the writer dies. The next write
    reports the torn tail and is not glued onto it (the issue: `undo` then
    found nothing, or reverted the write before); undo reverts each write."""
    before = bare_view(bare)
    query(bare, "tag k0 where all")  # an earlier write, undoable
    fault = {"begin": "sleep:60@journal-begin", "commit": "sleep:60@journal-commit",
             "abort": "raise;sleep:60@journal-abort"}[kind]
    proc = on_bare(bare, "tag k1 where all", SMTQL_FAULT=fault)
    wait_for_fault(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not journal_of(bare).read_bytes().endswith(b"\n")  # a torn tail
    applied = kind == "commit"  # killed after COMMIT: the store has the write
    assert has_tag(bare_view(bare), "k1") == {applied}
    notes = " ".join(query(bare, "tag k2 where all").notes)
    assert "cut short" in notes, notes
    if kind != "begin":  # the begin is whole: its outcome is settled from the store
        assert ("applied in full" if applied else "not applied") in notes, notes
    undo_all(bare, ["tag k2", "tag k1", "tag k0"] if applied else ["tag k2", "tag k0"])
    assert bare_view(bare) == before


def fill(directory: Path) -> Path:
    """Fill the file system until it has no free byte left."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (4096, 1024, 256, 64, 16, 4, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError:
                continue
    return filler


def leave_slack(journal: Path, slack: int) -> None:
    """Blank lines (a reader skips them) until the journal's last block has
    `slack` bytes free: on the full disk, that much of the next entry fits."""
    block = os.statvfs(journal.parent).f_bsize
    with open(journal, "ab") as fh:
        fh.write(b"\n" * ((block - slack - journal.stat().st_size) % block))
    assert -journal.stat().st_size % block == slack


@pytest.mark.parametrize("kind", ["begin", "commit", "abort"])
def test_disk_full_while_writing_a_journal_entry(bare, tmpfs, monkeypatch, kind):
    """The journal on a real 64 KiB tmpfs that fills up: a `begin` that does
    not fit fails the write before the store changes and leaves no part of
    itself behind; a `commit` that does not fit leaves the write made and
    said so; an `abort`, the write rolled back. Each is settled next time."""
    from smtql.errors import StoreError
    from smtql.statements.journal import SUFFIX
    directory = tmpfs("64k")
    monkeypatch.setenv("SMTQL_JOURNAL_DIR", str(directory))
    before = bare_view(bare)
    query(bare, "tag d0 where all")
    (journal,) = directory.glob("*" + SUFFIX)
    if kind == "begin":
        leave_slack(journal, 100)  # a begin is longer: the disk takes a part of it
        whole = journal.read_bytes()
        filler = fill(directory)
        with pytest.raises(StoreError, match="No space left on device; nothing changed"):
            query(bare, "tag d1 where all")
        assert journal.read_bytes() == whole  # cut back: no part of the entry is left
    else:
        fault = "sleep:1" if kind == "commit" else "sleep:1;raise"
        proc = on_bare(bare, "tag d1 where all", SMTQL_FAULT=fault,
                       SMTQL_JOURNAL_DIR=str(directory))
        wait_for_fault(proc)  # the begin is in the journal; the store is being written
        leave_slack(journal, 0)
        filler = fill(directory)
        code, out, err = finished(proc)
        if kind == "commit":
            assert code == 0 and "tagged 14 records" in out, err
            assert "could not record" in err and "No space left on device" in err, err
        else:
            assert code == 3 and "rolled back: nothing changed" in err, err
    assert journal.read_bytes().endswith(b"\n")
    applied = kind == "commit"
    assert has_tag(bare_view(bare), "d1") == {applied}
    with pytest.raises(StoreError, match="No space left on device; nothing changed"):
        query(bare, "undo")  # still full: refused before anything changes
    filler.unlink()
    result = query(bare, "undo")
    assert f"undid `tag {'d1' if applied else 'd0'}" in result.text, result.text
    if kind != "begin":
        notes = " ".join(result.notes)
        assert ("applied in full" if applied else "not applied") in notes, notes
    undo_all(bare, ["tag d0"] if applied else [])
    assert bare_view(bare) == before


# ------------------------------------------------------------------ shelve copies

def test_copies_of_killed_shelve_writers_are_removed_by_the_next_write(stores):
    import smtql
    from smtql.stores.registry import locate
    project = store_of(stores, "shelve")
    before = view_before(project)
    shelf = Path(locate(project).uri)
    live = shelf.parent / f".{shelf.name}.smtql-1.dat"  # a live PID (init): left alone
    live.write_bytes(b"in use")
    proc = writer(project, "tag fk-copies where all", SMTQL_FAULT="sleep:60")
    wait_for_fault(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    stale = [p for p in shelf.parent.iterdir()
             if p.name.startswith(f".{shelf.name}.smtql-{proc.pid}")]
    assert stale and all(p.stat().st_size > 0 for p in stale)
    with smtql.connect(project) as conn:
        assert "not applied" in " ".join(conn.query("tag fk-next where all").notes)
        assert not any(p.exists() for p in stale)
        assert live.read_bytes() == b"in use"
        assert "undid `tag fk-next" in conn.query("undo").text
    live.unlink()
    assert sumatra_view(project) == before
