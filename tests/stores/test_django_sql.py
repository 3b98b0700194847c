"""The SQL backend itself: a constant number of statements per query,
reading while `smt run` writes, Record objects equal to Sumatra's own, and
`explain` showing its SQL."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

import smtql
from support.store_support import build_demo, child_env, run_child

QUERIES = [
    "count tag finished",
    "count tag finished and reason matches \"lr\"",
    "tag finished and after 2020-09-12",
    "status crashed or stdout contains \"Traceback\"",
    "optimizer.lr = 0.01 and optimizer.model.kind = \"gru\"",
    "(outcome = \"converged\" or reason contains \"lr\") and duration > 1h and not tag figure1",
    "tag finished latest 20",
    "find all show label, params, outputs, executable, repository, stdout",
    "keys tag finished",
    "tag like \"fig*\" or outputpath endswith \".png\" or tags = [\"_killed_\"]",
    "describe latest",
]


@pytest.fixture(scope="module")
def small_and_large(tmp_path_factory):
    small = build_demo("sqlite", tmp_path_factory.mktemp("small") / "p", records=40, seed=3)
    large = build_demo("sqlite", tmp_path_factory.mktemp("large") / "p", records=400, seed=3)
    return small, large


def statements(project, program) -> int:
    conn = smtql.connect(project)
    try:
        before = conn.store.statements_run
        conn.query(program)
        return conn.store.statements_run - before
    finally:
        conn.close()


@pytest.mark.parametrize("program", QUERIES)
def test_statements_per_query_do_not_grow_with_the_store(small_and_large, program):
    small, large = small_and_large
    n_small, n_large = statements(small, program), statements(large, program)
    assert n_small == n_large
    assert n_large <= 16  # Record objects: one statement per related table


def test_records_are_built_in_a_constant_number_of_statements(small_and_large):
    _, large = small_and_large
    conn = smtql.connect(large)
    res = conn.query("find all")
    before = conn.store.statements_run
    one = conn.store.records([r for g in res.source_rows[:1] for r in g])
    mid = conn.store.statements_run
    many = res.records
    assert len(one) == 1 and len(many) == 400
    assert conn.store.statements_run - mid == mid - before
    conn.close()


_SUMATRA_RECORDS = r"""
import json, sys
from sumatra.projects import load_project
project = load_project(sys.argv[1])
def describe(r):
    ps = r.parameters
    return {
        "label": r.label, "timestamp": r.timestamp.isoformat(), "reason": r.reason,
        "outcome": r.outcome, "duration": r.duration, "main_file": r.main_file,
        "version": r.version, "user": r.user, "script_arguments": r.script_arguments,
        "stdout_stderr": r.stdout_stderr, "diff": r.diff, "repeats": r.repeats,
        "tags": sorted(r.tags),
        "executable": [type(r.executable).__name__, r.executable.path, r.executable.version,
                       r.executable.name, r.executable.options],
        "repository": [type(r.repository).__name__, r.repository.url, r.repository.upstream],
        "launch_mode": [type(r.launch_mode).__name__, r.launch_mode.__getstate__()],
        "datastore": [type(r.datastore).__name__, r.datastore.__getstate__()],
        "input_datastore": [type(r.input_datastore).__name__, r.input_datastore.__getstate__()],
        "parameters": [type(ps).__name__, ps.as_dict() if hasattr(ps, "as_dict") else ps],
        "output_data": sorted([k.path, k.digest, str(k.creation), k.metadata] for k in r.output_data),
        "input_data": sorted([k.path, k.digest] for k in r.input_data),
        "dependencies": sorted([d.name, d.path, d.version, d.module] for d in r.dependencies),
        "platforms": sorted(sorted(p.__dict__.items()) for p in r.platforms),
    }
if __name__ == "__main__" and len(sys.argv) > 2:
    labels = json.loads(sys.argv[2])
    print(json.dumps([describe(project.record_store.get(project.name, l)) for l in labels],
                     default=str))
