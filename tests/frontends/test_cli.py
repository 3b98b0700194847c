"""The `smtql` command (DESIGN.md, "Command line"), run as a subprocess.

Every invocation starts a Python process that imports Sumatra, so the
module runs them all at once, in a thread pool, the first time a test asks
(the `cli` fixture); each test then checks its own. Answers are checked
against `demo_reference`: the demo's records as Sumatra's own API reads them
in another process, filtered by plain Python written here, never by smtql.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import ABSENT, child_env, newest_first, param_of

UTC = timezone.utc
SMTQL = [sys.executable, "-m", "smtql"]

# The acceptance check of issue #2.
ACCEPTANCE = "tag finished and after 2020-09-12 and optimizer.model.params.μtilde.0 < -3"
SHOW = ("tag finished show label, timestamp, tags, duration, outcome, optimizer.lr, "
        "optimizer.model.params.μtilde latest 5")
SHOW_COLUMNS = ["label", "timestamp", "tags", "duration", "outcome", "optimizer.lr",
                "optimizer.model.params.μtilde"]

FIGURE_FILE = """\
# Figure 1: converged runs after a date
let good = tag finished and outcome = "converged";   -- finished, and it converged
count $good;
COUNT $good AND after $date;   # keywords in any case

-- the three oldest with a learning rate above $lr
$good and after $date and optimizer.lr > $lr
  show label, optimizer.lr
  earliest 3
"""

UNSET_FILE = """\
count all;
-- the second statement uses a variable nobody set
count tag finished and
   lr = $nope
"""

SYNTAX_FILE = """\
count all;
count tag finished and
  lr ==
