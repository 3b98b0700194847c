"""Connections to a Django store's database, and the read transaction.

SQLite is opened read-only (`mode=ro`) with a busy timeout, so a store that
`smt run` is writing still answers; PostgreSQL and MariaDB in a read-only
repeatable-read transaction. Nothing here writes, with one exception: an
SQLite store whose last writer was killed mid-transaction (a hot journal)
cannot be read read-only at all, so it is opened read-write once, which
makes SQLite roll that write back (see `_roll_back_hot_journal`).
"""

from __future__ import annotations

import itertools
import os
import shlex
import sqlite3
import time
from urllib.parse import quote, unquote, urlparse

from ...errors import StoreError
from ..location import NOT_A_STORE
from . import schema as S
from .schema import Sql

BUSY_TIMEOUT = 30.0  # seconds SQLite waits for a writer (`smt run`) to finish
# SQLite's extended result code for a read-only connection that found a hot
# journal it may not roll back ("attempt to write a readonly database")
SQLITE_READONLY_ROLLBACK = 776
_CURSOR_NAMES = itertools.count(1)  # server-side cursors: unique in any transaction


# SQLite's own wait for a lock, per try: its busy handler sleeps in C, where
# neither Ctrl-C (Python's handler runs between bytecodes) nor
# `interrupt()` (it stops running statements, not the wait to start one)
# reaches it. So smtql waits out a lock in tries this long, from Python,
# until busy_timeout() has passed: Ctrl-C stops the wait within one try.
BUSY_TRY = 0.05


def busy_timeout() -> float:
    """Seconds to wait for another process's write lock (SMTQL_BUSY_TIMEOUT)."""
    try:
        return float(os.environ.get("SMTQL_BUSY_TIMEOUT", BUSY_TIMEOUT))
    except ValueError:
        return BUSY_TIMEOUT


class StoreLocked(StoreError):
    """Another process held the store's lock longer than smtql waits."""


def locked(location: str) -> StoreLocked:
    """The error for a store another process holds locked past the wait."""
    return StoreLocked(
        f"the record store {location} is locked by another process (a running `smt run`, or "
        f"a program holding a write transaction); smtql waited {busy_timeout():g} s for it "
        "and read nothing. Run the command again once that process has finished, or set "
        "SMTQL_BUSY_TIMEOUT to a longer wait in seconds")


def is_locked(err) -> bool:
    """Whether SQLite gave up waiting for another process's lock."""
    if not isinstance(err, sqlite3.OperationalError):
        return False
    code = getattr(err, "sqlite_errorcode", None)  # Python >= 3.11; 5: SQLITE_BUSY
    return code == 5 if code is not None else "database is locked" in str(err)


def waiting_out_locks(attempt, stopped=lambda: False):
    """attempt() (an SQLite read, which waits BUSY_TRY for a lock), tried
    again while another process holds the store locked, until busy_timeout()
    has passed (the "locked" error then reaches the caller as it is) or
    `stopped()` says Ctrl-C came (the error then stands for the interrupt)."""
    deadline = time.monotonic() + busy_timeout()
    while True:
        try:
            return attempt()
        except sqlite3.OperationalError as err:
            if not is_locked(err) or stopped() or time.monotonic() >= deadline:
                raise


