"""The persistent parameter index (smtql.stores.django.paramindex).

- Its candidates are a necessary bound: for any parameter predicate and any
  parameter set, a set that satisfies the predicate is a candidate
  (property-based, over tricky values and paths: task folding, `inputs`
  keys, big integers, NaN, lists, dates, number segments).
- It is kept up to date: new records saved with Sumatra's own
  RecordStore.save are indexed by the next query, reading only the new sets;
  a store whose sets were deleted, a rebuilt store, and an index from
  another version are rebuilt.
- Several processes building one index at once leave it consistent.
- An unwritable cache directory falls back to parsing in memory, with a
  note; `smtql index --status|--rebuild|--drop` and `--no-index`.

(The differential tests, tests/plan/test_differential.py, run every store
with and without the index against the reference.)
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smtql
from support.store_support import build_demo, child_env, run_child

from smtql.language import ast
from smtql.params.model import lookup
from smtql.plan.values import MISSING
from smtql.params import cache as paramcache
from smtql.plan.evaluate import compile_filter
from smtql.stores.base import parameter_key_names
from smtql.stores.django import paramindex
from smtql.stores.django.paramindex import ParamIndex, _Writer

COUNT = 'count optimizer.lr = 0.01 and optimizer.model.kind = "gru"'


# ------------------------------------------------------------------ the bound, on the index itself

KEYS = ["a", "b", "inputs", "lr", "kind", "taskname", "0", "μ"]
SCALARS = st.one_of(
    st.integers(-3, 3), st.sampled_from([2 ** 53, 2 ** 53 + 1, -2 ** 60, 10 ** 30]),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.01, 1.0, -0.0, 1e-9, 3.0000001]), st.booleans(), st.none(),
    st.sampled_from(["", "gru", "GRU", "gr", "ru", "x\x00y", "é", "a b"]))


def _values():
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
            # an smttask task description: lookups fold through its inputs
            st.builds(lambda i: {"taskname": "T", "module": "m", "inputs": i},
                      st.dictionaries(st.sampled_from(KEYS), inner, max_size=3))),
        max_leaves=8)


def _paths(sets):
    out = set()

    def walk(v, prefix):
        out.add(prefix)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, prefix + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, prefix + (i,))
    for s in sets:
        walk(s, ())
    return sorted((p for p in out if p), key=repr)


@st.composite
def _case(draw):
    sets = draw(st.lists(st.dictionaries(st.sampled_from(KEYS), _values(), max_size=4),
                         min_size=1, max_size=6))
    paths = _paths(sets) or [("a",)]

    def path():
        p = list(draw(st.sampled_from(paths)))
        # a task-folded form (without some `inputs`), or a key no set has
        if draw(st.booleans()):
            p = [s for s in p if s != "inputs" or draw(st.booleans())]
        if not p or draw(st.integers(0, 6)) == 0:
            p = p + [draw(st.sampled_from(KEYS + [0, 1]))]
        return tuple(p)

    def atom():
        key = ast.Param(path())
        if draw(st.integers(0, 8)) == 0:
            return ast.Exists(key)
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "~=", "in", "contains",
                                   "startswith", "endswith", "matches"]))
        values = [v for s in sets for v in [lookup(s, key.path)]
                  if not isinstance(v, dict) and v is not MISSING]
        known = st.sampled_from(values) if values else SCALARS
        lit = draw(st.one_of(known, SCALARS, st.just(date(2020, 1, 2))))
        if op == "in":
            lit = tuple(draw(st.lists(st.one_of(known, SCALARS), max_size=3)))
        elif op == "matches":
            lit = draw(st.sampled_from(["^g", "u$", "."]))
        if isinstance(lit, list):
            lit = tuple(lit)
        if isinstance(lit, dict):
            lit = None
        return ast.Compare(key, op, ast.Const(lit))

    f = atom()
    for _ in range(draw(st.integers(0, 2))):
        g = atom()
        f = draw(st.sampled_from([ast.And((f, g)), ast.Or((f, g))]))
    return sets, f


def test_candidates_are_a_necessary_bound_and_sure_sets_are_answers(tmp_path):
    n = [0]

    @settings(max_examples=400, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(case=_case())
    def check(case):
        sets, f = case
        n[0] += 1
        index = ParamIndex("test://bound", tmp_path / f"i{n[0]}.sqlite").open()
        try:
            rows = [(i + 1, "JSONParameterSet", json.dumps(s)) for i, s in enumerate(sets)]
            writer = _Writer(index)
            writer.add(rows)
            writer.finish(max_id=len(rows))
            candidates, sure, newest = index.candidates(f)
            assert newest == len(rows)
            test = compile_filter(f)

            class View:
                def __init__(self, p):
                    self.p = p

                def param(self, path):
                    return lookup(self.p, path)
            parsed = {pid: paramcache.read(t, c) for pid, t, c in rows}
            satisfied = {pid for pid, p in parsed.items() if test(View(p))}
            if candidates is not None:
                assert satisfied <= set(candidates), (f, sets, satisfied, candidates)
            # what the index says for certain is so
            assert set(sure) <= satisfied, (f, sets, satisfied, sure)
            # the same through the index ATTACHed (an SQLite store's
            # pre-filter): its certain sets are answers, and with the
            # doubtful ones (parsed and decided by the reader) hold them all
            db = sqlite3.connect(":memory:")
            db.execute(f"ATTACH DATABASE ? AS {paramindex.ATTACHED}", (str(index.path),))
            inexact = db.execute(f"SELECT EXISTS (SELECT 1 FROM {paramindex.ATTACHED}.sets "
                                 f"WHERE exact = 0)").fetchone()[0]
            pre = paramindex.attached_prefilter(f, paramindex.ATTACHED + ".", bool(inexact))
            if pre is not None:
                doubtful, certain = pre
                doubtful = {r[0] for r in db.execute(*doubtful)} if doubtful else set()
                certain = {r[0] for r in db.execute(*certain)} if certain else set()
                assert certain <= satisfied, (f, sets, satisfied, certain)
                assert satisfied <= certain | doubtful, (f, sets, satisfied, certain, doubtful)
            db.close()
            # key names, worked out once per structure, are each set's own
            with index.reading():
                names, shape_of = index.shape_names(), index.shapes_of(parsed)
            for pid, p in parsed.items():
                assert set(names[shape_of[pid][1]]) == parameter_key_names(p)
        finally:
            index.close()

    check()


def _sweep_index(path: Path) -> ParamIndex:
    """An index of 90 task-like sets: 3 learning rates × 3 kinds × 10 seeds."""
    index = ParamIndex("test://few", path).open()
    sets = [{"optimizer": {"taskname": "Adam", "inputs": {"lr": lr, "model": {"kind": kind}}},
             "seed": i} for i, (lr, kind) in enumerate(
        (lr, kind) for lr in (0.1, 0.01, 0.001) for kind in ("gru", "lstm", "rnn")
        for _ in range(10))]
    writer = _Writer(index)
    writer.add([(i + 1, "JSONParameterSet", json.dumps(s)) for i, s in enumerate(sets)])
    writer.finish(max_id=len(sets))
    return index


LR = ast.Compare(ast.Param(("optimizer", "lr")), "=", ast.Const(0.01))
KIND = ast.Compare(ast.Param(("optimizer", "model", "kind")), "=", ast.Const("gru"))


def test_a_selective_predicate_has_few_candidates(tmp_path):
    index = _sweep_index(tmp_path / "few.sqlite")
    lr, kind = LR, KIND
    full = ast.Compare(ast.Param(("optimizer", "inputs", "lr")), "=", ast.Const(0.01))
    both = index.candidates(ast.And((lr, kind)))
    assert len(both[0]) == 10 and sorted(both[1]) == sorted(both[0])  # decided by the index
    assert sorted(index.candidates(lr)[0]) == sorted(index.candidates(full)[0])
    assert len(index.candidates(lr)[0]) == len(index.candidates(lr)[1]) == 30
    assert index.candidates(full)[1] == []  # a path with `inputs`: parsed, not sure
    index.close()


@pytest.mark.parametrize("combine", [" and ", " or "])
def test_the_ids_of_several_predicates_are_merged_not_sorted(tmp_path, combine):
    """Each predicate reads its set ids in order from an index, so SQLite
    merges them; a compound with no order builds a temporary B-tree of a
    side's ids (at 10^5 sets, twice the time of the merge). With no
    inexact set in the index, the sure sets are not less the inexact ones
    (an EXCEPT of none still builds a B-tree of every id)."""
    project = build_demo("sqlite", tmp_path / "p", records=30, seed=4)
    conn = smtql.connect(project)
    try:
        conn.store.statement_log = []
        conn.query("count " + combine.join(['optimizer.lr = 0.01', 'optimizer.model.kind = "gru"']))
        [(text, params)] = [s for s in conn.store.statement_log if "smtql_index.nodes" in s[0]]
        plan = [r[3] for r in conn.store.conn.execute("EXPLAIN QUERY PLAN " + text, params)]
    finally:
        conn.close()
    word = "INTERSECT" if combine == " and " else "UNION"
    assert f"MERGE ({word})" in plan and not any("TEMP B-TREE" in p for p in plan), plan
    assert "EXCEPT" not in text


@pytest.mark.parametrize("combined", [ast.And((LR, KIND)), ast.Or((LR, KIND))])
def test_the_candidates_a_server_store_is_sent_are_merged_too(tmp_path, combined):
    """The index read on its own connection (for a server store): each
    statement's plan merges, and the answer is the same."""
    index = _sweep_index(tmp_path / "merged.sqlite")
    paramindex._script(index.conn, paramindex._INDEXES)  # as a whole build leaves it
    statements = []
    index.conn.set_trace_callback(statements.append)
    maybe, sure, _ = index.candidates(combined)
    index.conn.set_trace_callback(None)
    word = "INTERSECT" if isinstance(combined, ast.And) else "UNION"
    [text] = [s for s in statements if word in s]
    plan = [row[3] for row in index.conn.execute("EXPLAIN QUERY PLAN " + text)]
    assert f"MERGE ({word})" in plan and not any("TEMP B-TREE" in p for p in plan), plan
    assert len(maybe) == (10 if word == "INTERSECT" else 50) and sorted(sure) == sorted(maybe)
    index.close()


