"""Writes interrupted at any point leave the store as it was or as intended
(SQLite; the kill runs the writer in a subprocess, the check reads the
store with Sumatra's API in another)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys

import pytest

from conftest import child_env
from test_writes import build_stores, sumatra_view


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_stores(tmp_path_factory.mktemp("faults"), [("sqlite", "sqlite")])["sqlite"]


def writer(project, program, **env):
    e = child_env()
    e.update(env)
    return subprocess.Popen([sys.executable, "-m", "smtql.cli", "-C", str(project), "--yes", program],
                            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_exception_killed_and_locked_writes_change_nothing(store):
    before = sumatra_view(store)
    # an exception inside the transaction, after the first changes
    proc = writer(store, "tag f1 where all", SMTQL_FAULT="raise")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and "rolled back: nothing changed" in err, err
    # killed inside the open transaction
    proc = writer(store, "tag f2 where all", SMTQL_FAULT="sleep:60")
    line = proc.stderr.readline()
    assert "sleeping inside the transaction" in line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # the database locked by another writer: waits the busy timeout, then fails cleanly
    db = store / ".smt" / "records"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        proc = writer(store, "tag f3 where all", SMTQL_BUSY_TIMEOUT="1")
        out, err = proc.communicate(timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 3 and "locked" in err and "nothing changed" in err, err
    assert sumatra_view(store) == before
    # the next write settles the killed one: it was not applied, and is not undoable
    proc = writer(store, "tag f4 where all")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "interrupted" in err and "not applied" in err, err
    import smtql
    with smtql.connect(store) as conn:
        conn.run("undo")
        assert "nothing to undo" in conn.query("undo").text
    assert sumatra_view(store) == before
