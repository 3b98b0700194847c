"""Sumatra's own status words (LANGUAGE.md §2): `smt run` of a script that
exits non-zero leaves `_failed_`, and `status failed` / `tag failed` find it;
`pre_run` is a status word too; a status word no record carries says so
without suggesting itself (issue 11, item 4)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smtql.language import fields
from smtql.language.parser import parse
from support.generations import build_store, quirky_records
from support.store_support import child_env

SCRIPT_FAILS = "import sys\nprint('bad input')\nsys.exit(2)\n"


def _run(argv, cwd, **kw):
    return subprocess.run(argv, cwd=cwd, env=child_env(), capture_output=True, text=True,
                          timeout=180, **kw)


def _smtql(*argv, cwd=None):
    return _run([sys.executable, "-m", "smtql", *argv], cwd)


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """A git project made with `smt init`, and one real `smt run` of a
    script that exits 2: (project directory, the run's label)."""
    from smtql.demo.build import _SMT_BOOT
    project = tmp_path_factory.mktemp("status") / "p"
    project.mkdir()
    (project / "fail.py").write_text(SCRIPT_FAILS)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for argv in (git + ["init", "-q"], git + ["add", "fail.py"], git + ["commit", "-qm", "x"]):
        assert _run(argv, project).returncode == 0
    smt = [sys.executable, "-c", _SMT_BOOT]
    init = _run(smt + ["init", "-e", "python", "-m", "fail.py", "-s",
                       str(project / ".smt" / "records"), "failing"], project)
    assert init.returncode == 0, init.stderr
    run = _run(smt + ["run", "-l", "bad-run", "-r", "a script that exits 2"], project)
    assert "Record label for this run: 'bad-run'" in run.stdout, run.stdout + run.stderr
    return project, "bad-run"


def test_status_failed_finds_a_failing_smt_run(failed_run):
    project, label = failed_run
    for program in ("status failed", "tag failed", "tags contains '_failed_'"):
        proc = _smtql("-C", str(project), "--format", "labels", program)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == [label], program
    proc = _smtql("-C", str(project), "--format", "json", "count status finished")
    assert json.loads(proc.stdout) == {"count": 0}


@pytest.mark.parametrize("word", ["initialized", "pre_run", "running", "finished", "failed",
                                  "killed", "crashed"])
def test_every_status_word_parses(word):
    assert word in fields.STATUS_WORDS
    parse(f"status {word}")
    parse(f"tag {word}")


def test_a_status_word_no_record_has_does_not_suggest_itself(tmp_path):
    store = build_store("0.5", "sqlite", quirky_records(), target=tmp_path)
    proc = _smtql("--store", store.uri, "count tag finished")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"
    assert "closest: finished" not in proc.stderr
    assert "no status tags at all" in proc.stderr
