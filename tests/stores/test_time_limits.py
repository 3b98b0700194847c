"""A statement given a time limit (`Transaction.run_within`) is stopped by
the database when the limit passes, on SQLite, PostgreSQL and MariaDB, and
the connection answers on afterwards. `latest N` counts what it leaves out
this way (statements/find.py): past the limit the answer says the rest was
not counted, rather than waiting for a number it only annotates."""

from __future__ import annotations

import pytest

import smtql
from smtql.render.layout import table_footer
from smtql.result import Table
from smtql.stores.django.connect import Transaction
from smtql.stores.django.schema import Sql
from support.store_support import build_demo

RECORDS = 40

# A statement that runs for many seconds on any machine: only a stop makes
# it answer None within a limit of a few hundredths of a second.
# (It counts to N; N = 10^9 takes minutes.)
SLOW = {
    "sqlite": ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
               "WHERE i < {n}) SELECT count(*) FROM n"),
    "postgres": "SELECT count(*) FROM generate_series(1, {n})",
    "mysql": "SELECT count(*) FROM seq_1_to_{n} WHERE seq + 0 > 0",  # counted, not known
}


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def store(request, tmp_path_factory):
    kind = request.param
    project = build_demo(kind, tmp_path_factory.mktemp(f"limits-{kind}") / "p",
                         records=RECORDS, seed=5)
    conn = smtql.connect(project)
    yield kind, conn
    conn.close()


def test_a_slow_statement_is_stopped_at_its_limit(store):
    kind, conn = store
    with Transaction(conn.store) as tx:
        assert tx.run_within(Sql(SLOW[kind].format(n=10 ** 9)), 0.05) is None
    assert conn.query("count all") == RECORDS  # the connection answers on


def test_a_quick_statement_answers_within_its_limit(store):
    kind, conn = store
    with Transaction(conn.store) as tx:
        rows = tx.run_within(Sql("SELECT COUNT(*) FROM django_store_record"), 60)
    assert [tuple(r) for r in rows] == [(RECORDS,)]
    # the limit was the statement's alone: the next one runs unlimited
    with Transaction(conn.store) as tx:
        assert tx.run(Sql(SLOW[kind].format(n=300000)))[0][0] == 300000


def test_latest_counts_what_it_leaves_out(store):
    kind, conn = store
    res = conn.query("all latest 3")
    assert (len(res), res.hidden) == (3, RECORDS - 3)
    assert f"{RECORDS - 3} more not shown" in table_footer(res)


def test_an_uncounted_rest_is_said_so():
    res = Table(["label"], [{"label": "a"}], hidden=None)
    assert table_footer(res) == "(1 record; how many more match was not counted, to answer sooner)"


@pytest.mark.parametrize("store", ["postgres", "mysql"], indirect=True)
def test_a_statement_stopped_in_the_middle_of_its_reply_leaves_the_store_answering(store):
    """A KeyboardInterrupt while the driver waits for the server's reply (a
    signal's handler raising it, as Python does for Ctrl-C): PyMySQL is
    left out of step with its server; the next query must still answer
    on a fresh connection, and the stopped statement not go on running."""
    import gc
    import signal
    import time
    kind, conn = store

    def stop(*_):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGALRM, stop)
    # Raised in a garbage collector's callback (hypothesis installs one),
    # the KeyboardInterrupt would be ignored: no collection in the window.
    collecting = gc.isenabled()
    gc.disable()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt), Transaction(conn.store) as tx:
            tx.run(Sql(SLOW[kind].format(n=10 ** 9)))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if collecting:
            gc.enable()
    assert conn.query("count all") == RECORDS
    deadline = time.monotonic() + 5
    while _running(kind, conn.store, "seq_1_to_" if kind == "mysql" else "generate_series"):
        assert time.monotonic() < deadline, "the stopped statement still runs on the server"
        time.sleep(0.05)


def _running(kind: str, store, marker: str) -> bool:
    """Whether a statement holding `marker` runs on the store's database,
    other than the one asking."""
    with Transaction(store) as tx:
        if kind == "postgres":
            rows = tx.run(Sql("SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                              "AND datname = current_database() AND state = 'active'"))
        else:
            rows = tx.run(Sql("SELECT info FROM information_schema.processlist "
                              "WHERE id <> connection_id() AND db = database()"))
    return any(q and marker in q for (q,) in rows)
