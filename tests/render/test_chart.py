"""`plot` (LANGUAGE.md §10): the chart's data checked through matplotlib's
own objects (lines, bars, legend, axis labels and units, title), files
written in each format, the terminal chart through a pseudo-terminal, a
pipe refused (exit 2), and the inline figure a notebook shows."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import matplotlib.dates as mdates
import pytest

from plan.test_groups import ROWS
from support.store_support import ListStore, child_env

from smtql.errors import QueryError
from smtql.executor import Executor
from smtql.language.parser import parse

UTC = timezone.utc
STORE = ListStore(ROWS.values())


def run(query, **kw):
    return list(Executor(STORE, **kw).run(parse(query)))[-1]


def test_a_group_by_over_periods_draws_a_line_per_color_value():
    res = run("plot count all group by month, model.kind")
    assert (res.kind, res.x, res.color) == ("line", "month", "model.kind")
    ax = res.figure.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert sorted(lines) == ["gru", "lstm", "rnn"]
    gru = lines["gru"]
    dates = [mdates.num2date(x) for x in gru.get_xdata(orig=False)]
    assert dates == [datetime(2020, 11, 1, tzinfo=UTC), datetime(2020, 12, 1, tzinfo=UTC),
                     datetime(2021, 1, 1, tzinfo=UTC)]
    assert list(gru.get_ydata()) == [2, 1, 1]  # a, b in 2020-11; e; g
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["gru", "lstm", "rnn"]
    assert ax.get_legend().get_title().get_text() == "model.kind"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("month (UTC)", "count")
    assert ax.get_title() == "count all group by month, model.kind"


def test_durations_are_drawn_in_a_readable_unit_and_text_as_bars():
    res = run("plot all group by user show mean(duration) as bar")
    ax = res.figure.axes[0]
    assert ax.get_ylabel() == "mean(duration) (s)"  # means of 7.5 to 21 seconds
    assert [round(p.get_height(), 6) for p in ax.patches] == [20.0, 21.0, 7.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ada", "alan", "emmy"]
    hours = run("plot all show timestamp, duration").series[0]
    assert len(hours.x) == 6 and hours.y_unit == "duration"  # e has no duration: left out


def test_a_find_draws_columns_against_the_first_and_one_column_as_a_histogram():
    res = run("plot all show timestamp, duration color user")
    assert (res.kind, res.color) == ("line", "user")  # over a timestamp: a line
    assert sorted(s.name for s in res.series) == ["ada", "alan", "emmy"]
    scatter = run("plot all show outputs, duration")
    assert scatter.kind == "scatter"
    assert len(scatter.figure.axes[0].collections) == 1
    hist = run("plot all show duration")
    assert hist.kind == "hist"
    ax = hist.figure.axes[0]
    assert sum(p.get_height() for p in ax.patches) == 6 and ax.get_ylabel() == "records"


@pytest.mark.parametrize("ext,magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_to_file_writes_the_format_of_its_extension(tmp_path, ext, magic):
    path = tmp_path / f"chart.{ext}"
    res = run(f'plot count all group by week to "{path}"')
    assert path.read_bytes().startswith(magic)
    assert res.render("table") == f"wrote the chart to {path}"


def test_bad_plots_are_refused_with_a_reason(tmp_path):
    with pytest.raises(QueryError, match="must end in"):
        run(f'plot count all group by week to "{tmp_path / "chart.gif"}"')
    with pytest.raises(QueryError, match="one key along the x axis"):
        run("plot count all group by week, user, status")
    dry = run(f'plot count all group by week to "{tmp_path / "c.png"}"', dry_run=True)
    assert "nothing written" in dry.text and not (tmp_path / "c.png").exists()


def test_a_notebook_shows_the_figure_inline():
    from IPython.core.formatters import HTMLFormatter, PNGFormatter
    res = run("plot count all group by day")
    assert PNGFormatter()(res)[:4] == b"\x89PNG"  # what IPython displays in a notebook
    assert HTMLFormatter()(res) is None  # the figure, not a table


def test_the_command_line_draws_in_a_terminal_and_refuses_a_pipe(demo_project):
    import pexpect
    query = "plot count tag finished group by month"
    proc = subprocess.run([sys.executable, "-m", "smtql", "-C", str(demo_project), query],
                          capture_output=True, text=True, env=child_env(), timeout=120)
    assert proc.returncode == 2 and 'to "chart.png"' in proc.stderr
    child = pexpect.spawn(sys.executable, ["-m", "smtql", "-C", str(demo_project), query],
                          env=child_env(), encoding="utf-8", dimensions=(30, 100), timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    screen = child.before
    assert child.exitstatus == 0
    assert query[len("plot "):] in screen and "month" in screen and "┤" in screen  # title, axis, ticks


def test_the_docs_figures_are_made_again_by_their_script(demo_project, tmp_path):
    """docs/figures/make_figures.py (the tutorial's two figures) runs."""
    from pathlib import Path
    script = Path(__file__).resolve().parents[2] / "docs" / "figures" / "make_figures.py"
    proc = subprocess.run([sys.executable, str(script), str(demo_project), str(tmp_path)],
                          capture_output=True, text=True, env=child_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in tmp_path.glob("*.png"))
    assert made == ["duration-per-kind.png", "finished-per-month.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in tmp_path.glob("*.png"))
