r"""Every example in docs/*.md and the README runs against the demo project.

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
``output``
    Right after a ``smtql`` block (blank lines between, nothing else): what
    ``smtql 'PROGRAM'`` prints for it in ``examples/demo`` (with its
    ``--set``\ s, ``--dry-run`` for a ``dry-run`` block). Such a block runs
    on the real demo only, and must exit 1 if marked ``error=``, else 0.
``console`` (``console exit=N``)
    Each line ``$ smtql ...`` (a trailing backslash continues it) is run by
    smtql's command line and must exit 0 (N). ``$ cd DIR`` changes the
    directory of the block's later commands. The lines after a command, up
    to the next ``$``, are its output.

In shown output a line ``…`` alone stands for lines left out: the lines
before and after it must be the real output's first and last lines.
``python``
    Executed; the python blocks of one document share a namespace, in order.
``ipython``
    Run as IPython cells (``%load_ext smtql``, ``%smtql …``), in one
    in-process IPython shell, in order; each must succeed.
anything else (``text``, ``sh``, no language)
    Not run.

Every output shown (``output`` blocks, console output) is compared with
what the real demo prints: the one ``smtql demo`` builds (2500 records and
two real ``smt run``\ s), built once per session by running ``smtql demo``
itself, its commands run in one child process (the command line called in
it) at 80 columns, as a user's terminal shows them: notes and errors in
place. Two things are masked: the lines about the two real runs (their
labels and timestamps carry the day the demo was built) and the scratch
directory (``/…``). ``SMTQL_UPDATE_DOCS=1`` rewrites the shown outputs
from the real ones (then read the diff); an empty ``output`` block is filled.

The other examples (smtql, python, ipython blocks) run in this process, in
a scratch directory where ``examples/demo`` is the demo project of
conftest's ``demo_project`` fixture (its ``.smt/project`` points at the demo
fixture's store, so the process opens one Django store only).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import smtql
import smtql.errors
from smtql.language import parser
from smtql.language.ast import Export, TagWrite, Undo
from smtql.frontends.options import parse_sets
from conftest import child_env
from support.scripts import CLI_RUNS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
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
    first: int = 0  # index of the body's first line in the document
    output: "Shown | None" = None  # an `output` block right after it


    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass
class Shown:
    """Output shown in a document: its text and the lines it fills there
    (``first`` to ``end``, end excluded), so that it can be rewritten."""

    doc: str
    first: int
    end: int
    text: str


_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")


def extract(path: Path) -> list[Example]:
    examples, lines, i = [], path.read_text(encoding="utf-8").splitlines(), 0
    last_end = None  # the line after the last runnable block's closing fence
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
        if words[:1] == ["output"]:
            adjacent = last_end is not None and not any(l.strip() for l in lines[last_end:start - 1])
            assert adjacent and examples[-1].lang == "smtql", (
                f"{path.name}:{start}: an output block must follow a smtql block")
            examples[-1].output = Shown(path.name, start, i - 1,
                                        "\n".join(body) + "\n" if body else "")
        if not words or words[0] not in RUN_LANGS:
            last_end = None
            continue
        last_end = i
        ex = Example(path.name, start, words[0], body="\n".join(body) + "\n", first=start)
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if key == "set":
                ex.sets.append(value)
            else:
                ex.attrs[key] = value if sep else True
        examples.append(ex)
    return examples


def documents() -> list[Path]:
    return sorted(DOCS.glob("*.md")) + [README]


def all_examples() -> list[Example]:
    return [ex for path in documents() for ex in extract(path)]


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

@pytest.mark.parametrize("ex", [p for p in by_lang("smtql") if p.values[0].output is None])
def test_smtql_example(ex: Example, conn):
    """A block without shown output runs here; one with it runs on the real
    demo (test_shown_output)."""
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
    code = compile("\n" * (ex.line) + ex.body, str(doc_path(ex.doc)), "exec")
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
    argv: list  # smtql's arguments
    cwd: Path
    text: str
    output: Shown | None = None  # the lines shown after it, if any


def console_commands(ex: Example, workdir: Path) -> list[Command]:
    """The block's `$ smtql` commands, each with the output shown after it."""
    commands, cwd, pending = [], workdir, None
    lines = ex.body.splitlines()
    for n, raw in enumerate(lines):
        line = raw.rstrip()
        if pending is not None:
            pending += " " + line.rstrip("\\").strip()
            if not line.endswith("\\"):
                commands.append((pending, n + 1))
                pending = None
            continue
        if not line.startswith("$ "):
            continue
        text = line[2:].strip()
        if text.endswith("\\"):
            pending = text.rstrip("\\").strip()
        else:
            commands.append((text, n + 1))
    out = []
    for text, after in commands:
        words = shlex.split(text, comments=True)
        if words[0] == "cd":
            cwd = (cwd / words[1]).resolve()
            continue
        assert words[0] == "smtql", f"{ex.id}: console examples run smtql only, not {text!r}"
        end = next((k for k in range(after, len(lines)) if lines[k].startswith("$ ")), len(lines))
        shown = None
        if end > after:
            shown = Shown(ex.doc, ex.first + after, ex.first + end,
                          "\n".join(lines[after:end]) + "\n")
        out.append(Command(ex, words[1:], cwd, text, shown))
    return out


