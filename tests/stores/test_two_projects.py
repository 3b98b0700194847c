"""A store holding two projects: every answer is the asked project's only,
whether the SQL store reads parameter sets with or without the project
join (it skips it when the store holds one project)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import child_env

QUERIES = ["count all", "count optimizer.lr = 0.01", 'count optimizer.model.kind = "gru"',
           "count not exists optimizer.lr", "count tag finished and optimizer.lr < 0.05"]


@pytest.fixture(scope="module")
def two_projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("two")
    store = root / "shared.sqlite"
    for name, seed in (("alpha", 4), ("beta", 5)):
        proc = subprocess.run(
            [sys.executable, "-m", "smtql.demo", "build", str(root / name), "--records", "40",
             "--seed", str(seed), "--no-runs", "--quiet", "--store", str(store),
             "--project", name],
            env=child_env(), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return store


def _answers(store, project, engine):
    env = dict(child_env(), SMTQL_ENGINE=engine)
    out = subprocess.run([sys.executable, "-m", "smtql", "--store", str(store), "--project",
                          project, "--format", "json", "; ".join(QUERIES)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # several answers in JSON: one document per line
    return [json.loads(line)["count"] for line in out.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("project", ["alpha", "beta"])
def test_each_project_answers_for_itself(two_projects, project):
    sql = _answers(two_projects, project, "sql")
    api = _answers(two_projects, project, "api")
    assert sql == api
    assert sql[0] == 40  # the other project's 40 records are not counted