# ------------------------------------------------------------------ stores kept up to date

# Saves records with Sumatra's own RecordStore.save, each with a parameter
# set of its own (a copy of the newest record with new parameters).
_SAVE = textwrap.dedent("""\
    import copy, json, sys, datetime
    from smtql.demo import build as demo
    from smtql.stores.registry import locate
    if "mysql" in locate(sys.argv[1]).uri:
        demo._install_mysql_driver()
    demo._quiet_django()
    from sumatra.projects import load_project
    from sumatra.parameters import NTParameterSet
    project = load_project(sys.argv[1])
    store = project.record_store
    base = store.get(project.name, store.most_recent(project.name))
    if sys.argv[3] == "wipe":
        store.delete_all()
    for i, params in enumerate(json.loads(sys.argv[2])):
        r = copy.copy(base)
        r.label = "added-%d-%s" % (i, sys.argv[3])
        r.parameters = NTParameterSet(params)
        r.output_data = []
        r.timestamp = datetime.datetime(2021, 9, 30, 12, 0, i % 60)
        r.tags = set(["_finished_"])
        store.save(project.name, r)
""")


def save_records(project: Path, params: list[dict], tag: str = "a") -> None:
    run_child(_SAVE, str(project), json.dumps(params), tag)


def wipe_and_save(project: Path, params: list[dict]) -> None:
    run_child(_SAVE, str(project), json.dumps(params), "wipe")