"""


# ------------------------------------------------------------------ the reference, in plain Python

def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def finished(r) -> bool:
    return "_finished_" in r["tags"] or "finished" in r["tags"]


SEP12 = datetime(2020, 9, 12, tzinfo=UTC)


def acceptance_labels(reference) -> list[str]:
    def keep(r):
        mu0 = param_of(r["params"], ("optimizer", "model", "params", "μtilde", 0))
        return finished(r) and r["timestamp"] >= SEP12 and is_number(mu0) and mu0 < -3
    return [r["label"] for r in newest_first(filter(keep, reference))]


def shown_rows(reference) -> list[dict]:
    return newest_first(filter(finished, reference))[:5]


# ------------------------------------------------------------------ running everything at once

def _invocations(demo: Path, tmp: Path) -> dict:
    """name -> (argv, stdin, cwd)."""
    (tmp / "figure1.smtql").write_text(FIGURE_FILE, encoding="utf-8")
    (tmp / "unset.smtql").write_text(UNSET_FILE, encoding="utf-8")
    (tmp / "syntax.smtql").write_text(SYNTAX_FILE, encoding="utf-8")
    (tmp / "empty").mkdir(exist_ok=True)
    (tmp / "not-a-demo").mkdir(exist_ok=True)
    (tmp / "not-a-demo" / "notes.txt").write_text("mine\n", encoding="utf-8")
    (tmp / "empty.db").write_bytes(b"")
    (tmp / "random.db").write_bytes(bytes(range(256)) * 8)
    (tmp / "damaged.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 1000)
    d, store = str(demo), str(demo / ".smt" / "records")
    return {
        # answers
        "labels": (["-C", d, "--format", "labels", ACCEPTANCE], None, None),
        "json": (["-C", d, "--format", "json", SHOW], None, None),
        "json_store": (["--store", store, "--format", "json", SHOW], None, None),
        "csv": (["-C", d, "--format", "csv", SHOW], None, None),
        "markdown": (["-C", d, "--format", "markdown", SHOW], None, None),
        "table": (["-C", d, SHOW], None, None),
        "markdown_cut": (["-C", d, "--format", "markdown", "--max-chars", "9", "--max-lines", "1",
                          "tag finished show label, reason latest 20"], None, None),
        "json_count": (["-C", d, "--format", "json", "count tag finished"], None, None),
        "unused_set": (["-C", d, "--set", "lr=1", "--set", "n=2", "count optimizer.lr = $lr"],
                       None, None),
        "several": (["-C", d, "count all; let f = tag finished; count $f; count tag crashed"],
                    None, None),
        "several_csv": (["-C", d, "--format", "csv",
                         "$f show label latest 2; tag crashed show label latest 2",
                         "--set", "f=x"], None, None),
        "several_json": (["-C", d, "--format", "json", "count all; tag finished show label "
                          "latest 2"], None, None),
        "run": (["-C", d, "run", str(tmp / "figure1.smtql"), "--set", "date=2020-09-12",
                 "--set", "lr=0", "--format", "labels"], None, None),
        "run_unset": (["-C", d, "run", str(tmp / "unset.smtql")], None, None),
        "stdin": (["-C", d, "--format", "labels"],
                  "count tag finished;\n-- a comment\ncount tag figur1   # a typo\n", None),
        "cwd": (["--format", "labels", "count all"], None, demo / "scripts"),
        "export": (["-C", d, "export tag figure1"], None, None),
        "write_no_yes": (["-C", d, "tag smtql-cli-test where all"], None, None),
        "write_dry_run": (["-C", d, "--dry-run", "tag smtql-cli-test where all"], None, None),
        # errors found before any store is opened
        "syntax": (["-C", d, "tag finished and aftr 2020-09-12"], None, None),
        "bad_date": (["-C", d, "after 2020-13-01"], None, None),
        "run_syntax": (["-C", d, "run", str(tmp / "syntax.smtql")], None, None),
        "run_missing": (["-C", d, "run", str(tmp / "nothing-here.smtql")], None, None),
        "bad_option": (["-C", d, "--bogus", "count all"], None, None),
        "bad_format": (["-C", d, "--format", "xml", "count all"], None, None),
        "bad_set": (["-C", d, "--set", "novalue", "count all"], None, None),
        "no_store": (["--store", str(tmp / "no" / "such.db"), "count all"], None, None),
        "no_project": (["-C", str(tmp / "empty"), "count all"], None, None),
        "no_dir": (["-C", str(tmp / "missing-dir"), "count all"], None, None),
        "undo": (["-C", d, "undo"], None, None),
        # issue 12: usage, bad stores, selections and labels that are not there
        "empty_program": (["-C", d, ""], None, None),
        "demo_elsewhere": (["demo", str(tmp / "not-a-demo")], None, None),
        "max_chars_0": (["-C", d, "--max-chars", "0", "count all"], None, None),
        "max_lines_0": (["-C", d, "--max-lines", "0", "count all"], None, None),
        "one_line": (["-C", d, "--max-lines", "1", "--max-chars", "400", "all show label, user, "
                      "version, reason, outcome, stdout latest 3"], None, None),
        "store_empty": (["--store", str(tmp / "empty.db"), "count all"], None, None),
        "store_random": (["--store", str(tmp / "random.db"), "count all"], None, None),
        "store_damaged": (["--store", str(tmp / "damaged.db"), "count all"], None, None),
        "describe_where": (["-C", d, "--format", "json", "describe where tag finished"],
                           None, None),
        "describe_where_csv": (["-C", d, "--format", "csv",
                                "describe where tag finished latest 2; describe latest, earliest"],
                               None, None),
        "describe_where_labelled": (["-C", d, "--format", "json",
                                     "describe latest; describe where tag finished latest 2"],
                                    None, None),
        "label_in": (["-C", d, "count label in [\"nolabel\", \"20200101-000000_abcdef\"]"],
                     None, None),
    }


@pytest.fixture(scope="module")
def cli(demo_project, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("cli")
    invocations = _invocations(demo_project, tmp)
    env = child_env()

    def run(item):
        name, (argv, stdin, cwd) = item
        proc = subprocess.run(SMTQL + argv, input=stdin if stdin is not None else "",
                              capture_output=True, text=True, encoding="utf-8", env=env,
                              cwd=cwd or tmp, timeout=300)
        return name, proc

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(pool.map(run, invocations.items()))
    results["_tmp"] = tmp
    return results


def ok(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def failed(proc, status: int) -> str:
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stderr.startswith("smtql: ")
    return proc.stderr


# ------------------------------------------------------------------ the acceptance check

def test_acceptance_labels_match_the_reference(cli, demo_reference):
    expected = acceptance_labels(demo_reference)
    assert expected, "the demo should hold records that satisfy the acceptance query"
    assert len(expected) < sum(1 for r in demo_reference if finished(r))
    assert ok(cli["labels"]).splitlines() == expected


# ------------------------------------------------------------------ formats

def test_json_rows_field_by_field(cli, demo_reference):
    data = json.loads(ok(cli["json"]))
    expected = shown_rows(demo_reference)
    assert isinstance(data, list) and len(data) == len(expected) == 5
    for got, ref in zip(data, expected):
        assert list(got) == SHOW_COLUMNS
        assert got["label"] == ref["label"]
        assert datetime.fromisoformat(got["timestamp"]) == ref["timestamp"]
        assert set(got["tags"]) == ref["tags"] and got["tags"] == sorted(got["tags"])
        assert got["duration"] == ref["duration"]
        assert got["outcome"] == (ref["outcome"] or "")
        lr = param_of(ref["params"], ("optimizer", "lr"))
        assert got["optimizer.lr"] == (None if lr is ABSENT else lr)
        mu = param_of(ref["params"], ("optimizer", "model", "params", "μtilde"))
        assert got["optimizer.model.params.μtilde"] == (None if mu is ABSENT else mu)


def test_json_count_is_an_object(cli, demo_reference):
    assert json.loads(ok(cli["json_count"])) == {"count": sum(1 for r in demo_reference if finished(r))}


def test_store_path_and_project_directory_give_the_same_answer(cli):
    assert ok(cli["json_store"]) == ok(cli["json"])


def test_csv(cli, demo_reference):
    rows = list(csv.reader(io.StringIO(ok(cli["csv"]))))
    assert rows[0] == SHOW_COLUMNS
    expected = shown_rows(demo_reference)
    assert len(rows) == 1 + len(expected)
    for got, ref in zip(rows[1:], expected):
        cell = dict(zip(SHOW_COLUMNS, got))
        assert cell["label"] == ref["label"]
        assert datetime.fromisoformat(cell["timestamp"]) == ref["timestamp"]
        assert set(json.loads(cell["tags"])) == ref["tags"]
        assert cell["duration"] == ("" if ref["duration"] is None else cell["duration"])
        if ref["duration"] is not None:
            assert float(cell["duration"]) == ref["duration"]
        assert cell["outcome"] == (ref["outcome"] or "")
        lr = param_of(ref["params"], ("optimizer", "lr"))
        if lr is ABSENT:
            assert cell["optimizer.lr"] == ""
        elif is_number(lr):
            assert float(cell["optimizer.lr"]) == lr
        else:
            assert cell["optimizer.lr"] == str(lr)


def markdown_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and the body rows of a Markdown table (what follows the
    table, such as a footer, is left out)."""
    lines = text.splitlines()
    assert set(lines[1].replace("|", "")) <= {"-", ":"}
    split = lambda line: [c.strip().replace("\\|", "|")  # noqa: E731
                          for c in line.strip()[1:-1].split(" | ")]
    body = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        body.append(split(line))
    return split(lines[0]), body


