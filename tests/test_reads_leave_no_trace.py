"""Reads without side effects (issue 11, item 5; DESIGN.md principle 5):
every read statement (describe, diff and export, which build Sumatra
Records, included), run on a store of every generation from an empty
directory, leaves that directory empty, creates nothing where the store's
records name their data stores, and leaves the store's bytes (and its
directory) as they were. The API engine never migrates: on a store Sumatra
0.8.1's API would migrate it refuses, exit 3, and nothing changes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace

import pytest

from support.generations import GENERATIONS, Datastore, build_store, quirky_records
from support.scripts import CLI_RUNS
from support.store_support import child_env

READS = ["find all", "count all", "keys all", 'count tag "batch 2"', "tag smttask",
         "describe latest", "describe params-top", "diff latest, earliest", "export all",
         "explain find tag smttask and dt = 0.1", "status failed", "outputs > 0"]


def snapshot(directory) -> dict:
    return {str(p.relative_to(directory)): (hashlib.sha1(p.read_bytes()).hexdigest()
                                            if p.is_file() else "dir")
            for p in sorted(directory.rglob("*"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{generation: (results by statement, what changed)}: each generation's
    reads in one child process, in an empty directory."""
    out = {}
    for generation in GENERATIONS:
        base = tmp_path_factory.mktemp(f"trace-{generation}")
        roots = base / "roots"  # the records' data stores live (would live) here
        records = [replace(r, datastore=Datastore(root=str(roots / "Data")),
                           input_datastore=Datastore(root=str(roots / "Inputs")))
                   for r in quirky_records()]
        built = build_store(generation, "sqlite", records, target=base / "store")
        empty = base / "empty"
        empty.mkdir()
        before = snapshot(base)
        argvs = [["--store", built.uri, "--format", "json", p] for p in READS]
        proc = subprocess.run([sys.executable, "-c", CLI_RUNS, json.dumps(argvs)], cwd=empty,
                              env=child_env(), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        out[generation] = (dict(zip(READS, json.loads(proc.stdout))), before, base, empty)
    return out


@pytest.mark.parametrize("generation", GENERATIONS)
def test_reads_change_nothing(generation, runs):
    results, before, base, empty = runs[generation]
    failed = {p: r for p, r in results.items() if r["rc"] != 0}
    assert not failed, failed
    after = snapshot(base)
    assert sorted(set(after) - set(before)) == []  # nothing appeared, not even a data-store root
    assert sorted(k for k in before if after.get(k) != before[k]) == []  # nothing changed
    assert list(empty.iterdir()) == []
    assert not (base / "roots").exists()  # describe/diff/export build Records as plain data


@pytest.mark.parametrize("generation", ["0.5", "0.6dev", "0.7-0.8dev"])
def test_the_api_engine_refuses_a_store_it_would_migrate(generation, tmp_path):
    built = build_store(generation, "sqlite", quirky_records()[:2], target=tmp_path / "s")
    before = snapshot(tmp_path)
    env = dict(child_env(), SMTQL_ENGINE="api")
    proc = subprocess.run([sys.executable, "-m", "smtql", "--store", built.uri, "count all"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert f"Sumatra {generation}'s schema" in proc.stderr and "migrates" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(tmp_path) == before  # no django_migrations table, no byte changed