def _sweep(n, start=0):
    return [{"optimizer": {"lr": 0.01, "model": {"kind": "gru"}}, "seed": 10_000 + start + i}
            for i in range(n)]


def _answer(project, program=COUNT, index=True):
    conn = smtql.connect(project, index=index)
    try:
        return conn.query(program).count
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def fresh(request, tmp_path):
    project = build_demo(request.param, tmp_path / "p", records=30, seed=4)
    return request.param, project


def test_new_records_are_indexed_by_the_next_query(fresh):
    kind, project = fresh
    conn = smtql.connect(project)
    store = conn.store
    before = conn.query(COUNT).count
    assert before == _answer(project, index=False)
    index = store._param_index
    built, (_, n_sets) = index.built_now, index.state()
    assert built == n_sets > 0

    save_records(project, _sweep(5))
    # the same open store, a new query: only the five new sets are read
    assert conn.query(COUNT).count == before + 5
    assert index.built_now - built == 5
    assert index.state()[1] == n_sets + 5
    # a fresh process sees the same, and the index is not built again
    assert _answer(project) == before + 5 == _answer(project, index=False)
    fresh_conn = smtql.connect(project)
    fresh_conn.query(COUNT)
    assert fresh_conn.store._param_index.built_now == 0
    fresh_conn.close()
    conn.close()


