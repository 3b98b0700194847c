"""The terminal format's choices of layout (render/terminal.py): a diff of
many records folded to fit the terminal's width (issue 12, item 9), through
the command line with COLUMNS set, on the demo store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import child_env
from smtql.render.layout import FOLD_ABOVE, diff_grid, folded_to_columns
from smtql.render.terminal import min_width, rows_min_width

SMTQL = [sys.executable, "-m", "smtql"]
MANY = "diff where tag finished"  # ~100 records of the demo, 29 keys of mixed formats
WIDTHS = (50, 60, 80, 120, 250)


def smtql(project, program: str, columns: int, *options: str) -> str:
    env = child_env()
    env["COLUMNS"], env["LINES"] = str(columns), "24"
    proc = subprocess.run(SMTQL + ["-C", str(project), *options, program], env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def drawn(demo_project) -> dict:
    """MANY drawn at each width, `depth N+1` at the width (N the depth it
    chose), and MANY in JSON."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        out = dict(zip(WIDTHS, pool.map(lambda w: smtql(demo_project, MANY, w), WIDTHS)))
        deeper = {w: f"{MANY} depth {_depth(out[w]) + 1}" for w in WIDTHS}
        out["deeper"] = dict(zip(WIDTHS, pool.map(lambda w: smtql(demo_project, deeper[w], w),
                                                  WIDTHS)))
    out["json"] = json.loads(smtql(demo_project, MANY, 80, "--format", "json"))
    return out


def _depth(text: str) -> int:
    found = re.search(r"folded to depth (\d+) to fit (\d+) columns: `depth (\d+)` or more unfolds",
                      " ".join(text.split()))
    assert found, text[-600:]
    assert int(found[3]) == int(found[1]) + 1
    return int(found[1])


@pytest.mark.parametrize("width", WIDTHS)
def test_many_records_fold_to_a_table_that_fits(drawn, width):
    text = drawn[width]
    records = len(drawn["json"]["records"])
    assert "-[ RECORD" not in text  # a table, not one block per record
    assert max(len(line) for line in text.splitlines()) <= width
    assert len(text.splitlines()) <= records + 12  # header, rows, footer
    assert f"to fit {width} columns" in " ".join(text.split())


@pytest.mark.parametrize("width", WIDTHS)
def test_the_depth_chosen_is_the_deepest_that_fits(drawn, width):
    """Asked one deeper, the same diff does not fit: it is drawn one field
    per line (an explicit depth is obeyed, never folded further)."""
    deeper = drawn["deeper"][width]
    assert "-[ RECORD" in deeper and "to fit" not in deeper
    assert f"depth {_depth(drawn[width]) + 1})" in " ".join(deeper.split())


def test_narrow_terminals_leave_out_fields_and_say_which(drawn):
    """Even one folded column does not fit 50 columns beside every field:
    fields go, the spared ones first, and the footer names them."""
    footer = " ".join(drawn[50].split("\n(")[-1].split())
    left_out = re.search(r"; ([\w, ]+) differs? too, left out to fit 50 columns", footer)
    assert left_out, footer
    names = left_out[1].split(", ")
    header = drawn[50].splitlines()[0].split()
    fields = set(drawn["json"]["fields"])
    assert set(names) <= fields and not set(names) & set(header)
    assert fields - set(names) <= set(header)
    assert "version" in names and "reason" not in names
    wide_header = drawn[250].splitlines()[0].split()
    assert fields <= set(wide_header)


def test_machine_formats_keep_every_key(drawn):
    data = drawn["json"]
    assert data["depth"] is None and data["folded"] == []
    assert len(data["parameters"]) > FOLD_ABOVE


def test_sizing_without_drawing_agrees_with_the_grid(demo_connection):
    """rows_min_width reads only what it needs; it must agree with the
    grid drawn, at every depth and with fields left out."""
    res = demo_connection.query(MANY)
    candidates = [res] + [res.folded_to(d) for d in res.folds.depths()]
    candidates.append(candidates[-1].without_fields(["version", "reason"]))
    for candidate in candidates:
        for max_chars in (40, 8):
            assert (rows_min_width(candidate, max_chars, 1)
                    == min_width(diff_grid(candidate, max_chars, 1))), candidate.depth


def test_notebooks_fold_to_a_dozen_columns(demo_connection):
    res = demo_connection.query(MANY)
    folded = folded_to_columns(res)
    assert len(folded.params) <= FOLD_ABOVE < len(res.params)
    assert len(res.folds.at(folded.depth + 1)[0]) > FOLD_ABOVE  # the deepest that fits
    html = res.render("html")
    assert f"folded to depth {folded.depth} to fit {FOLD_ABOVE} parameter columns" in html
    assert "<+>" in res.render("markdown")