def connect(uri: str, notes: list | None = None):
    """(connection, dialect) for an SQLite path or a server URI. `notes`
    gets a line about anything done to the store on opening (a rolled-back
    interrupted write)."""
    if uri.startswith(("postgres://", "postgresql://")):
        try:
            import psycopg
        except ImportError:
            raise StoreError("a PostgreSQL store needs psycopg: pip install 'smtql[postgres]'") from None
        conn = psycopg.connect(uri, autocommit=False)
        # Django keeps platform IP addresses in `inet` columns and reads them
        # back as text; psycopg would make ipaddress objects of them.
        from psycopg.types.string import TextLoader
        conn.adapters.register_loader("inet", TextLoader)
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        # Big reads go through server-side cursors (Transaction._execute),
        # which PostgreSQL plans for the first 10 % of rows unless told that
        # every row will be read. SET is transactional: committed here, once.
        conn.execute("SET cursor_tuple_fraction = 1")
        # JIT compiles a statement whose estimated cost is high, and a store
        # that was never analyzed has costs that are guesses: the newest 20
        # of 10^6 records (a few ms of work) was given 0.9 s of compiling.
        if conn.info.server_version >= 110000:
            conn.execute("SET jit = off")
        conn.commit()
        return conn, S.DIALECTS["postgresql"]
    if uri.startswith(("mysql://", "mariadb://")):
        try:
            import pymysql
        except ImportError:
            raise StoreError("a MySQL/MariaDB store needs PyMySQL: pip install 'smtql[mysql]'") from None
        u = urlparse(uri)
        conn = pymysql.connect(host=u.hostname or "localhost", port=u.port or 3306,
                               user=unquote(u.username or ""), password=unquote(u.password or ""),
                               database=unquote(u.path.lstrip("/")), charset="utf8mb4",
                               autocommit=False)
        return conn, S.DIALECTS["mysql"]
    path = uri[len("sqlite://"):] if uri.startswith("sqlite://") else uri
    conn = _open_read_only(path)
    if _has_hot_journal(conn, path):
        conn.close()
        note = _roll_back_hot_journal(path)
        if notes is not None:
            notes.append(note)
        conn = _open_read_only(path)
    return conn, S.DIALECTS["sqlite"]


def interrupt(conn, dialect: str, uri: str) -> None:
    """Stop the statement running on `conn` now, from another thread: SQLite's
    `interrupt()`, PostgreSQL's cancel request, MariaDB's `KILL QUERY` on a
    second connection (its protocol has no cancel of its own)."""
    if dialect == "sqlite":
        conn.interrupt()
    elif dialect == "postgresql":  # psycopg >= 3.2 has the non-blocking form
        cancel = getattr(conn, "cancel_safe", None) or conn.cancel
        cancel()
    else:
        killer, _ = connect(uri)
        try:
            with killer.cursor() as cur:
                cur.execute(f"KILL QUERY {int(conn.thread_id())}")
        finally:
            killer.close()


WAL_FILES = ("-wal", "-shm")


def _open_read_only(path: str):
    absent = [path + s for s in WAL_FILES if not os.path.exists(path + s)]
    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=BUSY_TRY,
                           isolation_level=None, check_same_thread=False, factory=_ReadOnly)
    conn.store_path, conn.absent = path, absent
    return conn


class _ReadOnly(sqlite3.Connection):
    """A read-only connection that leaves no trace: reading a WAL-mode store
    makes SQLite create its `-wal` and `-shm` files, and a read-only
    connection cannot delete them on closing. If they were not there before,
    a read-write connection is opened and closed once after: as the last
    connection it checkpoints (an empty WAL: nothing is written to the
    store) and deletes them; if another process still uses the store, they
    are its and stay."""

    store_path: str = ""
    absent: list = []

    def close(self) -> None:
        super().close()
        made = [p for p in self.absent if os.path.exists(p)]
        if made:
            _let_sqlite_remove(self.store_path)


def _let_sqlite_remove(path: str) -> None:
    try:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:  # locked or not writable: another process's files, or no right
        pass


def _has_hot_journal(conn, path: str) -> bool:
    """Whether SQLite refuses to read because of a hot journal. SQLite
    decides hotness on the first read (a `-journal` with a live header and
    no writer holding the lock), so ask it rather than guess from the file."""
    try:
        waiting_out_locks(lambda: conn.execute("SELECT count(*) FROM sqlite_master").fetchall())
    except sqlite3.OperationalError as err:
        if is_locked(err):
            raise locked(path) from None
        code = getattr(err, "sqlite_errorcode", None)  # Python >= 3.11
        if code is not None:
            return code == SQLITE_READONLY_ROLLBACK
        return "readonly database" in str(err)
    except sqlite3.Error:  # not a database, say: the first real query reports it
        return False
    return False


