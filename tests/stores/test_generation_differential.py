"""The planned engine on stores of every schema generation against the
reference evaluation (issue 11, item 3; the tests/plan/test_differential.py
pattern): the same varied records are written into a store of each
generation on SQLite, PostgreSQL and MariaDB; the reference rows are what
Sumatra 0.8.1's own API reads from the 0.8.1 SQLite store (a child
process); hypothesis-drawn filters, planned and pushed down to each store's
SQL, must select exactly what smtql.plan.evaluate selects on those rows."""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings

from plan.test_differential import Vocabulary, filters, planned_labels, reference_labels
from support import store_support
from support.generations import BACKENDS, GENERATIONS, DataFile, Record, build_store

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])
TAGS = ["_finished_", "_failed_", "_crashed_", "baseline", "sweep", "needs.check", "finished",
        "μ-sweep", "batch-2"]


def varied_records(n=40, seed=11) -> list[Record]:
    rnd = random.Random(seed)
    out = []
    start = datetime(2013, 5, 2, 14, 0, 0)
    for i in range(n):
        ts = start + timedelta(days=rnd.randint(0, 2500), seconds=rnd.randint(0, 86399),
                               microseconds=rnd.choice([0, 0, 250000]))
        params = {"dt": rnd.choice([0.1, 0.05, 0.2]), "N": rnd.choice([100, 200, 50]),
                  "model": {"name": rnd.choice(["lif", "adex", "izh"]),
                            "tau_m": rnd.choice([10.0, 15.0, 20.0])},
                  "seed": i}
        if i % 5 == 0:
            params = {"taskname": "Fit", "inputs": {"lr": rnd.choice([0.01, 0.001]),
                                                    "data": {"taskname": "Sim",
                                                             "inputs": {"seed": i}}}}
        tags = tuple(rnd.sample(TAGS, rnd.randint(0, 3)))
        status = [t for t in tags if t.startswith("_")]
        tags = tuple(t for t in tags if not t.startswith("_")) + tuple(status[:1])
        out.append(Record(
            f"{ts:%Y%m%d-%H%M%S}_{i:02d}", ts, tags=tags, parameters=params,
            reason=rnd.choice(["", "first try", "same again", "debug NaN"]),
            outcome=rnd.choice(["", "converged", "diverged"]),
            duration=rnd.choice([None, 12.5, 90.0, 600.0, 5400.0]),
            main_file=rnd.choice(["main.py", "train.py"]),
            outputs=[DataFile(f"run{i}/{name}") for name in
                     rnd.sample(["spikes.dat", "vm.dat", "fig.png"], rnd.randint(0, 2))]))
    return out


_ORACLE = textwrap.dedent("""\
    import pickle, sys
    from smtql.stores.registry import open_store
    store = open_store(store=sys.argv[1], engine="api")
    rows = list(store.scan(None))
    for r in rows:
        r.handle = None
    sys.stdout.buffer.write(pickle.dumps(rows))
""")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    built = build_store("0.8.1", "sqlite", varied_records(), target=tmp_path_factory.mktemp("ref"))
    proc = subprocess.run([sys.executable, "-c", _ORACLE, built.uri], env=store_support.child_env(),
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    rows = pickle.loads(proc.stdout)
    assert len(rows) == 40
    return rows


@pytest.mark.parametrize("generation, backend",
                         [pytest.param(g, b, id=f"{g}-{b}") for g in GENERATIONS for b in BACKENDS])
def test_planned_engine_equals_the_reference(generation, backend, reference, tmp_path):
    store_support.require_server(backend)
    from smtql.stores.registry import open_store
    built = build_store(generation, backend, varied_records(), target=tmp_path)
    store = open_store(store=built.uri)
    vocab = Vocabulary(reference)
    try:
        @SETTINGS
        @given(f=filters(vocab))
        def check(f):
            got, plan = planned_labels(store, f)
            assert got == reference_labels(reference, f), (generation, backend, f, plan)
        check()
    finally:
        store.close()
