"""Finding the store as a user expects (issue 11, item 6): a shelve written
by Python's fallback `dbm.dumb` (files NAME.dat, NAME.dir, NAME.bak) named
as NAME or NAME.dat; an empty store (no project row) answers 0; a project
cloned from another machine, whose `.smt/project` names a path of that
machine, reads the `.smt/records` beside its `.smt/project`, with a note."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.generations import GENERATIONS, build_store, quirky_records
from support.store_support import child_env

DUMB_RECORDS = 4


def smtql(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "smtql", *argv], cwd=cwd, env=child_env(),
                          capture_output=True, text=True, timeout=180)


def digests(directory: Path) -> dict:
    return {str(p.relative_to(directory)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


# A demo project whose shelve store is written with dbm.dumb: the other dbm
# modules made unimportable before anything opens a shelf.
_DUMB_BUILD = textwrap.dedent("""\
    import runpy, sys
    sys.modules["dbm.gnu"] = None
    sys.modules["dbm.ndbm"] = None
    sys.argv = ["smtql.demo"] + sys.argv[1:]
    runpy.run_module("smtql.demo", run_name="__main__")
""")


@pytest.fixture(scope="module")
def dumb_shelf(tmp_path_factory):
    base = tmp_path_factory.mktemp("dumb")
    shelf = base / "records.shelf"
    proc = subprocess.run([sys.executable, "-c", _DUMB_BUILD, "build", str(base / "project"),
                           "--records", str(DUMB_RECORDS), "--no-runs", "--quiet",
                           "--store", str(shelf)], env=child_env(), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert {p.name for p in base.glob("records.shelf*")} >= {"records.shelf.dat",
                                                             "records.shelf.dir"}
    assert not shelf.exists()
    return shelf


@pytest.mark.parametrize("named", ["records.shelf", "records.shelf.dat"])
def test_a_dbm_dumb_shelve_by_its_name_or_its_data_file(dumb_shelf, named):
    before = digests(dumb_shelf.parent)
    proc = smtql("--store", str(dumb_shelf.parent / named), "--format", "json", "count all")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"count": DUMB_RECORDS}
    assert digests(dumb_shelf.parent) == before


def test_a_write_to_a_dbm_dumb_shelve_reads_back(dumb_shelf, tmp_path):
    """After a write the store is read again (opened read-only): the change shows."""
    for f in dumb_shelf.parent.glob("records.shelf.*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    shelf = str(tmp_path / "records.shelf")
    proc = smtql("--store", shelf, "--yes", "tag checked where all; count tag checked")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(DUMB_RECORDS)
    proc = smtql("--store", shelf, "--format", "json", "count tag checked")
    assert json.loads(proc.stdout) == {"count": DUMB_RECORDS}


def test_a_missing_shelve_is_no_such_file(tmp_path):
    proc = smtql("--store", str(tmp_path / "records.shelf"), "count all")
    assert proc.returncode == 3 and "no such file" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("generation", GENERATIONS)
def test_an_empty_store_holds_no_records(generation, tmp_path):
    store = build_store(generation, "sqlite", [], target=tmp_path)
    for program, want in (("count all", "0"), ("find all", "")):
        proc = smtql("--store", store.uri, "--format", "labels", program)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == want
    proc = smtql("--store", store.uri, "--format", "json", "keys all")
    assert proc.returncode == 0 and json.loads(proc.stdout) == []


def _cloned(tmp_path, generation="0.7-0.8dev", copy_store=True):
    """A project directory as a clone has it: `.smt/project` naming the
    author's absolute path, the store (if `copy_store`) at `.smt/records`."""
    built = build_store(generation, "sqlite", quirky_records(), target=tmp_path / "built")
    project = tmp_path / "clone"
    (project / ".smt").mkdir(parents=True)
    (project / ".smt" / "project").write_text(json.dumps({
        "name": "quirks",
        "record_store": {"type": "sumatra.recordstore.django_store.DjangoRecordStore",
                         "db_file": "/Users/ada/projects/quirks/.smt/records"},
        "data_store": {"type": "sumatra.datastore.filesystem.FileSystemDataStore",
                       "root": "/Users/ada/projects/quirks/Data"}}))
    if copy_store:
        (project / ".smt" / "records").write_bytes(built.path.read_bytes())
    return project


def test_a_cloned_project_reads_the_store_beside_its_project_file(tmp_path):
    project = _cloned(tmp_path)
    proc = smtql("-C", str(project), "--format", "json", "count all")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"count": 7}
    assert "note: the project names its record store /Users/ada/projects/quirks/.smt/records, " \
           "which does not exist here" in proc.stderr
    assert str(project / ".smt" / "records") in proc.stderr
    proc = smtql("--format", "labels", "tag smttask", cwd=project)  # found from the directory
    assert proc.returncode == 0 and proc.stdout.split() == ["smttask-nt", "smttask-json"]


def test_a_cloned_project_without_its_store_says_what_is_missing(tmp_path):
    project = _cloned(tmp_path, copy_store=False)
    proc = smtql("-C", str(project), "count all")
    assert proc.returncode == 3
    assert "/Users/ada/projects/quirks/.smt/records, which does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