def test_known_structures_are_not_worked_out_again(tmp_path, monkeypatch):
    """A structure's shape is kept in the index (table structures): a fresh
    process indexing new sets of a known structure reads it, and works out
    key names (parameter_key_names) only for a new one; an index kept
    before the table existed gets it."""
    project = build_demo("sqlite", tmp_path / "p", records=30, seed=4)
    save_records(project, _sweep(3))
    assert _answer(project) == _answer(project, index=False)  # built, the sweep's shape known
    calls = []
    real = paramindex.parameter_key_names
    monkeypatch.setattr(paramindex, "parameter_key_names", lambda p: calls.append(p) or real(p))
    save_records(project, _sweep(4, start=100), tag="b")
    conn = smtql.connect(project)  # a fresh ParamIndex: nothing known in memory
    assert conn.query(COUNT).count == _answer(project, index=False)
    index = conn.store._param_index
    assert index.built_now == 4 and calls == []
    shapes = index.shapes_of(range(index.state()[0] + 1))
    newest = sorted(shapes)[-7:]  # the 3 sets of the first sweep, then the 4 new ones
    assert len({shapes[i][1] for i in newest}) == 1
    # a new structure is worked out once, then known
    save_records(project, [{"other": {"x": i}} for i in range(3)], tag="c")
    assert conn.query("count other.x >= 0").count == 3
    assert len(calls) == 1
    # an index without the table (written before it was kept): made again
    index.conn.execute("DROP TABLE structures")
    save_records(project, [{"other": {"x": 9}}], tag="d")
    assert conn.query("count other.x >= 0").count == 4
    assert len(calls) == 2
    plain = smtql.connect(project, index=False)
    assert {r["key"]: r["records"] for r in conn.query("keys all").rows} == \
        {r["key"]: r["records"] for r in plain.query("keys all").rows}
    plain.close()
    conn.close()


def test_value_codes_are_kept_until_the_index_changes(tmp_path, monkeypatch):
    """A key's value codes (what a PostgreSQL group-by groups by) are kept
    in the index: a fresh process reads them back instead of working them
    out, while the index is as it was; new sets make them worked out again,
    and they then hold the new sets; an index made before codes were kept
    works them out."""
    project = build_demo("sqlite", tmp_path / "p", records=30, seed=4)
    path = ("optimizer", "model", "kind")

    def codes():
        conn = smtql.connect(project)
        conn.query(COUNT)  # brings the index up to date
        got = conn.store._param_index.value_codes(path)
        conn.close()
        return {v: sorted(map(int, m.split(","))) for v, (m, _) in zip(got.values, got.members)}

    worked = []
    real = ParamIndex._work_out_codes
    monkeypatch.setattr(ParamIndex, "_work_out_codes",
                        lambda self, key: worked.append(key) or real(self, key))
    first = codes()
    assert first and len(worked) == 1
    assert codes() == first and len(worked) == 1  # read back
    save_records(project, _sweep(2))
    grown = codes()
    assert len(worked) == 2
    assert len(grown["gru"]) == len(first["gru"]) + 2
    conn = smtql.connect(project)
    conn.query(COUNT)
    conn.store._param_index.conn.execute("DROP TABLE codes")
    assert conn.store._param_index.value_codes(path) is not None and len(worked) == 3
    conn.close()
    assert codes() == grown and len(worked) == 3  # kept again by the last one


def test_a_rebuilt_store_and_deleted_sets_rebuild_the_index(fresh):
    kind, project = fresh
    conn = smtql.connect(project)
    conn.query(COUNT)
    n_sets = conn.store._param_index.state()[1]
    # every record and set deleted, new ones saved (ids may start again)
    wipe_and_save(project, _sweep(3, start=500) + [{"optimizer": {"lr": 0.1}}])
    assert conn.query(COUNT).count == 3 == _answer(project, index=False)
    index = conn.store._param_index
    assert index.rebuilt and index.state()[1] == 4 != n_sets
    assert conn.query("count optimizer.lr = 0.1").count == 1
    conn.close()


