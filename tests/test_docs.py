"""Every example in docs/*.md runs against the demo project.

The convention, by the info string of a fenced code block (words after the
language are attributes, split like a shell line: ``key=value`` or a bare
flag):

``smtql``
    A program. It parses and runs in-process against the demo store
    (``smtql.connect(project).run(...)``) without error.
``smtql dry-run``
    Runs as a dry run (``conn.run(..., dry_run=True)``): writes (``tag``,
    ``untag``, ``undo``) and ``export ... to "PATH"`` show what they would
    do and change nothing, so the shared demo store is never written. A
    plain ``smtql`` block holding a write (or an ``export ... to``) fails:
    mark it ``dry-run``.
``smtql error=NAME``
    Parsing or running raises ``smtql.errors.NAME`` (``QuerySyntaxError``,
    ``QueryError``, ...).
``smtql note="TEXT"``
    Runs, and some statement's notes contain TEXT.
``smtql known-bug="WHAT"``
    An example that shows a bug in smtql (reported, not fixed yet): it must
    still fail (the test is an expected failure); once it runs, the test
    fails until the marker is removed.
``smtql set=NAME=VALUE``
    Runs with ``$NAME`` set from outside, read as ``--set NAME=VALUE`` reads
    it (repeatable).
``smtql file=PATH``
    Also saved as ``examples/demo/PATH`` before any example runs, so console
    and Python examples can use it.
``console`` (``console exit=N``)
    Each line ``$ smtql ...`` (a trailing backslash continues it) runs as a
    real ``smtql`` subprocess and must exit 0 (N). ``$ cd DIR`` changes the
    directory of the block's later commands. Other lines are sample output
    and are not compared: the sample output comes from the full demo that
    ``smtql demo`` builds, the tests use a small one.
``python``
    Executed; the python blocks of one document share a namespace, in order.
``ipython``
    Run as IPython cells (``%load_ext smtql``, ``%smtql …``), in one
    in-process IPython shell, in order; each must succeed.
anything else (``text``, ``sh``, no language)
    Not run.

Every example runs in a scratch directory where ``examples/demo`` is the
demo project of conftest's ``demo_project`` fixture (its ``.smt/project`` points at the demo fixture's store, so
the process opens one Django store only), as after ``smtql demo``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import smtql
import smtql.errors
from smtql.language import parser
from smtql.language.ast import Export, TagWrite, Undo
from smtql.frontends.options import parse_sets

DOCS = Path(__file__).resolve().parent.parent / "docs"
WRITE_STATEMENTS = (TagWrite, Undo)
RUN_LANGS = {"smtql", "console", "python", "ipython"}
CLI_TIMEOUT = 120


# ------------------------------------------------------------------ extraction

@dataclass
class Example:
    doc: str
    line: int  # of the opening fence
    lang: str
    attrs: dict = field(default_factory=dict)
    sets: list = field(default_factory=list)
    body: str = ""

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def extract(path: Path) -> list[Example]:
    examples, lines, i = [], path.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.groups()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1  # the closing fence
        words = shlex.split(info.strip()) if info.strip() else []
        if not words or words[0] not in RUN_LANGS:
            continue
        ex = Example(path.name, start, words[0], body="\n".join(body) + "\n")
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if key == "set":
                ex.sets.append(value)
            else:
                ex.attrs[key] = value if sep else True
        examples.append(ex)
    return examples


def all_examples() -> list[Example]:
    return [ex for path in sorted(DOCS.glob("*.md")) for ex in extract(path)]


EXAMPLES = all_examples()


def by_lang(*langs) -> list:
    return [pytest.param(ex, id=ex.id) for ex in EXAMPLES if ex.lang in langs]


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="session")
def workdir(demo_project, tmp_path_factory) -> Path:
    """A scratch directory holding examples/demo: the demo project's
    `.smt/project` with its store path made absolute, plus every `file=`
    example."""
    work = tmp_path_factory.mktemp("docs-work")
    demo = work / "examples" / "demo"
    (demo / ".smt").mkdir(parents=True)
    source = Path(demo_project)
    info = json.loads((source / ".smt" / "project").read_text(encoding="utf-8"))
    store = info["record_store"]
    for key in ("db_file", "shelf_name"):
        if store.get(key) and "://" not in store[key]:
            store[key] = str((source / store[key]).resolve())
    (demo / ".smt" / "project").write_text(json.dumps(info, indent=2), encoding="utf-8")
    for ex in EXAMPLES:
        if ex.lang == "smtql" and "file" in ex.attrs:
            target = demo / ex.attrs["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(ex.body, encoding="utf-8")
    return work


@pytest.fixture(scope="session")
def conn(workdir):
    return smtql.connect(workdir / "examples" / "demo")


# ------------------------------------------------------------------ smtql blocks

@pytest.mark.parametrize("ex", by_lang("smtql"))
def test_smtql_example(ex: Example, conn):
    if "known-bug" in ex.attrs:
        try:
            for r in conn.run(ex.body, **parse_sets(ex.sets)):
                r.render("table")
        except Exception as err:  # the bug reported to the lead, still there
            pytest.xfail(f"known bug: {ex.attrs['known-bug']} ({type(err).__name__}: {err})")
        pytest.fail(f"{ex.id} runs now: remove its known-bug marker")
    if "error" in ex.attrs:
        cls = getattr(smtql.errors, ex.attrs["error"])
        with pytest.raises(cls):
            conn.run(ex.body, **parse_sets(ex.sets))
        return
    program = parser.parse(ex.body)  # every example parses, whatever it does next
    dry_run = "dry-run" in ex.attrs
    writes = [s for s in program.statements if _writes(s)]
    assert dry_run or not writes, f"{ex.id} writes: mark it `smtql dry-run`"
    results = conn.run(ex.body, dry_run=dry_run, **parse_sets(ex.sets))
    assert results or not program.statements
    for r in results:
        r.render("table")  # rendering is part of running
    if "note" in ex.attrs:
        notes = [n for r in results for n in r.notes]
        assert any(ex.attrs["note"] in n for n in notes), notes


def _writes(stmt) -> bool:
    """A statement that would change the store or write a file (`explain
    tag …` only plans)."""
    return isinstance(stmt, WRITE_STATEMENTS) or (isinstance(stmt, Export)
                                                  and stmt.path is not None)


# ------------------------------------------------------------------ python blocks

_NAMESPACES: dict[str, dict] = {}


@pytest.mark.parametrize("ex", by_lang("python"))
def test_python_example(ex: Example, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    namespace = _NAMESPACES.setdefault(ex.doc, {"__name__": f"docs_{ex.doc}"})
    code = compile("\n" * (ex.line) + ex.body, str(DOCS / ex.doc), "exec")
    exec(code, namespace)


@pytest.mark.parametrize("ex", by_lang("ipython"))
def test_ipython_example(ex: Example, workdir, monkeypatch):
    shell_mod = pytest.importorskip("IPython.core.interactiveshell")
    monkeypatch.chdir(workdir)
    shell = shell_mod.InteractiveShell.instance()
    result = shell.run_cell(ex.body, silent=True)
    assert result.success, f"{ex.id}: {result.error_before_exec or result.error_in_exec!r}"


# ------------------------------------------------------------------ console blocks

@dataclass
class Command:
    example: Example
    argv: list
    cwd: Path
    text: str


def console_commands(ex: Example, workdir: Path) -> list[Command]:
    commands, cwd, pending = [], workdir, None
    for raw in ex.body.splitlines():
        line = raw.rstrip()
        if pending is not None:
            pending += " " + line.rstrip("\\").strip()
            if not line.endswith("\\"):
                commands.append(pending)
                pending = None
            continue
        if not line.startswith("$ "):
            continue
        text = line[2:].strip()
        if text.endswith("\\"):
            pending = text.rstrip("\\").strip()
        else:
            commands.append(text)
    out = []
    for text in commands:
        words = shlex.split(text)
        if words[0] == "cd":
            cwd = (cwd / words[1]).resolve()
            continue
        assert words[0] == "smtql", f"{ex.id}: console examples run smtql only, not {text!r}"
        out.append(Command(ex, _smtql_argv() + words[1:], cwd, text))
    return out


def _smtql_argv() -> list:
    exe = shutil.which("smtql")
    return [exe] if exe else [sys.executable, "-m", "smtql"]


@pytest.fixture(scope="session")
def console_runs(workdir):
    """Every console command started at once (each is a fresh Python, a few
    seconds to start): {example id: [(command, CompletedProcess-like)]}."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    started = []
    for ex in EXAMPLES:
        if ex.lang != "console":
            continue
        for cmd in console_commands(ex, workdir):
            proc = subprocess.Popen(cmd.argv, cwd=cmd.cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            started.append((cmd, proc))
    runs: dict[str, list] = {}
    deadline = time.monotonic() + CLI_TIMEOUT
    for cmd, proc in started:
        try:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        runs.setdefault(cmd.example.id, []).append((cmd, proc.returncode, out, err))
    return runs


@pytest.mark.parametrize("ex", by_lang("console"))
def test_console_example(ex: Example, console_runs):
    runs = console_runs.get(ex.id, [])
    assert runs, f"{ex.id}: a console example with no `$ smtql` command"
    expected = int(ex.attrs.get("exit", 0))
    for cmd, status, out, err in runs:
        assert status == expected, (f"{cmd.text}\nexited {status}, expected {expected}\n"
                                    f"stdout:\n{out}\nstderr:\n{err}")
        assert "Traceback" not in err, err


# ------------------------------------------------------------------ the convention itself

def test_docs_have_examples():
    kinds = {ex.lang for ex in EXAMPLES}
    assert {"smtql", "console", "python"} <= kinds, kinds
    assert len(EXAMPLES) > 50


def test_console_examples_are_few():
    """CLI examples start a Python each: keep the suite fast."""
    n = sum(len(console_commands(ex, Path("."))) for ex in EXAMPLES if ex.lang == "console")
    assert n <= 12, n
