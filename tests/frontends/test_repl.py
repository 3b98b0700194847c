"""The REPL: driven in-process through prompt-toolkit's pipe input, through
a real pseudo-terminal (pexpect running `smtql repl`), and with standard
input that is not a terminal."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import time

import pytest

from smtql.frontends.cli import build_parser
from smtql.frontends.commands import COMMANDS
from smtql.frontends.repl import Repl, history_path, is_complete

from conftest import ABSENT, child_env, newest_first, param_of


@pytest.fixture(scope="module")
def counts(demo_connection):
    q = lambda program: demo_connection.query(program).count  # noqa: E731
    return {
        "all": q("count all"),
        "finished": q("count tag finished"),
        "finished_after": q("count tag finished and after 2020-09-12"),
        "good": q('count tag finished and outcome = "converged"'),
        "unfinished": q("count tag unfinished-review"),
    }


def make_repl(demo_project, *extra):
    args = build_parser().parse_intermixed_args(["repl", "-C", str(demo_project), *extra])
    repl = Repl(args, out=io.StringIO(), err=io.StringIO())
    repl.open()
    return repl


def drive(repl, *keys: str, history="memory", pause: float = 0.3) -> int:
    """Type `keys` at the prompt (in-process, no terminal); several pieces
    are typed one after the other with a pause between them, as a person
    would (completion runs in the background while typing). After a Tab,
    the next piece waits until the completion changed the line (at most
    10 s: a loaded machine completes later than a person types)."""
    import threading
    import time
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput
    with create_pipe_input() as inp:
        session = repl.session(input=inp, output=DummyOutput(),
                               history=InMemoryHistory() if history == "memory" else history)

        def line() -> str:
            return session.app.current_buffer.text

        inp.send_text(keys[0])

        def type_the_rest():
            for piece in keys[1:]:
                time.sleep(pause)
                before = line()
                inp.send_text(piece)
                deadline = time.monotonic() + 10
                while piece == "\t" and line() == before and time.monotonic() < deadline:
                    time.sleep(0.02)

        typist = threading.Thread(target=type_the_rest, daemon=True)
        typist.start()
        status = repl.interact(session)
        typist.join(10)
        return status


def out_lines(repl) -> list[str]:
    return repl.out.getvalue().splitlines()


# ------------------------------------------------------------------ when input is complete

@pytest.mark.parametrize("text, complete", [
    ("count all", True),
    ("tag finished and", False),
    ("tag finished and\nafter 2020-09-12", True),
    ("count tag finished and optimizer.lr", False),
    ("tag finished and optimizer.lr =", False),
    ("find tag a show", False),
    ("let good = tag finished", True),
    ("count tag finished and;", True),  # `;` runs it, and shows the mistake
    ("count all; aftr 2020", True),  # a mistake before the end is shown at once
    ('reason contains "open', True),  # strings do not span lines
    ("", True),
    ("\\help", True),
    ("-- only a comment", True),
    ("(tag a or tag b", False),
])
def test_is_complete(text, complete):
    assert is_complete(text) is complete


# ------------------------------------------------------------------ in-process sessions

def test_programs_run_and_let_persists(demo_project, counts):
    repl = make_repl(demo_project)
    status = drive(repl, "count tag finished\r"
                         'let good = tag finished and outcome = "converged"\r'
                         "count $good\r"
                         "\\vars\r"
                         "\x04")
    assert status == 0
    assert out_lines(repl) == [str(counts["finished"]), str(counts["good"]),
                               '$good = tag finished and outcome = "converged"']
    assert "good" in repl.variables


def test_multi_line_input_runs_when_complete(demo_project, counts):
    repl = make_repl(demo_project)
    drive(repl, "count tag finished and\r  after 2020-09-12\r\x04")
    assert out_lines(repl) == [str(counts["finished_after"])]


def test_semicolon_runs_and_several_statements_print_in_order(demo_project, counts):
    repl = make_repl(demo_project)
    drive(repl, "count all;\rcount all; count tag finished\r\x04")
    # one answer alone; two in one program, each under its statement
    assert out_lines(repl) == [str(counts["all"]), "-- count all", str(counts["all"]), "",
                               "-- count tag finished", str(counts["finished"])]


def test_a_mistake_prints_message_and_caret_and_the_repl_goes_on(demo_project, counts):
    repl = make_repl(demo_project)
    status = drive(repl, "count all; aftr 2020\rcount $nope\rcount all\r\x04")
    assert status == 0
    err = repl.err.getvalue()
    assert "line 1, column 17: unexpected '2020'" in err
    assert "  count all; aftr 2020\n" in err
    assert "                  ^^^^\n" in err
    assert "did you mean 'after' instead of 'aftr'?" in err
    assert "$nope is not set" in err
    assert "Traceback" not in err
    assert out_lines(repl) == [str(counts["all"])]


def test_ctrl_c_drops_the_input(demo_project, counts):
    repl = make_repl(demo_project)
    drive(repl, "count tag fin\x03count all\r\x04")
    assert out_lines(repl) == [str(counts["all"])]


def test_ctrl_c_cancels_a_running_query(demo_project, counts):
    repl = make_repl(demo_project)
    real = repl.store

    class Interrupted:
        def __getattr__(self, name):
            return getattr(real, name)

        def scan(self, plan):
            raise KeyboardInterrupt

        def count(self, plan):
            raise KeyboardInterrupt

    repl.store = Interrupted()
    repl.vocab.ready.wait(30)
    status = drive(repl, "count tag finished and seed > 0\r\x04")
    assert status == 0
    assert "cancelled" in repl.err.getvalue()
    repl.store = real
    drive(repl, "count all\r\x04")
    assert out_lines(repl) == [str(counts["all"])]


def test_tab_completes_from_the_store(demo_project, counts):
    repl = make_repl(demo_project)
    assert repl.vocab.ready.wait(30)
    drive(repl, "count tag unfin", "\t", "\r", "\r\x04")
    assert out_lines(repl) == [str(counts["unfinished"])]


def test_commands(demo_project, counts, demo_connection):
    repl = make_repl(demo_project)
    drive(repl, "\\format labels\r"
                "tag finished latest 2\r"
                "\\format\r"
                "\\format xml\r"
                "\\nope\r"
                "\\help\r"
                "\\store\r"
                "\\q\r"
                "count all\r")  # never read: \q left
    out = repl.out.getvalue()
    labels = demo_connection.query("tag finished latest 2").labels
    assert out.startswith("format: labels\n" + "\n".join(labels) + "\nformat: labels\n")
    assert "\\vars" in out and "\\store" in out  # the help lists the commands
    assert f"(project {repl.store.project})" in out
    err = repl.err.getvalue()
    assert "unknown format 'xml'" in err
    assert "unknown command \\nope" in err
    assert str(counts["all"]) not in out.splitlines()


def test_command_registry_is_one_table():
    names = {c.name for c in COMMANDS.values()}
    assert {"\\help", "\\format", "\\store", "\\vars", "\\run", "\\quit"} <= names
    assert COMMANDS["\\?"] is COMMANDS["\\help"]


def test_run_a_file_in_the_session(demo_project, counts, tmp_path):
    good = tmp_path / "good.smtql"
    good.write_text("-- a saved filter\nlet fin = tag finished;\ncount $fin\n")
    bad = tmp_path / "bad.smtql"
    bad.write_text("count all;\ncount tag finished and aftr 2020\n")
    repl = make_repl(demo_project)
    drive(repl, f"\\run {good}\rcount $fin and after 2020-09-12\r\\i {bad}\r\x04")
    assert out_lines(repl) == [str(counts["finished"]), str(counts["finished_after"])]
    assert f"{bad}:2:" in repl.err.getvalue()  # errors in files name file, line, column


def test_store_command_and_sets_from_the_command_line(demo_project, counts):
    repl = make_repl(demo_project, "--set", "n=2", "--format", "labels")
    drive(repl, f"\\store {demo_project}\rtag finished latest $n\r\\store /no/such/dir\r\x04")
    lines = out_lines(repl)
    assert lines[0].startswith("store: ")
    assert len(lines) == 3
    assert "no such" in repl.err.getvalue() or "no record store" in repl.err.getvalue()


def test_history_persists_in_a_file(demo_project, tmp_path, monkeypatch):
    from prompt_toolkit.history import FileHistory
    path = tmp_path / "data" / "history"
    monkeypatch.setenv("SMTQL_HISTORY", str(path))
    assert history_path() == path
    repl = make_repl(demo_project)
    drive(repl, "count all\r\x04", history=None)  # the session makes the file
    assert "count all" in list(FileHistory(str(path)).load_history_strings())
    # the next session suggests and recalls it: Up then Enter runs it again
    repl2 = make_repl(demo_project)
    drive(repl2, "\x1b[A", "\r\x04", history=None)
    assert out_lines(repl2) == out_lines(repl)


def test_history_default_is_the_user_data_dir(monkeypatch):
    monkeypatch.delenv("SMTQL_HISTORY", raising=False)
    path = history_path()
    assert path.name == "history" and "smtql" in str(path.parent)


# ------------------------------------------------------------------ processes

def smtql_command() -> list[str]:
    exe = shutil.which("smtql")
    return [exe] if exe else [sys.executable, "-m", "smtql"]


def test_standard_input_not_a_terminal(demo_project, counts):
    proc = subprocess.run(smtql_command() + ["repl", "-C", str(demo_project)],
                          input="count tag finished and\nafter 2020-09-12\n\\vars\naftr 2020\n"
                                "count all\n",
                          env=child_env(), capture_output=True, text=True, timeout=120)
    assert proc.stdout.splitlines()[0] == str(counts["finished_after"])
    assert proc.stdout.splitlines()[-1] == str(counts["all"])
    assert "unexpected" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.returncode == 1  # some input failed


def test_a_real_terminal(demo_project, counts, tmp_path):
    """`smtql repl -C DEMO` in a pseudo-terminal: type, read, leave."""
    pexpect = pytest.importorskip("pexpect")
    env = dict(child_env(), SMTQL_HISTORY=str(tmp_path / "history"), TERM="xterm",
               NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1")
    cmd = smtql_command() + ["repl", "-C", str(demo_project)]
    child = pexpect.spawn(cmd[0], cmd[1:], env=env, encoding="utf-8", timeout=60,
                          dimensions=(40, 160))
    try:
        child.expect("smtql>")
        child.send("count tag finished\r")
        child.expect(rf"(?<!\d){counts['finished']}\r")
        child.expect("smtql>")
        child.send("count tag finished and\r")  # not complete: a continuation line
        child.expect_exact("..>")
        child.send("after 2020-09-12\r")
        child.expect(rf"(?<!\d){counts['finished_after']}\r")
        child.expect("smtql>")
        child.send("count all; aftr 2020\r")
        child.expect_exact("^^^^")
        child.expect_exact("did you mean 'after' instead of 'aftr'?")
        child.expect("smtql>")
        child.send("count bogus input\x03")  # Ctrl-C drops it
        child.expect("smtql>")
        child.send("count all\r")
        child.expect(rf"(?<!\d){counts['all']}\r")
        child.expect("smtql>")
        child.send("\x04")  # Ctrl-D leaves
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    history = (tmp_path / "history").read_text()
    assert "count tag finished" in history and "bogus" not in history


def test_no_program_at_a_terminal_starts_the_repl(demo_project, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = dict(child_env(), SMTQL_HISTORY=str(tmp_path / "history"), TERM="xterm",
               NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1")
    cmd = smtql_command() + ["-C", str(demo_project)]
    child = pexpect.spawn(cmd[0], cmd[1:], env=env, encoding="utf-8", timeout=60)
    try:
        child.expect("smtql>")
        child.send("\\q\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_repl_without_a_store_exits_3(tmp_path):
    proc = subprocess.run(smtql_command() + ["repl", "-C", str(tmp_path)], input="",
                          env=child_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert "no Sumatra project" in proc.stderr


def test_repl_takes_no_program(demo_project):
    proc = subprocess.run(smtql_command() + ["repl", "-C", str(demo_project), "count all"],
                          input="", env=child_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2


def test_importing_smtql_loads_no_front_end_libraries():
    code = ("import sys, smtql, smtql.frontends.cli; "
            "print(sorted(m for m in ('prompt_toolkit', 'IPython', 'pygments', 'pandas') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr


# ------------------------------------------------------------------ commands at a terminal (issue 12)

# A $PAGER / $EDITOR for the tests: the pager keeps what it was given in a
# file; the editor adds a clause to the program it is given.
RECORDING_PAGER = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '\\x00')"
APPENDING_EDITOR = ("import sys; p = sys.argv[1]; t = open(p).read().strip(); "
                    "open(p, 'w').write(t + ' and after 2020-09-12\\n')")


def terminal_env(tmp_path) -> dict:
    (tmp_path / "pager.py").write_text(RECORDING_PAGER)
    (tmp_path / "editor.py").write_text(APPENDING_EDITOR)
    return dict(child_env(), SMTQL_HISTORY=str(tmp_path / "history"), TERM="xterm",
                NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1",
                PAGER=f"{sys.executable} {tmp_path / 'pager.py'} {tmp_path / 'paged'}",
                EDITOR=f"{sys.executable} {tmp_path / 'editor.py'}")


def paged(tmp_path) -> list[str]:
    """What the recording pager was given, one text per time it ran."""
    path = tmp_path / "paged"
    return path.read_text().split("\x00")[:-1] if path.exists() else []


def plain(screen: str) -> str:
    """Terminal output without its escape sequences (one line each)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r(?=\r)", "", screen)