def smtql_command(ex: Example, cwd: Path) -> Command:
    """What a `smtql` block with an output block is at the shell."""
    argv = [w for s in ex.sets for w in ("--set", s)]
    argv += ["--dry-run"] if "dry-run" in ex.attrs else []
    return Command(ex, argv + [ex.body.strip()], cwd, f"smtql '{ex.body.strip()}'", ex.output)


def doc_path(name: str) -> Path:
    return README if name == README.name else DOCS / name


# ------------------------------------------------------------------ the real demo, its outputs

UPDATE = bool(os.environ.get("SMTQL_UPDATE_DOCS"))  # rewrite the shown outputs, compare nothing
WIDTH = "80"  # the terminal the shown outputs are drawn for
# The real runs are the only records dated after the synthetic ones.
_REAL_RUN = re.compile(r"\b20(2[2-9]|[3-9]\d)(\d\d\d\d-\d{6}\b|-\d\d-\d\d[ T]\d\d:\d\d)")
_REAL_RUN_LINE = "<a line about one of the real smt runs: masked>"
# The real runs import yaml, and Sumatra records the version installed where
# the demo was built (a new virtual environment has the newest): the
# version, and the blanks that pad it to its column, compare as one word.
_YAML_VERSION = re.compile(r"\byaml \d+(?:\.\d+)+\S* *")
_YAML_MASKED = "yaml <the installed version> "


def masked(text: str, workdir: Path) -> str:
    """Output as it compares: the scratch directory as `/…`, a line naming
    a real run (its label or timestamp: the day the demo was built) as a
    placeholder, the version of yaml the real runs recorded as another,
    trailing spaces dropped."""
    text = _YAML_VERSION.sub(_YAML_MASKED, text.replace(str(workdir), "/…"))
    return "".join(_REAL_RUN_LINE + "\n" if _REAL_RUN.search(line) else line.rstrip() + "\n"
                   for line in text.splitlines())