def _roll_back_hot_journal(path: str) -> str:
    """Open the store read-write once, so that SQLite rolls the interrupted
    transaction back (it does so on the first read), and say so; or, where
    smtql may not write, tell the user what to run."""
    journal = path + "-journal"
    what = (f"the record store {path} holds an interrupted write: a writer killed in the "
            f"middle of a transaction left its rollback journal {journal}")
    directory = os.path.dirname(os.path.abspath(path))
    if not (os.access(path, os.W_OK) and os.access(directory, os.W_OK)):
        raise StoreError(
            f"{what}. SQLite must roll it back before the store can be read, which needs write "
            f"access to {path} and its directory, and smtql has none; nothing was read or "
            f"changed. As a user who can write there, run `sqlite3 {shlex.quote(path)} "
            f"'PRAGMA quick_check'` (or `smt list` in the project): opening the store "
            "read-write rolls the interrupted write back; then run smtql again")
    conn = sqlite3.connect(path, timeout=busy_timeout(), isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.Error as err:
        raise StoreError(f"{what}, and opening it read-write to roll that write back failed: "
                         f"{err}; nothing was read") from None
    finally:
        conn.close()
    return (f"{what}; smtql opened the store read-write once, which made SQLite roll that "
            "write back: the store is as it was before it")


class Transaction:
    """One read transaction: a consistent view for all of a query's
    statements, and a log of them (for `explain`)."""

    def __init__(self, store):
        self.store = store
        self.dialect = store.dialect
        self.statements: list[tuple[str, list]] = []

    def __enter__(self):
        if self.store.interrupted:
            self.store.reconnect()
        conn = self.store.conn
        if self.dialect.name == "sqlite":
            conn.execute("BEGIN")
        elif self.dialect.name == "mysql":
            with conn.cursor() as cur:
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        return self

    def __exit__(self, kind, *exc):
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            # Stopped wherever it was, perhaps in the middle of a reply
            # (PyMySQL reads in Python): the next transaction starts afresh.
            self.store.interrupted = True
        conn = self.store.conn
        try:
            if self.dialect.name == "sqlite":
                conn.execute("COMMIT")
            else:
                conn.rollback()
        except Exception:  # noqa: BLE001 - the answer is already out
            pass
        self.store.last_statements = self.statements

    def run(self, sql: Sql, *, many: bool = False):
        text, params = self.dialect.render(sql)
        self.statements.append((text, params))
        self.store.statements_run += 1
        if self.store.statement_log is not None:  # every statement, for the plan tests
            self.store.statement_log.append((text, params))
        try:
            try:
                cur = self._execute(text, params, many)
                return _Rows(self, text, params, cur) if many else cur.fetchall()
            except Exception as err:  # noqa: BLE001 - checked just below
                if not self._replace_undecodable(err):
                    raise
                cur = self._execute(text, params, many)
                return _Rows(self, text, params, cur) if many else cur.fetchall()
        except StoreError:
            raise
        except Exception as err:  # drivers raise their own kinds
            raise self.failure(err) from None

    def run_within(self, sql: Sql, seconds: float) -> list | None:
        """The rows of `sql`, or None when the database has not answered
        within `seconds`: the statement is stopped then (a count that would
        take longer than the answer it annotates is not worth waiting for).
        Ends a PostgreSQL transaction's use: stopping a statement aborts it."""
        conn, name = self.store.conn, self.dialect.name
        mariadb = name == "mysql" and "mariadb" in conn.get_server_info().lower()
        if name == "postgresql":
            self.set_local(statement_timeout=max(1, round(seconds * 1000)))  # ms
        elif mariadb:
            with conn.cursor() as cur:
                cur.execute(f"SET max_statement_time = {seconds:.3f}")
        elif name == "sqlite":
            deadline = time.monotonic() + seconds
            conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
        try:
            return self.run(sql)
        except StoreError as err:
            if _timed_out(str(err)) and not self.store.interrupted:
                return None
            raise
        finally:
            if name == "sqlite":
                conn.set_progress_handler(None, 0)
            elif mariadb:
                with conn.cursor() as cur:
                    cur.execute("SET max_statement_time = DEFAULT")

    def set_local(self, **settings) -> None:
        """PostgreSQL settings for the rest of this transaction only (one
        statement, logged with the others)."""
        self.run(Sql("SELECT " + ", ".join("set_config(?, ?, true)" for _ in settings),
                     [x for name, value in settings.items() for x in (name, str(value))]))

    def _execute(self, text, params, many: bool = False):
        if self.dialect.name == "postgresql":
            if many:
                # A server-side (named) cursor: rows come a chunk at a time,
                # so a big read holds one chunk, not the whole answer.
                cur = self.store.conn.cursor(name=f"smtql_{next(_CURSOR_NAMES)}")
                cur.execute(text, params)
                return cur
            return self.store.conn.execute(text, params)
        cur = self.store.conn.cursor()
        if self.dialect.name == "sqlite":  # SQLite's statement starts (or waits) here
            waiting_out_locks(lambda: cur.execute(text, params),
                              lambda: self.store.interrupted)
        else:
            cur.execute(text, params)
        return cur

    def failure(self, err) -> Exception:
        if self.store.interrupted:  # the driver's error is our own Ctrl-C
            return KeyboardInterrupt()
        if is_locked(err):
            return locked(self.store.location)
        if "file is not a database" in str(err):  # SQLite's header, damaged content
            return StoreError(NOT_A_STORE.format(path=self.store.location) + f": {err}")
        return StoreError(f"could not read the record store {self.store.location}: "
                          f"{type(err).__name__}: {err}")

    def _replace_undecodable(self, err) -> bool:
        """SQLite hands text to Python as UTF-8 and fails on a value that is
        not: read the store's text with U+FFFD for such bytes from then on
        (only then: decoding in Python halves the speed of reading text),
        and say so in the notes. True if the statement should run again."""
        conn = self.store.conn
        if self.dialect.name != "sqlite" or "decode" not in str(err) \
                or getattr(conn, "text_factory", None) is not str:
            return False
        conn.text_factory = _replacing_utf8
        self.store.report_fault("(some records)", "text", "not valid UTF-8; shown with U+FFFD")
        return True


def _timed_out(message: str) -> bool:
    """The error says a time limit of `run_within` stopped the statement."""
    return any(m in message for m in (
        "canceling statement due to statement timeout",  # PostgreSQL
        "max_statement_time exceeded",  # MariaDB
        "OperationalError: interrupted"))  # SQLite, stopped by the progress handler


def _replacing_utf8(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class _Rows:
    """A statement's rows, fetched in chunks. If SQLite meets text that is
    not UTF-8 part way, the statement runs again reading such text with
    U+FFFD and goes on after the rows already handed out (the same rows in
    the same order: one read transaction, one plan)."""

    def __init__(self, tx: Transaction, text, params, cur):
        self.tx, self.text, self.params, self.cur = tx, text, params, cur
        self.delivered = 0

    def fetchmany(self, size: int):
        try:
            chunk = self.cur.fetchmany(size)
        except Exception as err:  # noqa: BLE001 - checked just below
            if not self.tx._replace_undecodable(err):
                raise self.tx.failure(err) from None
            self.cur = self.tx._execute(self.text, self.params, True)
            if self.delivered:
                self.cur.fetchmany(self.delivered)
            chunk = self.cur.fetchmany(size)
        self.delivered += len(chunk)
        return chunk
