"""Errors that tell the truth about an SQLite store's files (issue 16,
item 11): a store another process holds with `BEGIN EXCLUSIVE` is waited
for SMTQL_BUSY_TIMEOUT seconds and then reported as locked (exit 3, what
to do), never as "not a Sumatra record store"; and reading a store in WAL
mode leaves no `-wal`/`-shm` files that were not there before."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support.generations import build_store, quirky_records
from support.scripts import CLI_RUNS
from support.store_support import child_env

READS = ["count all", "find all", "describe latest", "diff latest, earliest", "export all",
         "keys all", "explain find tag smttask", "undo"]

HOLDER = textwrap.dedent("""\
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    print("held", flush=True)
    time.sleep(60)
""")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_store("0.8.1", "sqlite", quirky_records(),
                       target=tmp_path_factory.mktemp("locked") / "store").path


def cli(argvs, **env) -> list[dict]:
    """The command line's main on each argv, in one child process."""
    proc = subprocess.run([sys.executable, "-c", CLI_RUNS, json.dumps(argvs)],
                          env={**child_env(), **env}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


class held:
    """Another process holding the store with BEGIN EXCLUSIVE."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(self.path)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "held"
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait(timeout=30)


def test_a_locked_store_is_waited_for_then_reported_locked(built, tmp_path, monkeypatch):
    store = tmp_path / "records"
    store.write_bytes(built.read_bytes())
    with held(store):
        started = time.monotonic()
        (result,) = cli([["--store", str(store), "count all"]], SMTQL_BUSY_TIMEOUT="1",
                        SMTQL_JOURNAL_DIR=str(tmp_path / "journal"))
        waited = time.monotonic() - started
    assert result["rc"] == 3, result
    message = result["err"]
    assert "is locked by another process" in message and "waited 1 s" in message, message
    assert "SMTQL_BUSY_TIMEOUT" in message and "Run the command again" in message, message
    assert "not a Sumatra record store" not in message
    assert waited >= 1
    # locked after the store was opened (a REPL session, say): the same answer
    import smtql
    from smtql.errors import StoreError
    monkeypatch.setenv("SMTQL_BUSY_TIMEOUT", "0.5")
    with smtql.connect(store=str(store)) as conn:
        n = int(conn.query("count all"))
        with held(store), pytest.raises(StoreError, match="locked by another process"):
            conn.query("find all")
        assert int(conn.query("count all")) == n > 0


def files(directory: Path) -> dict:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def test_reads_of_a_wal_store_leave_no_wal_files(built, tmp_path):
    directory = tmp_path / "wal"
    directory.mkdir()
    store = directory / "records"
    store.write_bytes(built.read_bytes())
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    db.close()  # closed cleanly: SQLite removed its -wal and -shm
    before = files(directory)
    assert sorted(before) == ["records"]
    results = cli([["--store", str(store), "--format", "json", p] for p in READS],
                  SMTQL_JOURNAL_DIR=str(tmp_path / "journal"))
    assert [r["rc"] for r in results] == [0] * len(READS), results
    assert files(directory) == before
    # while another connection has the store open, its -wal and -shm are its own: kept
    other = sqlite3.connect(store)
    other.execute("SELECT count(*) FROM django_store_record").fetchall()
    try:
        assert cli([["--store", str(store), "count all"]])[0]["rc"] == 0
        assert {"records-wal", "records-shm"} <= set(files(directory))
        assert other.execute("SELECT count(*) FROM django_store_record").fetchone()[0] > 0
    finally:
        other.close()
    assert files(directory) == before