@pytest.fixture(scope="session")
def demo_dir(real_demo):
    """The real demo (conftest's `real_demo`, started early), with the
    repository's saved programs and every `file=` example beside it."""
    work, proc = real_demo
    assert proc.returncode == 0, proc.stderr
    for program in (ROOT / "examples").glob("*.smtql"):  # as in a checkout
        shutil.copy(program, work / "examples" / program.name)
    for ex in EXAMPLES:
        if ex.lang == "smtql" and "file" in ex.attrs:
            target = work / "examples" / "demo" / ex.attrs["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(ex.body, encoding="utf-8")
    return work


@pytest.fixture(scope="session")
def shown_runs(demo_dir):
    """Every command whose output the docs show, and every console command,
    run in document order by smtql's command line, in one child process on
    the real demo: {example id: [(command, exit status, output)]}. With
    SMTQL_UPDATE_DOCS=1 the documents' outputs are rewritten from these."""
    work = demo_dir
    commands = []
    for ex in EXAMPLES:
        if ex.lang == "console":
            commands += console_commands(ex, work)
        elif ex.lang == "smtql" and ex.output is not None:
            commands.append(smtql_command(ex, work / "examples" / "demo"))
    jobs = [{"argv": c.argv, "cwd": str(c.cwd), "seen": True} for c in commands]
    env = child_env()
    env["COLUMNS"], env["LINES"] = WIDTH, "24"
    proc = subprocess.run([sys.executable, "-c", CLI_RUNS, json.dumps(jobs)], cwd=work, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=CLI_TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    runs: dict[str, list] = {}
    for command, result in zip(commands, json.loads(proc.stdout)):
        runs.setdefault(command.example.id, []).append((command, result["rc"], result["out"]))
    if UPDATE:
        _rewrite([(c.output, out) for c_runs in runs.values() for c, _, out in c_runs
                  if c.output is not None], work)
    return work, runs


ELISION = "…"  # a line of its own in shown output: lines left out here


def shown_as(shown: str, real: str) -> str:
    """The real output as the document shows it: whole, or, where the
    shown output has a line `…`, with as many lines before and after it as
    the document shows and `…` for the rest."""
    lines = shown.splitlines()
    if ELISION not in lines:
        return real
    i = lines.index(ELISION)
    head, tail = i, len(lines) - i - 1
    real_lines = real.splitlines()
    if len(real_lines) <= head + tail:
        return real
    kept = real_lines[:head] + [ELISION] + (real_lines[-tail:] if tail else [])
    return "\n".join(kept) + "\n"


def _rewrite(shown: list, work: Path) -> None:
    """Each document with its shown outputs replaced by the real ones (the
    scratch directory as `/…`), from the bottom up so line numbers hold."""
    by_doc: dict[str, list] = {}
    for place, out in shown:
        by_doc.setdefault(place.doc, []).append((place, shown_as(place.text,
                                                                  out.replace(str(work), "/…"))))
    for doc, places in by_doc.items():
        path = doc_path(doc)
        lines = path.read_text(encoding="utf-8").splitlines()
        for place, out in sorted(places, key=lambda p: -p[0].first):
            lines[place.first:place.end] = [l.rstrip() for l in out.splitlines()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("ex", by_lang("console"))
def test_console_example(ex: Example, shown_runs):
    work, runs = shown_runs
    assert runs.get(ex.id), f"{ex.id}: a console example with no `$ smtql` command"
    expected = int(ex.attrs.get("exit", 0))
    for cmd, status, out in runs[ex.id]:
        assert status == expected, f"{cmd.text}\nexited {status}, expected {expected}\n{out}"
        assert "Traceback" not in out, out
        if cmd.output is not None and not UPDATE:
            assert shown_as(cmd.output.text, masked(out, work)) == masked(cmd.output.text, work), \
                _where(cmd)


@pytest.mark.parametrize("ex", [p for p in by_lang("smtql") if p.values[0].output is not None])
def test_shown_output(ex: Example, shown_runs):
    """The output shown under a smtql block is what the demo prints for it."""
    work, runs = shown_runs
    [(cmd, status, out)] = runs[ex.id]
    assert "Traceback" not in out, out
    assert status == (1 if "error" in ex.attrs else 0), out
    assert "note" not in ex.attrs or any(
        line.startswith("note: ") and ex.attrs["note"] in line for line in out.splitlines()), out
    if not UPDATE:
        assert shown_as(cmd.output.text, masked(out, work)) == masked(cmd.output.text, work), \
            _where(cmd)


def _where(cmd: Command) -> str:
    return (f"{cmd.output.doc}:{cmd.output.first}: the output shown for `{cmd.text}` is not what "
            "the demo prints (SMTQL_UPDATE_DOCS=1 rewrites it; read the diff)")


def test_demo_shows_its_progress_as_a_few_lines_in_a_pipe(real_demo):
    """Issue 12, item 5: `smtql demo` says what it is doing while it builds;
    through a pipe a line per step (no line rewritten in place, no count of
    records saved so far), and the tour on stdout."""
    _, proc = real_demo
    steps = proc.stderr.splitlines()
    assert 4 <= len(steps) <= 10, proc.stderr
    assert any("smt init" in s for s in steps) and any("records saved" in s for s in steps)
    assert "\r" not in proc.stderr and "saving records:" not in proc.stderr
    assert proc.stdout.startswith("Building the demo project in examples/demo …")
    assert "── How many records, and how many finished?" in proc.stdout


# ------------------------------------------------------------------ the convention itself

def test_docs_have_examples():
    kinds = {ex.lang for ex in EXAMPLES}
    assert {"smtql", "console", "python"} <= kinds, kinds
    assert len(EXAMPLES) > 50
    assert sum(ex.output is not None for ex in EXAMPLES) >= 5


def test_masking_hides_the_real_runs_only():
    work = Path("/scratch/x")
    real = "20261203-065245         _finished_, figure1   real run: tr…              0.583 s"
    synthetic = "20210930-133129_c564bb  _finished_, figure1   check whethe…  converged    5.79 s"
    assert masked(f"{real}\n{synthetic}\n/scratch/x/examples\n", work) == \
        f"{_REAL_RUN_LINE}\n{synthetic}\n/…/examples\n"
    assert masked("2026-12-03 06:52:45\n", work) == _REAL_RUN_LINE + "\n"
    assert masked("2021-09-30 13:31:29\n", work) == "2021-09-30 13:31:29\n"


def test_masking_hides_the_version_of_yaml_the_real_runs_recorded():
    work = Path("/scratch/x")
    shown = "dependencies                      yaml 6.0.3              (none)\n"
    for real in ("dependencies                      yaml 6.0.4              (none)\n",
                 "dependencies                      yaml 6.0.10             (none)\n"):
        assert masked(real, work) == masked(shown, work)
    assert masked("dependencies   yaml 6.0.3   numpy 1.26.4\n", work) == \
        "dependencies   yaml <the installed version> numpy 1.26.4\n"
    assert masked(shown.replace("(none)", "yaml 6.0.3"), work) != masked(shown, work)


def test_an_elision_keeps_the_first_and_last_lines_shown():
    real = "a\nb\nc\nd\ne\n"
    assert shown_as("a\n…\ne\n", real) == "a\n…\ne\n"
    assert shown_as("a\nb\n…\n", real) == "a\nb\n…\n"
    assert shown_as("x\n…\n", real) == "a\n…\n"  # the first line differs: seen as such
    assert shown_as("a\nb\n", real) == real  # no elision: all of it