"""


def test_record_objects_equal_sumatras_own(tmp_path):
    # two real `smt run`s: dependencies, platforms, input files, YAML and NT parameter sets
    project = tmp_path / "p"
    proc = subprocess.run([sys.executable, "-m", "smtql.demo", "build", str(project), "--records",
                           "30", "--seed", "5", "--runs", "2", "--quiet"], env=child_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    conn = smtql.connect(project)
    res = conn.query("find all")
    records = res.records
    labels = [r.label for r in records]
    theirs = json.loads(run_child(_SUMATRA_RECORDS, str(project), json.dumps(labels)))
    ns = {}
    exec(_SUMATRA_RECORDS.replace('if __name__ == "__main__" and len(sys.argv) > 2:',
                                  "if False:").replace("project = load_project(sys.argv[1])", ""),
         ns)
    ours = json.loads(json.dumps([ns["describe"](r) for r in records], default=str))
    assert ours == theirs
    assert conn.query("describe latest").label == max(res.source_rows,
                                                       key=lambda g: g[0].timestamp)[0].label
    conn.close()


def test_reads_while_a_writer_holds_the_store(tmp_path):
    project = build_demo("sqlite", tmp_path / "p", records=30, seed=2)
    db = project / ".smt" / "records"
    conn = smtql.connect(project)
    n = conn.query("count all").count
    writer = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN EXCLUSIVE")  # what a commit of `smt run` holds, for longer
    writer.execute("UPDATE django_store_record SET reason = reason")
    released = threading.Timer(1.0, lambda: writer.execute("COMMIT"))
    released.start()
    t = time.perf_counter()
    assert conn.query("count all").count == n  # waited for the writer, then answered
    assert time.perf_counter() - t >= 0.5
    released.join()
    with pytest.raises(Exception):  # opened read-only: it cannot write
        conn.store.conn.execute("DELETE FROM django_store_record")
    conn.close()
    writer.close()


def test_explain_shows_the_split_the_sql_and_the_candidates(small_and_large):
    small, _ = small_and_large
    conn = smtql.connect(small)
    text = conn.query('explain tag finished and reason matches "lr"').text
    assert "pre-filter:  tag finished" in text
    assert 'post-filter: reason matches "lr"' in text
    assert "SELECT r.db_id" in text and "django_store_taggeditem" in text
    assert "from the store" in text and "after the post-filter" in text
    text = conn.query("explain count tag finished").text
    assert "SELECT COUNT(*)" in text and "counted by the store" in text
    conn.close()


def test_a_slow_scan_shows_progress_on_a_terminal(demo_connection, monkeypatch):
    """The SQL store reports its scan (and a cold parameter cache) to the
    progress bar: with no delay and stderr a terminal, the bar is drawn."""
    import io
    import sys

    import smtql.progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    err = Terminal()
    monkeypatch.setattr(smtql.progress, "DELAY", 0.0)
    monkeypatch.setattr(sys, "stderr", err)
    demo_connection.query("find all show label, optimizer.lr")
    assert "reading records" in err.getvalue()


def test_postgres_binds_id_arrays_as_the_id_columns_type():
    """`integer = ANY(bigint[])` is a cross-type test PostgreSQL cannot hash:
    a count over 10^6 records with 10^5 candidate parameter sets ran for
    minutes (issue 10). Sumatra's ids are `integer`: bound as integer[]
    while they fit, bigint[] beyond."""
    from smtql.stores.django.schema import DIALECTS
    pg = DIALECTS["postgresql"]
    assert pg.in_int_array("r.parameters_id", [1, 2 ** 31 - 1]).text == \
        "r.parameters_id = ANY(CAST(? AS integer[]))"
    assert pg.in_int_array("r.parameters_id", [1, 2 ** 31]).text == \
        "r.parameters_id = ANY(CAST(? AS bigint[]))"
