"""Golden files: each statement on the fixed store, drawn in each format.

Run with SMTQL_UPDATE_GOLDEN=1 to rewrite the files after a deliberate
change, then read the diff."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.fixture_store import FixedStore, run
from smtql.render import render

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "render"
EXT = {"table": "txt", "csv": "csv", "json": "json", "markdown": "md", "html": "html",
       "labels": "labels"}
ALL = tuple(EXT)

CASES = [
    ("find", "find all", ALL),
    ("find_show", "all show label, optimizer.lr, data.subset, params order by optimizer.lr desc",
     ("table", "json", "csv")),
    ("find_vertical", "all show default, script_arguments, version, user, stdout_stderr",
     ("table",)),
    ("merged", "tag figure1 merged", ALL),
    ("merged_latest", "all merged latest 2", ("table", "json")),
    ("keys", "keys all", ("table", "json", "markdown", "html")),
    ("describe", "describe 20200913-083000", ("table", "json", "markdown", "html", "csv")),
    ("describe_several", "describe where tag figure1 latest 2", ALL),
    ("describe_none", "describe where tag nothing-has-this", ("table", "json", "csv", "html")),
    ("diff_pair", "diff 20200912-101500_aaaaaa, 20200913-083000",
     ("table", "json", "csv", "markdown", "html", "labels")),
    ("diff_many", "diff where tag figure1", ("table", "json", "csv", "markdown", "html")),
    ("diff_depth", "diff where tag figure1 depth 1", ("table", "json", "markdown")),
    ("diff_ignore", "diff where all ignore seed, reason, model", ("table", "json")),
    ("diff_raw", "diff 20200912-101500_aaaaaa, 20200913-083000 raw ignore output_data",
     ("table",)),
    ("count", "count tag figure1", ("table", "json", "csv", "labels")),
    ("groups", "all group by status, month show count, mean(duration), min(timestamp), labels",
     ("table", "json", "csv", "markdown", "html")),
    ("groups_param", "count all group by optimizer.lr", ("table", "json", "csv")),
    ("tags", "tags all", ("table", "json", "csv")),
]


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SMTQL_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with SMTQL_UPDATE_GOLDEN=1"
    assert text + "\n" == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("slug,program,formats", CASES, ids=[c[0] for c in CASES])
def test_golden(slug, program, formats):
    result = run(program)
    for fmt in formats:
        _check(f"{slug}.{EXT[fmt]}", render(result, fmt, width=100))


@pytest.mark.parametrize("slug,program", [("find", "find all"), ("merged", "tag figure1 merged"),
                                          ("diff_many", "diff where tag figure1")])
def test_golden_wide_terminal(slug, program):
    _check(f"{slug}_wide.txt", render(run(program), "table", width=160))


@pytest.mark.parametrize("slug,program", [("find", "find all"), ("merged", "tag figure1 merged"),
                                          ("find_show", CASES[1][1])])
def test_golden_80_columns(slug, program):
    """A terminal of 80 columns: the default table stays a table (issue 12,
    item 8), every line within 80 characters."""
    text = render(run(program), "table", width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    _check(f"{slug}_80.txt", text)


def test_default_columns_leave_out_what_the_label_says_at_80_columns():
    text = render(run("find all"), "table", width=80)
    assert not text.startswith("-[ RECORD")
    header = text.splitlines()[0].split()
    assert "timestamp" not in header and "reason" in header and "outcome" in header
    assert "left out to fit 80 columns: --vertical shows every column" in " ".join(text.split())


def test_one_line_per_cell_whatever_the_width():
    """--max-lines 1 gives one line: a cut cell narrower than 40 characters
    is cut again to its column, never wrapped."""
    one = render(run("find all show label, reason, outcome"), "table", width=50, max_lines=1)
    rows = one.splitlines()[2:-1]
    assert len(rows) == 6, one  # six records, a line each
    two = render(run("find all show label, reason, outcome"), "table", width=50, max_lines=2)
    assert len(two.splitlines()) > len(one.splitlines())


def test_narrow_terminal_turns_vertical_and_wide_stays_a_table():
    result = run("find all")
    narrow = render(result, "table", width=50)
    wide = render(result, "table", width=160)
    assert narrow.startswith("-[ RECORD 1 ]")
    assert wide.splitlines()[0].split() == ["label", "timestamp", "tags", "reason", "outcome",
                                            "main_file", "duration"]
    assert render(result, "table", width=160, vertical=True).startswith("-[ RECORD 1 ]")


def test_table_cuts_text_but_never_tags_and_keeps_the_file_name():
    text = render(run("find all"), "table", width=200)
    assert "_finished_, baseline, figure1, needs.check" in text
    assert "…/name/for/the/scripts/train_model.py" in text  # cut from the left, at a /
    assert "Reviewer asked for more epochs. …" in text  # one line, marked
    assert "(6 records)" in text
    longer = render(run("find all"), "table", width=200, max_lines=2, max_chars=80)
    assert "See the notes of 2020-09-10." in longer


def test_footer_counts_hidden_rows():
    assert "(2 records, 4 more not shown)" in render(run("all latest 2"), "table", width=200)


def test_color_only_when_asked():
    plain = render(run("find all"), "table", width=160)
    assert "\x1b[" not in plain
    assert "\x1b[" in render(run("find all"), "table", width=160, color=True)


def test_json_round_trip_field_by_field():
    store = FixedStore()
    data = json.loads(render(run("all show default, data.subset, params", store), "json"))
    by_label = {row["label"]: row for row in data}
    assert list(by_label) == [r.label for r in sorted(store.rows, key=lambda r: (-r.timestamp.timestamp(), r.label))]
    for row in store.rows:
        got = by_label[row.label]
        assert got["timestamp"] == row.timestamp.isoformat()
        assert got["tags"] == sorted(row.tags)
        assert got["reason"] == row.reason and got["outcome"] == row.outcome
        assert got["main_file"] == row.main_file
        assert got["duration"] == row.duration  # seconds, or null
        subset = row.param(("data", "subset"))
        if subset is None:
            assert got["data.subset"] is None
        elif isinstance(subset, int):
            assert got["data.subset"] == subset
        else:  # missing: the key is left out, unlike a stored null
            assert "data.subset" not in got
    unreadable = by_label["20200915-090000_dddddd"]["params"]
    assert unreadable == {"unreadable": "unbalanced brackets"}
    assert by_label["20200913-083000"]["params"]["inputs"]["seed"] == 1


def test_json_of_merged_rows():
    data = json.loads(render(run("tag figure1 merged"), "json"))
    merged = [row for row in data if row["# records"] == 2]
    assert len(merged) == 1
    row = merged[0]
    assert row["label"] == "20200912-101500"
    assert row["duration"] == pytest.approx((754.0 + 800.0) / 2)
    assert row["outcome"] == {"distinct": ["converged", "diverged"]}
    assert row["reason"] == "sweep lr"  # the same in both: one value
    assert [r["# records"] for r in data] == [1, 1, 2]


def test_merged_without_suffix_stays_its_own_row():
    data = json.loads(render(run("all merged"), "json"))
    labels = [row["label"] for row in data]
    assert "20200913-083000" in labels and "20200912-101500" in labels
    assert len(labels) == 5


def test_html_keeps_line_breaks_and_escapes():
    html = run("find all")._repr_html_()
    assert "Reviewer asked for more epochs.<br>See the notes of 2020-09-10." in html
    assert "<table>" in html and "(6 records)" in html
    assert "&lt;parameters&gt;" in run("diff where tag figure1").render("html")


def test_machine_formats_do_not_import_rich():
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from support.fixture_store import run\n"
        "for q in ('find all', 'count all', 'diff where all', 'describe latest'):\n"
        "    r = run(q); r.render('labels'); r.render('json'); r.render('csv')\n"
        "bad = [m for m in ('rich', 'pandas') if m in sys.modules]\n"
        "assert not bad, bad\n")
    root = Path(__file__).resolve().parent.parent.parent
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_progress_shows_nothing_off_a_terminal(capsys):
    import io
    from smtql.progress import progress
    stream = io.StringIO()
    with progress(total=10, delay=0, stream=stream) as bar:
        for _ in range(10):
            bar.advance()
    assert stream.getvalue() == "" and not bar.shown


def test_progress_appears_on_a_slow_terminal_scan():
    import io
    from smtql.progress import progress

    class Tty(io.StringIO):
        def isatty(self):
            return True
    stream = Tty()
    with progress(total=100, delay=0, stream=stream) as bar:
        for _ in range(100):
            bar.advance()
        assert bar.shown
    assert not bar.shown
    with progress(total=100, delay=60, stream=Tty()) as quick:
        quick.advance(100)
        assert not quick.shown


def test_json_stays_valid_with_numbers_that_are_not_finite():
    import json
    import math
    from smtql.result import Table
    res = Table(["label", "x", "y"], [{"label": "a", "x": math.nan, "y": [math.inf, -math.inf, 1.5]}])
    text = res.render("json")
    assert "NaN" not in text.replace('"NaN"', "") and "Infinity" not in text.replace(
        '"Infinity"', "").replace('"-Infinity"', "")
    assert json.loads(text) == [{"label": "a", "x": "NaN", "y": ["Infinity", "-Infinity", 1.5]}]
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def test_control_characters_from_store_content_are_escaped_for_people():
    from datetime import datetime, timezone
    from smtql.result import DiffResult, RecordResult, Table
    evil = "ok\x1b]0;pwned\x07\x1b[31mred\x9b2J"
    table = Table(["label", "reason", "tags"],
                  [{"label": evil, "reason": "a\x1bb", "tags": ("t\x1b[1m",)}])
    for fmt in ("table", "markdown", "html"):
        text = table.render(fmt, width=200) if fmt == "table" else table.render(fmt)
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text, fmt
        assert "\\x1b" in text, fmt
    fields = {"label": evil, "timestamp": datetime(2020, 1, 1, tzinfo=timezone.utc),
              "reason": "x\x1b[2Jy", "stdout_stderr": "line\x1b[Kone\nline two"}
    record = RecordResult(evil, fields)
    for fmt in ("table", "markdown", "html"):
        assert "\x1b" not in record.render(fmt), fmt
    diff = DiffResult([evil, "b\x1bc"], [("reason", ("r\x1b1", "r2"))], [])
    for fmt in ("table", "markdown"):
        assert "\x1b" not in diff.render(fmt), fmt
    # machine formats keep the data as it is
    assert "\\u001b" in table.render("json") or "\x1b" in table.render("json")


def test_describe_cuts_huge_content_and_says_how_much():
    """A record with megabytes of output, a long diff and a parameter set of
    many thousand keys (issue 16, item 12): the human formats show the start
    of each and say how much was left out, in a layout that costs only what
    is shown (the whole text through rich took minutes); JSON keeps it all."""
    from datetime import datetime, timezone
    from smtql.render.layout import DESCRIBE_MAX_CHARS, DESCRIBE_MAX_LINES
    from smtql.result import RecordResult
    line = "epoch 1/10 loss=0.8986 \x1b[31mred\x1b[0m\n"
    stdout = line * (2_000_000 // len(line))
    params = {f"k{i}": {"a": i, "b": [1, 2.5]} for i in range(20_000)}
    fields = {"label": "big", "timestamp": datetime(2020, 1, 1, tzinfo=timezone.utc),
              "diff": "+x\n" * 50_000, "script_arguments": "y" * 100_000,
              "parameters": params, "stdout_stderr": stdout}
    record = RecordResult("big", fields)
    n_lines = stdout.count("\n")
    for fmt in ("table", "markdown", "html"):
        text = record.render(fmt, width=120) if fmt == "table" else record.render(fmt)
        assert len(text) < 10 * DESCRIBE_MAX_CHARS, (fmt, len(text))
        assert f"({n_lines - DESCRIBE_MAX_LINES:,} more lines, " in text, fmt
        assert "not shown: --format json shows all" in text, fmt
        assert f"cut after {DESCRIBE_MAX_LINES} lines; 60,000 values in all" in text, fmt
        assert "\x1b" not in text, fmt
    data = json.loads(record.render("json"))
    assert data["stdout_stderr"] == stdout and len(data["parameters"]) == 20_000
    # --max-lines chooses how much
    assert "(" + f"{n_lines - 3:,}" + " more lines" in record.render("table", max_lines=3, width=120)


def test_values_are_counted_alike_in_containers_of_leaves_and_others():
    from collections import OrderedDict
    from datetime import date

    from smtql.render.layout import _count_values

    def leaves(v):
        if isinstance(v, dict):
            return sum(map(leaves, v.values()))
        if isinstance(v, (list, tuple)):
            return sum(map(leaves, v))
        return 1
    # plain leaves only (counted from their types), a date among them, a
    # dict subclass among them (a container, though not of a leaf type)
    value = {"a": [1, 2.5, "x", None, True], "b": [date(2020, 1, 1), 1],
             "c": [OrderedDict(x=1, y=[2, 3]), ()], "d": (), "e": {}}
    assert _count_values(value) == leaves(value) == 10