def test_markdown(cli, demo_reference):
    header, rows = markdown_rows(ok(cli["markdown"]))
    assert header == SHOW_COLUMNS
    expected = shown_rows(demo_reference)
    assert len(rows) == len(expected)
    for cells, ref in zip(rows, expected):
        assert len(cells) == len(SHOW_COLUMNS)
        assert cells[0] == ref["label"]
        assert cells[1].startswith(ref["timestamp"].strftime("%Y-%m-%d %H:%M:%S"))
        assert cells[2] == ", ".join(sorted(ref["tags"]))


def test_table(cli, demo_reference):
    text = ok(cli["table"])
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) <= {"-", "─"})
    header = " ".join(lines[:rule]).split()
    assert {"label", "timestamp", "tags", "duration", "outcome"} <= set(header)
    expected = [r["label"] for r in shown_rows(demo_reference)]
    positions = [text.find(label) for label in expected]
    assert -1 not in positions and positions == sorted(positions)
    # how many more there are is said only when the store did not apply the limit itself
    n_finished = sum(1 for r in demo_reference if finished(r))
    assert lines[-1] in ("(5 records)", f"(5 records, {n_finished - 5} more not shown)")


def test_max_chars_and_max_lines(cli, demo_reference):
    header, rows = markdown_rows(ok(cli["markdown_cut"]))
    assert header == ["label", "reason"]
    expected = newest_first(filter(finished, demo_reference))[:20]
    assert len(rows) == 20
    cut_some = False
    for (label, reason), ref in zip(rows, expected):
        assert len(label) <= 9 and len(reason) <= 9
        assert ref["label"].startswith(label.rstrip("…"))
        first_line = (ref["reason"] or "").split("\n")[0]
        assert first_line.startswith(reason.rstrip("…").rstrip())
        cut_some |= reason.endswith("…")
    assert cut_some


# ------------------------------------------------------------------ programs: files, stdin, directories

def test_run_a_file_with_let_comments_and_set(cli, demo_reference):
    good = [r for r in demo_reference if finished(r) and r["outcome"] == "converged"]
    after = [r for r in good if r["timestamp"] >= SEP12]

    def lr_above(r, value):  # `--set lr=0` is the number 0: text would select nothing
        lr = param_of(r["params"], ("optimizer", "lr"))
        return is_number(lr) and lr > value
    at_lr = [r for r in after if lr_above(r, 0)]
    oldest3 = sorted(at_lr, key=lambda r: (r["timestamp"], r["label"]))[:3]
    assert len(oldest3) == 3 and len(after) < len(good)
    lines = ok(cli["run"]).splitlines()
    assert lines == [str(len(good)), str(len(after))] + [r["label"] for r in newest_first(oldest3)]


