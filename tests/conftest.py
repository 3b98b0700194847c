"""Shared fixtures.

Keep this file small and generic. The demo project is built once per test
session, in a subprocess (Sumatra's Django store keeps tags right only as a
process's first database, DESIGN.md): tests that open a Django store in the
pytest process itself should open *this* one (through ``demo_connection``),
and open any other store in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from support.scripts import PLAIN

DEMO_RECORDS = 120

# The parameter index lives in the user's cache directory; the tests keep
# theirs (and their children's) in a directory of their own.
if not os.environ.get("SMTQL_INDEX_DIR"):
    import tempfile
    os.environ["SMTQL_INDEX_DIR"] = tempfile.mkdtemp(prefix="smtql-test-index-")
DEMO_SEED = 1

# pytest-xdist's workers set COLUMNS=80; the command lines the tests start
# must draw at the width a pipe gets, whichever way the suite runs.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


def child_env() -> dict:
    """The environment for child processes: this checkout first on the path,
    no Django settings inherited."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory) -> Path:
    """A real Sumatra project (git repository, `smt init`, 120 synthetic
    records saved with Sumatra's own RecordStore.save), built once."""
    directory = tmp_path_factory.mktemp("demo") / "project"
    proc = subprocess.run(
        [sys.executable, "-m", "smtql.demo", "build", str(directory), "--records", str(DEMO_RECORDS),
         "--seed", str(DEMO_SEED), "--no-runs", "--quiet"],
        env=child_env(), capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"building the demo project failed:\n{proc.stderr}{proc.stdout}")
    return directory.resolve()


@pytest.fixture(scope="session")
def demo_connection(demo_project):
    """`smtql.connect(demo_project)`, opened once in this process."""
    import smtql
    conn = smtql.connect(demo_project)
    yield conn
    conn.close()


# Loads the records with Sumatra's own API and prints them as JSON.
_REFERENCE_SCRIPT = PLAIN + textwrap.dedent("""\
    import datetime, json, sys
    from sumatra.projects import load_project
    project = load_project(sys.argv[1])
    out = []
    for r in project.record_store.list(project.name):
        ts = r.timestamp
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=datetime.timezone.utc)
        out.append({
            "label": r.label, "timestamp": ts.astimezone(datetime.timezone.utc).isoformat(),
            "tags": sorted(r.tags), "reason": r.reason, "outcome": r.outcome,
            "main_file": r.main_file, "duration": r.duration, "user": r.user,
            "outputpath": [k.path for k in r.output_data], "params": plain(r.parameters),
        })
    json.dump(out, sys.stdout)
""")


@pytest.fixture(scope="session")
def demo_reference(demo_project) -> list[dict]:
    """The demo's records as Sumatra's own API reads them (in a subprocess),
    as plain data: label, timestamp (an aware UTC datetime), tags (a set),
    reason, outcome, main_file, duration, user, outputpath and params (JSON:
    tuples read as lists, dates as ISO text). An oracle independent of smtql."""
    proc = subprocess.run([sys.executable, "-c", _REFERENCE_SCRIPT, str(demo_project)],
                          env=child_env(), capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"reading the demo with Sumatra failed:\n{proc.stderr}")
    records = json.loads(proc.stdout)
    for r in records:
        r["timestamp"] = datetime.fromisoformat(r["timestamp"]).astimezone(timezone.utc)
        r["tags"] = set(r["tags"])
    return records


# ------------------------------------------------------------------ reading the reference by hand

ABSENT = object()  # a parameter the record does not have


def param_of(params, path):
    """A parameter of a `demo_reference` record as LANGUAGE.md §3 reads it,
    written out independently of smtql: dict keys (a number also as text),
    list indices, and smttask task folding. ABSENT when there is none."""
    node = params
    for seg in path:
        while True:
            if isinstance(node, dict):
                if seg in node:
                    node = node[seg]
                    break
                if isinstance(seg, int) and str(seg) in node:
                    node = node[str(seg)]
                    break
                if "taskname" in node and isinstance(node.get("inputs"), dict):
                    node = node["inputs"]
                    continue
                return ABSENT
            if isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
                node = node[seg]
                break
            return ABSENT
    return node


def newest_first(records) -> list:
    """Records in smtql's default order: newest first, ties by label."""
    by_label = sorted(records, key=lambda r: r["label"])
    return sorted(by_label, key=lambda r: r["timestamp"], reverse=True)