def spawn(args, env, rows=24, columns=160):
    pexpect = pytest.importorskip("pexpect")
    cmd = smtql_command() + args
    return pexpect.spawn(cmd[0], cmd[1:], env=env, encoding="utf-8", timeout=60,
                         dimensions=(rows, columns))


def test_repl_commands_at_a_terminal(demo_project, counts, demo_reference, tmp_path):
    """--vertical, \\G, \\timing, \\o, \\e, \\tags, \\keys, \\pager and
    bad arguments, typed in a pseudo-terminal."""
    import pexpect
    from collections import Counter
    child = spawn(["--vertical", "repl", "-C", str(demo_project)], terminal_env(tmp_path))
    newest = newest_first(demo_reference)
    try:
        child.expect("smtql>")
        child.send("find all latest 1\r")  # --vertical is honoured
        child.expect_exact("-[ RECORD 1 ]")
        child.expect_exact(newest[0]["label"])
        child.expect("smtql>")
        child.send("\\G\r")
        child.expect_exact("vertical view: off")
        child.send("find all latest 1\r")
        child.expect_exact("(1 record, ")
        assert "RECORD" not in child.before and newest[0]["label"] in child.before
        child.send("\\x on\r")
        child.expect_exact("vertical view: on")
        child.send("\\G\r")
        child.expect_exact("vertical view: off")

        child.send("\\timing\r")
        child.expect_exact("timing: on")
        child.send("count all\r")
        child.expect(rf"(?<!\d){counts['all']}\r\n")
        child.expect(r"Time: \d+\.\d{3} ms")
        child.send("\\timing off\r")
        child.expect_exact("timing: off")

        out = tmp_path / "answers.txt"
        child.send(f"\\o {out}\r")
        child.expect_exact(f"answers go to {out}")
        child.send("count tag finished\r")
        child.expect("smtql>")
        child.send("\\o\r")
        child.expect_exact("answers go to the screen")
        assert out.read_text() == f"{counts['finished']}\n"

        # \e: the editor adds a clause; the program comes back to the prompt
        child.send("count tag finished \\e\r")
        child.expect_exact("2020-09-12")  # the edited program, highlighted at the prompt
        child.send("\r")
        child.expect(rf"(?<!\d){counts['finished_after']}\r\n")

        child.send("\\tags\r")
        tags = Counter(t for r in demo_reference for t in r["tags"])
        child.expect_exact(f"({len(tags)} tags)")
        listing = plain(child.before)
        for tag, n in tags.items():
            assert re.search(rf"^{re.escape(tag)} +{n}\r$", listing, re.M), tag
        child.send("\\keys\r")
        child.expect(r"\((\d+) parameter keys\)")
        n_lr = sum(param_of(r["params"], ("optimizer", "lr")) is not ABSENT for r in demo_reference)
        assert re.search(rf"^optimizer\.lr +{n_lr}\r$", plain(child.before), re.M)

        child.send("\\format jsn\r")
        child.expect_exact("unknown format 'jsn'; did you mean json?")
        child.send("\\timing maybe\r")
        child.expect_exact("unknown argument 'maybe'; \\timing takes on or off")
        child.send("\\tags finished\r")
        child.expect_exact("\\tags takes no argument (not 'finished')")
        child.expect("smtql>")

        # answers taller than the screen go through the pager, until \pager off
        child.send("find all latest 40\r")
        child.send("\\pager off\r")
        child.expect_exact("pager: off")
        assert len(paged(tmp_path)) == 1 and newest[39]["label"] in paged(tmp_path)[0]
        assert newest[39]["label"] not in child.before
        child.send("find all latest 40\r")
        child.expect_exact(newest[39]["label"])
        child.expect("smtql>")
        assert len(paged(tmp_path)) == 1
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_the_pager_at_the_command_line(demo_project, demo_reference, tmp_path):
    """A long answer at a terminal goes to $PAGER; not with --no-pager, nor
    when standard output is not a terminal. (That a short one never does:
    test_repl_commands_at_a_terminal.)"""
    import pexpect
    env = terminal_env(tmp_path)
    newest = newest_first(demo_reference)
    for args in (["find all latest 30"], ["--no-pager", "find all latest 30"]):
        child = spawn(["-C", str(demo_project), *args], env, rows=20)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert (newest[29]["label"] in child.before) == (args[0] == "--no-pager")
    assert len(paged(tmp_path)) == 1
    assert newest[29]["label"] in paged(tmp_path)[0]
    proc = subprocess.run(smtql_command() + ["-C", str(demo_project), "find all latest 30"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert newest[29]["label"] in proc.stdout and len(paged(tmp_path)) == 1


def test_one_tab_inserts_what_the_candidates_share(demo_project, demo_connection):
    """`tag fig` + Tab: figure1 and figure2 share `figure`, which Tab
    inserts (rather than choosing the first); `2` and Enter run `count tag
    figure2`. `tag unfin` + Tab: the only candidate, whole."""
    repl = make_repl(demo_project)
    assert repl.vocab.ready.wait(30)
    drive(repl, "count tag fig", "\t", "2\r", "count tag unfin", "\t", " and tag fig", "\t",
          "1\r", "\x04")
    assert out_lines(repl) == [str(demo_connection.query(p).count) for p in (
        "count tag figure2", "count tag unfinished-review and tag figure1")]


def test_every_command_is_documented_in_the_reference():
    from pathlib import Path
    reference = (Path(__file__).resolve().parents[2] / "docs" / "reference.md").read_text()
    section = reference.split("### The REPL", 1)[1].split("\n## ", 1)[0]
    for cmd in {c.name: c for c in COMMANDS.values()}.values():
        for name in (cmd.name, *cmd.aliases):
            assert f"`{name}" in section, name


@pytest.mark.parametrize("line, message", [
    ("\\format jsn", "\\format: unknown format 'jsn'; did you mean json?"),
    ("\\f", "format: table"),
    ("\\G sideways", "\\G: unknown argument 'sideways'; \\G takes on or off"),
    ("\\timing of", "\\timing: unknown argument 'of'; did you mean off?"),
    ("\\pager 1", "\\pager: unknown argument '1'; \\pager takes on or off"),
    ("\\o /no/such/directory/answers.txt", "\\o: cannot write /no/such/directory/answers.txt"),
    ("\\run", "usage: \\run FILE.smtql"),
    ("\\run /no/such/file.smtql", "no such file: /no/such/file.smtql"),
    ("\\vars x", "\\vars takes no argument (not 'x')"),
    ("\\tags all", "\\tags takes no argument (not 'all')"),
    ("\\keys optimizer", "\\keys takes no argument (not 'optimizer')"),
    ("\\quit now", "\\quit takes no argument (not 'now')"),
    ("\\e", "\\e needs a terminal"),
    ("\\tmiing", "unknown command \\tmiing; did you mean \\timing?"),
])
def test_bad_command_arguments_say_what_is_wrong(demo_project, line, message):
    repl = make_repl(demo_project)
    repl.execute(line)
    assert message in repl.err.getvalue() + repl.out.getvalue()
    assert "Traceback" not in repl.err.getvalue()


def test_completion_at_a_terminal(demo_project, demo_connection, tmp_path):
    """In a pseudo-terminal: inside `KEY = [` the menu lists the key's values
    with what they are in words, and no labels; Tab then inserts what the
    candidates share (`tag fig` → `tag figure`)."""
    import pexpect
    child = spawn(["repl", "-C", str(demo_project)], terminal_env(tmp_path))
    latest = demo_connection.query("find all latest 1").labels[0]
    try:
        child.expect("smtql>")
        time.sleep(1.0)  # the completion vocabulary has loaded
        child.send("count optimizer.model.kind = [")
        child.expect_exact("keyword")  # the menu's last rows: true, false, null
        menu = plain(child.before)
        assert '"lstm"' in menu and "value of optimizer.model.kind, in " in menu
        assert latest not in menu and "record label" not in menu
        child.send("\x03")  # drop it
        child.expect("smtql>")
        child.send("count tag fig")
        child.expect_exact("tag, in ")
        child.send("\t2\r")
        child.expect(rf"(?<!\d){demo_connection.query('count tag figure2').count}\r\n")
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close()