def test_a_set_the_program_never_uses_draws_a_warning(cli):
    proc = cli["unused_set"]
    ok(proc)
    assert "warning: --set n=…: the program never uses $n" in proc.stderr
    assert "$lr" not in proc.stderr


def test_several_answers_each_say_their_statement(cli, demo_reference):
    lines = ok(cli["several"]).splitlines()
    n_all = len(demo_reference)
    n_finished = sum(1 for r in demo_reference if finished(r))
    n_crashed = sum(1 for r in demo_reference if "_crashed_" in r["tags"])
    assert lines == ["-- count all", str(n_all), "", "-- count $f", str(n_finished), "",
                     "-- count tag crashed", str(n_crashed)]


def test_several_tables_in_csv_and_json_stay_machine_readable(cli):
    import csv
    import io
    assert cli["several_csv"].returncode == 1  # $f is a value, not a filter: said, exit 1
    out = ok(cli["several_json"]).splitlines()
    docs = [json.loads(line) for line in out]
    assert "count" in docs[0] and len(docs[1]) == 2 and "label" in docs[1][0]
    blocks = ok(cli["csv"]).split("\n\n")
    assert len(blocks) == 1 and list(csv.reader(io.StringIO(blocks[0])))[0][0] == "label"


def test_program_from_stdin(cli, demo_reference):
    out = ok(cli["stdin"])
    assert out.splitlines() == [str(sum(1 for r in demo_reference if finished(r))), "0"]
    # the note about the unknown tag names the closest existing one
    assert "note:" in cli["stdin"].stderr and "figur1" in cli["stdin"].stderr
    assert "figure1" in cli["stdin"].stderr


def test_project_found_from_the_current_directory(cli, demo_reference):
    assert ok(cli["cwd"]).strip() == str(len(demo_reference))


# ------------------------------------------------------------------ exit statuses and messages

def test_syntax_error_exits_1_with_a_caret(cli):
    err = failed(cli["syntax"], 1)
    lines = err.splitlines()
    assert "line 1, column 23" in lines[0]
    source = "tag finished and aftr 2020-09-12"
    assert lines[1].strip() == source
    caret = lines[2]
    assert caret.strip() == "^" * len("2020-09-12")
    assert caret.index("^") - lines[1].index(source) == source.index("2020-09-12")
    assert "did you mean 'after'" in err
    assert cli["syntax"].stdout == ""


def test_bad_date_exits_1(cli):
    err = failed(cli["bad_date"], 1)
    assert "2020-13-01" in err and "^" in err


def test_unset_variable_in_a_file_exits_1_naming_it_and_its_place(cli):
    proc = cli["run_unset"]
    err = failed(proc, 1)
    path = str(cli["_tmp"] / "unset.smtql")
    assert err.startswith(f"smtql: {path}:4:9: $nope is not set")
    # the statement before the error ran, its answer labelled (the program has two)
    assert proc.stdout.splitlines() == ["-- count all", proc.stdout.splitlines()[1]]
    assert proc.stdout.splitlines()[1].isdigit()


def test_syntax_error_in_a_file_names_file_line_column(cli):
    err = failed(cli["run_syntax"], 1)
    path = str(cli["_tmp"] / "syntax.smtql")
    assert err.startswith(f"smtql: {path}:3:7: ")
    assert "  lr ==" in err
    assert cli["run_syntax"].stdout == ""


def test_export_undo_and_write_confirmation(cli):
    import json
    assert cli["export"].returncode == 0, cli["export"].stderr
    exported = json.loads(cli["export"].stdout)
    assert exported and all("figure1" in r["tags"] for r in exported)
    assert cli["undo"].returncode == 0 and "nothing to undo" in cli["undo"].stdout
    # not a terminal and no --yes: refused before anything changes, exit 2
    err = failed(cli["write_no_yes"], 2)
    assert "--yes" in err and "nothing changed" in err
    assert cli["write_dry_run"].returncode == 0
    assert "dry run: would tag" in cli["write_dry_run"].stdout


@pytest.mark.parametrize("name,words", [
    ("bad_option", "--bogus"),
    ("bad_format", "xml"),
    ("bad_set", "novalue"),
    ("run_missing", "nothing-here.smtql"),
])
def test_usage_errors_exit_2(cli, name, words):
    err = failed(cli[name], 2)
    assert words in err