def test_an_index_of_another_version_is_rebuilt(tmp_path):
    project = build_demo("sqlite", tmp_path / "p", records=20, seed=5)
    want = _answer(project)
    path = paramindex.index_path(str(project / ".smt" / "records"))
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '0/old' WHERE key = 'version'")
    db.execute("DELETE FROM nodes")  # an old index that would answer nothing
    db.commit()
    db.close()
    conn = smtql.connect(project)
    assert conn.query(COUNT).count == want
    assert conn.store._param_index.rebuilt
    conn.close()


# ------------------------------------------------------------------ several processes

_BUILDER = textwrap.dedent("""\
    import sys
    from smtql.stores.django import paramindex
    paramindex.BATCH, paramindex.COMMIT_EVERY = 7, 14   # many small transactions: interleave
    import smtql
    conn = smtql.connect(sys.argv[1])
    print(conn.query(sys.argv[2]).count)
    conn.close()
""")


def _index_rows(path):
    db = sqlite3.connect(path)
    try:
        sets = db.execute("SELECT id, hash, readable, indexed FROM sets ORDER BY id").fetchall()
        nodes = db.execute("SELECT n.set_id, p.key, n.elem, n.kind, n.num, n.text FROM nodes n "
                           "JOIN paths p ON p.id = n.path ORDER BY 1, 2, 3, 4, 5, 6").fetchall()
        meta = dict(db.execute("SELECT key, value FROM meta"))
    finally:
        db.close()
    return sets, nodes, meta


