"""Ctrl-C during a query stops the running SQL statement at once (issue 12,
item 17): the command line says "interrupted" (exit 130), the REPL comes
back to its prompt and goes on, and the store is as it was.

Typed in a pseudo-terminal (pexpect's `sendintr`: the terminal sends SIGINT
to the program, as a person's Ctrl-C does). The slow statements are real:
on SQLite, a filter of many `contains` over long texts (seconds of
LIKE); on PostgreSQL and MariaDB, a read that waits for a table another
connection holds locked (a store busy with a writer). The limit asserted
on the time from Ctrl-C to the message is loose (3 s) because the machine
is shared; before the fix it is the statement's whole remaining time (on
SQLite) or forever (a server statement waiting on a lock).
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from support.generations import Record, build_store, quirky_records

from .test_repl import smtql_command

pexpect = pytest.importorskip("pexpect")

RECORDS = 20
# ~12 s of SQL uninterrupted on an idle machine
SLOW = "count " + " or ".join(f'reason contains "zq{i}"' for i in range(1000))
# Seconds from Ctrl-C to the message, at most: measured ~0.05 on an idle
# machine, up to 2 on one shared by many (load 15 on 2 cores).
AT_ONCE = 3.0


@pytest.fixture(scope="module")
def slow_store(tmp_path_factory) -> Path:
    """An SQLite store whose records have half-megabyte reasons."""
    start = datetime(2020, 9, 12, 10, 0, 0)
    records = [Record(label=f"20200912-1000{i:02d}", timestamp=start + timedelta(seconds=i),
                      reason=f"run {i} " + "ab" * 250_000, project="slow")
               for i in range(RECORDS)]
    return build_store("0.8.1", "sqlite", records,
                       target=tmp_path_factory.mktemp("slow") / "records.sqlite").path


def spawn(args: list[str], tmp_path, **more_env):
    from conftest import child_env
    env = dict(child_env(), SMTQL_HISTORY=str(tmp_path / "history"), TERM="xterm",
               NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1", **more_env)
    cmd = smtql_command() + args
    return pexpect.spawn(cmd[0], cmd[1:], env=env, encoding="utf-8", timeout=60,
                         dimensions=(40, 160))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_until_open(child, path: Path, timeout: float = 60) -> None:
    """Until the child process has the store file open (it is then past its
    imports and about to run the statement)."""
    deadline = time.monotonic() + timeout
    fds = Path(f"/proc/{child.pid}/fd")
    while time.monotonic() < deadline:
        try:
            if any(os.readlink(fd) == str(path) for fd in fds.iterdir()):
                return
        except OSError:  # a descriptor closed while being read
            pass
        time.sleep(0.05)
    pytest.fail(f"the child never opened {path}")


def interrupt(child, message: str) -> float:
    """Ctrl-C; the seconds until `message` appears."""
    started = time.monotonic()
    child.sendintr()
    child.expect_exact(message)
    return time.monotonic() - started


def interrupt_once_open(child, store) -> float:
    """Ctrl-C to a command-line child half a second after it opened the
    store; the seconds until it said "interrupted", once it has exited."""
    try:
        wait_until_open(child, store)
        time.sleep(0.5)
        waited = interrupt(child, "smtql: interrupted")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    return waited


def goes_on(child, records: int) -> None:
    """After a cancelled statement the REPL session goes on, on the same
    store (`count all` answers `records`), and Ctrl-D ends it."""
    child.send("count all\r")
    child.expect(rf"(?<!\d){records}\r\n")
    child.send("\x04")
    child.expect(pexpect.EOF)


def test_ctrl_c_stops_the_statement_at_the_command_line(slow_store, tmp_path):
    before = digest(slow_store)
    child = spawn(["--store", str(slow_store), SLOW], tmp_path)
    waited = interrupt_once_open(child, slow_store)  # the statement is running
    assert waited < AT_ONCE
    assert child.exitstatus == 130
    assert "Traceback" not in child.before
    assert digest(slow_store) == before
    assert not Path(str(slow_store) + "-journal").exists()


def test_ctrl_c_stops_the_statement_in_the_repl(slow_store, tmp_path):
    before = digest(slow_store)
    child = spawn(["repl", "--store", str(slow_store)], tmp_path)
    try:
        child.expect("smtql>")
        time.sleep(0.5)  # the completion vocabulary has loaded
        program = tmp_path / "slow.smtql"  # typing 10,000 characters would take a while
        program.write_text(SLOW + "\n")
        child.send(f"\\run {program}\r")
        time.sleep(0.5)  # the statement is running
        waited = interrupt(child, "cancelled")
        child.expect("smtql>")
        goes_on(child, RECORDS)
    finally:
        child.close()
    assert waited < AT_ONCE
    assert child.exitstatus == 0
    assert digest(slow_store) == before


# ------------------------------------------------------------------ a locked SQLite store

# Another process holding the store with BEGIN EXCLUSIVE, as a writer would.
HOLDER = """\
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()
"""
# Far longer than the bound asserted: a Ctrl-C that waits the lock out fails.
LONG_WAIT = {"SMTQL_BUSY_TIMEOUT": "30"}


@pytest.fixture
def locked_store(tmp_path):
    """(a copy of an SQLite store, a function that locks it from another
    process until the test ends)."""
    import subprocess
    import sys
    store = build_store("0.8.1", "sqlite", quirky_records()[:3],
                        target=tmp_path / "records.sqlite").path
    holders = []

    def lock():
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(store)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        holders.append(holder)
        assert holder.stdout.readline().strip() == "held"
        return holder

    yield store, lock
    for holder in holders:
        holder.kill()
        holder.wait(timeout=30)


def test_ctrl_c_stops_the_wait_for_a_locked_store_at_the_command_line(locked_store, tmp_path):
    """SQLite's busy handler waits in C, deaf to Ctrl-C and to interrupt():
    smtql waits in short tries instead, so Ctrl-C ends the wait at once."""
    store, lock = locked_store
    lock()
    child = spawn(["--store", str(store), "count all"], tmp_path, **LONG_WAIT)
    waited = interrupt_once_open(child, store)  # waiting for the lock
    assert waited < AT_ONCE
    assert child.exitstatus == 130
    assert "Traceback" not in child.before and "locked" not in child.before


def test_ctrl_c_stops_the_wait_for_a_locked_store_in_the_repl(locked_store, tmp_path):
    store, lock = locked_store
    child = spawn(["repl", "--store", str(store)], tmp_path, **LONG_WAIT)
    try:
        child.expect("smtql>")
        child.send("count all\r")
        child.expect(r"(?<!\d)3\r\n")
        time.sleep(1.0)  # the completion vocabulary has loaded
        holder = lock()
        child.send("count all\r")
        time.sleep(0.5)  # waiting for the lock
        waited = interrupt(child, "cancelled")
        child.expect("smtql>")
        holder.stdin.close()  # the writer ends: its transaction is rolled back
        holder.wait(timeout=30)
        goes_on(child, 3)
    finally:
        child.close()
    assert waited < AT_ONCE
    assert child.exitstatus == 0


# ------------------------------------------------------------------ servers

def _lock(kind: str, built):
    """A connection holding the record table locked, as a writer would."""
    conn = built.connect()
    if kind == "postgres":
        conn.execute("LOCK TABLE django_store_record IN ACCESS EXCLUSIVE MODE")
    else:
        with conn.cursor() as cur:
            cur.execute("LOCK TABLES django_store_record WRITE")
    return conn


def _waiting(kind: str, locker) -> int:
    """How many statements of other sessions of the store's database (the
    server is shared) read the record table now."""
    if kind == "postgres":  # the statistics are a snapshot per transaction: a fresh one
        locker.execute("SELECT pg_stat_clear_snapshot()")
        queries = [q for (q,) in locker.execute(
            "SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND datname = current_database() AND state = 'active'").fetchall()]
    else:
        with locker.cursor() as cur:
            cur.execute("SHOW FULL PROCESSLIST")  # Id, User, Host, db, Command, Time, State, Info
            queries = [row[7] for row in cur.fetchall()
                       if row[0] != locker.thread_id() and row[3] == locker.db.decode()]
    return sum(1 for q in queries if q and "django_store_record" in q)


def _poll(check, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_ctrl_c_cancels_the_statement_on_a_server(kind, tmp_path):
    """The REPL waits on a locked table; Ctrl-C cancels the statement on the
    server (PostgreSQL's cancel, MariaDB's KILL QUERY), the prompt comes
    back, and the session reads the store once the lock is gone."""
    built = build_store("0.8.1", kind, quirky_records()[:3])
    records = built.query("SELECT count(*) FROM django_store_record")[0][0]
    child = spawn(["repl", "--store", built.uri], tmp_path)
    locker = None
    try:
        child.expect("smtql>")
        child.send("count all\r")
        child.expect(rf"(?<!\d){records}\r\n")
        time.sleep(1.0)  # the completion vocabulary has loaded (else Ctrl-C stops its
        locker = _lock(kind, built)  # statement as well, but this one never starts)
        child.send("count all\r")
        assert _poll(lambda: _waiting(kind, locker) == 1), "the statement never ran"
        waited = interrupt(child, "cancelled")
        child.expect("smtql>")
        assert _poll(lambda: _waiting(kind, locker) == 0, timeout=AT_ONCE), \
            "the statement still runs on the server"
        locker.rollback() if kind == "postgres" else locker.cursor().execute("UNLOCK TABLES")
        child.send("count all\r")
        child.expect(rf"(?<!\d){records}\r\n")
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close()
        if locker is not None:
            locker.close()
    assert waited < AT_ONCE
    assert child.exitstatus == 0


# ------------------------------------------------------------------ the watcher

def test_a_ctrl_c_that_ended_the_body_first_still_stops_the_statement():
    """With a driver that waits in Python (PyMySQL), the KeyboardInterrupt
    can end the body before the watcher thread wakes: it then finds the
    signal and the end together, and must still stop the statement (which
    also marks the connection for replacing)."""
    import signal

    from smtql.frontends.interrupt import _watch

    class Store:
        stops = 0

        def interrupt(self):
            self.stops += 1
    store = Store()
    signals, done = os.pipe(), os.pipe()
    try:
        os.write(signals[1], bytes([signal.SIGINT]))
        os.write(done[1], b"x")
        _watch(signals[0], done[0], store)
    finally:
        for fd in (*signals, *done):
            os.close(fd)
    assert store.stops == 1
