"""`plot` (LANGUAGE.md §10): the chart's data checked through matplotlib's
own objects (lines, bars, legend, axis labels and units, title), files
written in each format, the terminal chart through a pseudo-terminal, a
pipe refused (exit 2), and the inline figure a notebook shows."""

from __future__ import annotations

import re
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


def _ydata(ax) -> dict:
    return {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}


def test_a_second_unit_gets_its_own_axis_and_one_legend_covers_both():
    res = run("plot all group by month show count, mean(duration)")
    left, right = res.figure.axes
    assert left.get_shared_x_axes().joined(left, right)  # a twin: one x axis
    assert (left.get_ylabel(), right.get_ylabel()) == ("count", "mean(duration) (s)")
    # 2020-11: a, b, c, d (10, 30, 2, 40 s); 2020-12: e (no duration); 2021-01: f, g (5, 10 s)
    assert _ydata(left) == {"count": [4, 1, 2]}
    assert _ydata(right) == {"mean(duration)": [20.5, 7.5]}
    legend = right.get_legend()  # on the top axes, drawn over both
    assert [t.get_text() for t in legend.get_texts()] == ["count", "mean(duration)"]
    assert left.get_legend() is None
    colors = [line.get_color() for line in left.get_lines() + right.get_lines()]
    assert len(set(colors)) == 2  # a twin restarts the cycle; the series do not share a color


def test_series_of_one_unit_share_an_axis_and_its_scale():
    res = run("plot all group by month show count, count(seed)")
    (ax,) = res.figure.axes
    assert ax.get_ylabel() == "count, count(seed)"
    assert _ydata(ax) == {"count": [4, 1, 2], "count(seed)": [4, 1, 1]}
    hours = run("plot all group by user show min(duration), max(duration) as bar")
    (ax,) = hours.figure.axes
    assert ax.get_ylabel() == "min(duration), max(duration) (s)"
    assert len(ax.patches) == 6


def test_each_unit_an_axis_colored_series_on_the_axis_of_their_column():
    res = run("plot all group by month, model.kind show count, sum(duration), max(timestamp)")
    axes = res.figure.axes
    assert [a.get_ylabel() for a in axes] == ["count", "sum(duration) (s)",
                                              "max(timestamp) (UTC)"]
    assert axes[2].spines["right"].get_position() != axes[1].spines["right"].get_position()
    assert sorted(_ydata(axes[0])) == ["count, gru", "count, lstm", "count, rnn"]
    assert _ydata(axes[1])["sum(duration), gru"] == [40, 10]  # a + b; g (e has none)
    stamps = [mdates.num2date(v) for v in axes[2].get_lines()[0].get_ydata(orig=False)]
    assert stamps[0] == datetime(2020, 11, 3, 10, 30, tzinfo=UTC)  # b, gru's newest in Nov.
    labels = [t.get_text() for t in axes[-1].get_legend().get_texts()]
    assert len(labels) == sum(len(a.get_lines()) for a in axes) == len(res.series)


def test_the_terminal_chart_draws_a_second_unit_on_its_right_axis():
    text = re.sub(r"\x1b\[[0-9;]*m", "", run("plot all group by month show count, "
                                             "mean(duration)").render("table", width=100))
    assert "count (left)" in text and "mean(duration) (right)" in text
    last = text.splitlines()[-1]
    assert last.split()[0] == "count" and last.rstrip().endswith("mean(duration) (s)")
    assert "not drawn" not in text
    three = run("plot all group by month show count, mean(duration), max(timestamp)")
    assert three.render("table", width=100).splitlines()[-1].startswith(
        "not drawn: max(timestamp) (a terminal chart has two y axes")


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
    def drawn(query):
        """What the command line draws in a 30 × 100 terminal, and its exit status."""
        child = pexpect.spawn(sys.executable, ["-m", "smtql", "-C", str(demo_project), query],
                              env=child_env(), encoding="utf-8", dimensions=(30, 100),
                              timeout=120)
        child.expect(pexpect.EOF)
        child.close()
        return child.before, child.exitstatus

    screen, status = drawn(query)
    assert status == 0
    assert query[len("plot "):] in screen and "month" in screen and "┤" in screen  # title, axis, ticks
    # two units: the second on the right axis, with its unit
    screen, status = drawn("plot status finished group by month show count, mean(duration)")
    assert status == 0
    assert "count (left)" in screen and "mean(duration) (right)" in screen
    assert re.search(r"mean\(duration\) \((s|min|h|d)\)", screen)


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