def test_concurrent_builders_leave_a_consistent_index(tmp_path):
    project = build_demo("sqlite", tmp_path / "p", records=200, seed=6)
    save_records(project, _sweep(40))  # more sets than one small transaction
    want = _answer(project, index=False)
    env = child_env()
    env["SMTQL_INDEX_DIR"] = str(tmp_path / "shared")
    procs = [subprocess.Popen([sys.executable, "-c", _BUILDER, str(project), COUNT], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(5)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert [int(o) for o, _ in outs] == [want] * 5
    assert not any("note:" in e for _, e in outs)
    # the same as one process alone builds
    env["SMTQL_INDEX_DIR"] = str(tmp_path / "alone")
    subprocess.run([sys.executable, "-c", _BUILDER, str(project), COUNT], env=env, check=True,
                   capture_output=True)
    store_path = str(project / ".smt" / "records")
    name = paramindex.index_path(store_path).name
    shared = _index_rows(tmp_path / "shared" / name)
    alone = _index_rows(tmp_path / "alone" / name)
    assert shared[0] == alone[0] and shared[1] == alone[1]
    assert shared[2]["count"] == alone[2]["count"] == str(len(alone[0]))
    assert shared[2]["max_id"] == alone[2]["max_id"]
    n_store = sqlite3.connect(store_path).execute(
        "SELECT COUNT(*) FROM django_store_parameterset").fetchone()[0]
    assert len(shared[0]) == n_store


def test_worker_processes_build_the_index_one_process_builds(tmp_path, monkeypatch):
    """From PARALLEL_FROM sets on, a build flattens them in worker
    processes, chunk by chunk, and writes them in order: the index is row
    for row (sets, their shapes, nodes) the one a process builds alone,
    over several batches and transactions."""
    project = build_demo("sqlite", tmp_path / "p", records=200, seed=6)
    save_records(project, _sweep(40))
    monkeypatch.setattr(paramindex, "BATCH", 30)
    monkeypatch.setattr(paramindex, "COMMIT_EVERY", 90)
    monkeypatch.setattr(paramindex._InWorkers, "chunk", 7)
    monkeypatch.setattr(paramindex.os, "cpu_count", lambda: 2)
    pools = []
    real = paramindex._InWorkers.__init__
    monkeypatch.setattr(paramindex._InWorkers, "__init__",
                        lambda self, n: pools.append(n) or real(self, n))
    rows = {}
    for name, threshold in (("alone", 10 ** 9), ("workers", 1)):
        monkeypatch.setenv("SMTQL_INDEX_DIR", str(tmp_path / name))
        monkeypatch.setattr(paramindex, "PARALLEL_FROM", threshold)
        assert _answer(project) == _answer(project, index=False)
        path = tmp_path / name / paramindex.index_path(str(project / ".smt" / "records")).name
        db = sqlite3.connect(path)
        shapes = db.execute("SELECT s.id, s.exact, h.names FROM sets s "
                            "LEFT JOIN shapes h ON h.id = s.shape ORDER BY s.id").fetchall()
        db.close()
        rows[name] = _index_rows(path), shapes
    assert pools == [2]  # the second build only, in two workers
    alone, workers = rows["alone"], rows["workers"]
    assert workers[0][0] == alone[0][0] and workers[0][1] == alone[0][1]
    assert workers[1] == alone[1] and len(alone[1]) > 90  # batches of 30 in transactions of 90


# ------------------------------------------------------------------ falling back, the command

def _cli(project, *args, env=None):
    return subprocess.run([sys.executable, "-m", "smtql", "-C", str(project), *args],
                          env=env or child_env(), capture_output=True, text=True, timeout=300)


def test_an_unwritable_cache_directory_falls_back_with_a_note(tmp_path):
    project = build_demo("sqlite", tmp_path / "p", records=20, seed=5)
    want = _answer(project, index=False)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = child_env()
    env["SMTQL_INDEX_DIR"] = str(blocker / "index")
    proc = _cli(project, COUNT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == want
    assert "note: the parameter index could not be kept" in proc.stderr
    assert "parameters were read without it" in proc.stderr
    # without parameters, no note
    proc = _cli(project, "count all", env=env)
    assert proc.returncode == 0 and "index" not in proc.stderr


def test_the_index_command(tmp_path):
    project = build_demo("sqlite", tmp_path / "p", records=20, seed=5)
    env = child_env()
    env["SMTQL_INDEX_DIR"] = str(tmp_path / "cache")
    status = _cli(project, "index", "--status", env=env)
    assert status.returncode == 0, status.stderr
    assert "sets: 0" in status.stdout and "not up to date" in status.stdout
    rebuilt = _cli(project, "index", "--rebuild", env=env)
    assert rebuilt.returncode == 0 and "rebuilt:" in rebuilt.stdout
    assert "up to date" in rebuilt.stdout.splitlines()[-1]
    assert "not up to date" not in rebuilt.stdout
    files = list((tmp_path / "cache").glob("*.sqlite"))
    assert len(files) == 1
    assert _cli(project, "index", env=env).stdout == _cli(project, "index", "--status",
                                                          env=env).stdout
    # --no-index neither reads nor writes it
    os.utime(files[0], (1, 1))
    assert _cli(project, "--no-index", COUNT, env=env).returncode == 0
    assert files[0].stat().st_mtime == 1
    assert _cli(project, "count all", env=env).returncode == 0  # the store's stamp kept beside
    assert len(list((tmp_path / "cache").glob("*.sure"))) == 1
    dropped = _cli(project, "index", "--drop", env=env)
    assert dropped.returncode == 0 and "dropped" in dropped.stdout
    assert not list((tmp_path / "cache").iterdir())  # nothing kept for the store is left
    assert _cli(project, "--status", COUNT, env=env).returncode == 2


def test_server_indexes_are_named_without_passwords():
    a = paramindex.identity("postgres://me:secret@db.example:5432/lab")
    b = paramindex.identity("postgresql://me:other@db.example:5432/lab")
    assert a == b and "secret" not in a
    assert paramindex.identity("mysql://u:p@h/x") != paramindex.identity("mysql://u:p@h/y")


def test_node_rows_of_strings_and_list_elements():
    from smtql.stores.django.paramindex import SEP, _nodes, _typed
    assert _typed("ab") == ("s", None, "ab") and _typed("μ") == ("s", None, "μ")
    assert _typed("a\ud800") == ("S", None, None)  # SQLite cannot hold it as text
    out: list = []
    assert _nodes({"a": {"b": [1, "x", [2], {"c": None}]}}, (), out)
    key = "a" + SEP + "b"
    assert out == [("", 0, "d", None, None), ("a", 0, "d", None, None), (key, 0, "l", None, None),
                   (key, 1, "n", 1.0, None), (key, 1, "s", None, "x")]