def test_missing_store_exits_3(cli):
    err = failed(cli["no_store"], 3)
    assert "no record store at" in err and "such.db" in err


def test_an_empty_program_prints_the_usage_and_exits_2(cli):
    err = failed(cli["empty_program"], 2)
    assert "the program is empty" in err and "usage: smtql" in err


def test_demo_in_a_directory_that_is_not_a_demo_is_a_usage_error(cli):
    proc = cli["demo_elsewhere"]
    err = failed(proc, 2)
    assert "not an earlier smtql demo project" in err and proc.stdout == ""
    assert (cli["_tmp"] / "not-a-demo" / "notes.txt").read_text() == "mine\n"  # untouched


@pytest.mark.parametrize("name", ["max_chars_0", "max_lines_0"])
def test_cutting_cells_to_nothing_is_a_usage_error(cli, name):
    err = failed(cli[name], 2)
    assert "must be 1 or more, not 0" in err


def test_max_lines_1_gives_one_line_per_row(cli):
    out = ok(cli["one_line"])
    rows = out.splitlines()[2:-1]
    assert len(rows) == 3 and all(r[:8].isdigit() for r in rows), out


@pytest.mark.parametrize("name", ["store_empty", "store_random", "store_damaged"])
def test_a_file_that_is_no_store_says_so(cli, name):
    err = failed(cli[name], 3)
    assert "is not a Sumatra record store (an SQLite or shelve file)" in err
    assert "db type could not be determined" not in err


def test_describe_where_reads_a_selection(cli, demo_reference):
    expected = [r["label"] for r in newest_first(filter(finished, demo_reference))]
    proc = cli["describe_where"]
    assert [d["label"] for d in json.loads(ok(proc))] == expected
    assert f"note: describing {len(expected)} records" in proc.stderr


def test_describe_of_several_in_csv_and_labelled_json(cli, demo_reference):
    order = [r["label"] for r in newest_first(demo_reference)]
    done = [r["label"] for r in newest_first(filter(finished, demo_reference))]
    # two CSV tables, set apart by a blank line, each a header and a line per record
    first, second = ok(cli["describe_where_csv"]).split("\n\n")
    assert [r["label"] for r in csv.DictReader(io.StringIO(first))] == done[:2]
    assert [r["label"] for r in csv.DictReader(io.StringIO(second))] == [order[0], order[-1]]
    # several answers in JSON: one document per line, the second a list
    one, several = ok(cli["describe_where_labelled"]).splitlines()
    assert json.loads(one)["label"] == order[0]
    assert [d["label"] for d in json.loads(several)] == done[:2]


def test_a_label_no_record_has_gets_a_note_with_the_closest(cli, demo_reference):
    proc = cli["label_in"]
    assert ok(proc).strip() == "0"
    notes = [l for l in proc.stderr.splitlines() if l.startswith("note: no record has label")]
    assert len(notes) == 2, proc.stderr
    assert "'20200101-000000_abcdef'; closest: " in notes[1]
    closest = notes[1].split("closest: ")[1].split(", ")
    assert set(closest) <= {r["label"] for r in demo_reference}


def test_directory_without_a_project_exits_3(cli):
    err = failed(cli["no_project"], 3)
    assert "no Sumatra project" in err and str(cli["_tmp"] / "empty") in err


def test_missing_directory_exits_3(cli):
    err = failed(cli["no_dir"], 3)
    assert "missing-dir" in err


def test_a_program_that_is_not_utf8_is_a_program_error(demo_project):
    proc = subprocess.run([sys.executable.encode(), b"-m", b"smtql", b"-C", str(demo_project).encode(),
                           b'count reason = "\xff"'], env=child_env(), capture_output=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.decode("utf-8", "replace")
    assert "not UTF-8" in err and "0xff" in err and "record store" not in err


def test_describe_of_many_in_a_terminal_goes_through_the_pager_and_stops_with_it(
        demo_project, demo_reference):
    """A pager that quits early (`head`) ends the answer: no traceback, no
    broken-pipe message, exit 0; what it showed is the first record."""
    import pexpect
    env = dict(child_env(), PAGER="head -n 3")
    child = pexpect.spawn(sys.executable, ["-m", "smtql", "-C", str(demo_project),
                                           "describe where all"],
                          env=env, encoding="utf-8", dimensions=(30, 100), timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before
    assert child.exitstatus == 0, screen
    assert "Traceback" not in screen and "Broken pipe" not in screen
    assert f"describing {len(demo_reference)} records" in screen
    newest = newest_first(demo_reference)
    assert newest[0]["label"] in screen and newest[1]["label"] not in screen
