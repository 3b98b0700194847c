"""Saved queries (`.smtql` files, LANGUAGE.md §5): `smtql.load(FILE, **vars)`,
`smtql run FILE --set NAME=VALUE`, errors that name file, line and column,
and the figure script that rebuilds Figure 1 from examples/figure1.smtql."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import smtql
from smtql.errors import QueryError, QuerySyntaxError

from conftest import child_env

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIGURE1_FILTER = ('tag figure1, finished and optimizer.model.kind in ["gru", "lstm"] '
                  'and after 2020-09-12 and duration > 0s')


def smtql_command() -> list[str]:
    exe = shutil.which("smtql")
    return [exe] if exe else [sys.executable, "-m", "smtql"]


@pytest.fixture
def saved(demo_project):
    """A .smtql file inside the demo project (removed afterwards)."""
    made = []

    def write(name, text):
        path = demo_project / name
        path.write_text(text, encoding="utf-8")
        made.append(path)
        return path

    yield write
    for path in made:
        path.unlink()


def test_load_returns_the_last_statements_result(saved, demo_connection):
    path = saved("q_last.smtql", "-- two statements\ncount all;\nlet fin = tag finished;\n"
                                 "$fin show label latest 3\n")
    res = smtql.load(path)  # the store is the project the file lives in
    assert res.labels == demo_connection.query("tag finished latest 3").labels


def test_load_fills_variables_with_python_values(demo_project, demo_connection):
    expected = demo_connection.query(FIGURE1_FILTER).labels
    assert expected
    for since in ("2020-09-12", datetime.date(2020, 9, 12), datetime.datetime(2020, 9, 12)):
        res = smtql.load(EXAMPLES / "figure1.smtql", directory=demo_project, since=since)
        assert sorted(res.labels) == sorted(expected)
    assert list(res.dataframe().columns) == ["label", "optimizer.model.kind", "n_epochs",
                                             "optimizer.model.layers.0.size", "duration"]
    assert [r.label for r in res.records] == res.labels


def test_load_names_an_unset_variable_with_file_line_and_column(demo_project):
    with pytest.raises(QueryError) as info:
        smtql.load(EXAMPLES / "figure1.smtql", directory=demo_project)
    err = info.value
    assert err.filename.endswith("figure1.smtql")
    assert (err.line, err.column) == (13, 20)
    assert "$since is not set" in err.message
    assert err.render().startswith(f"{err.filename}:13:20: $since is not set")


def test_load_names_the_file_of_a_syntax_error(saved):
    path = saved("q_bad.smtql", "count all;\n\ncount tag finished and aftr 2020-09-12\n")
    with pytest.raises(QuerySyntaxError) as info:
        smtql.load(path)
    err = info.value
    assert (err.filename, err.line, err.column) == (str(path), 3, 29)
    assert err.render().splitlines()[0] == f"{path}:3:29: unexpected '2020-09-12' (a date)"


def test_load_of_a_missing_or_empty_file(saved, tmp_path):
    with pytest.raises(smtql.SmtqlError, match="cannot read"):
        smtql.load(tmp_path / "nope.smtql", directory=tmp_path)
    empty = saved("q_empty.smtql", "-- nothing yet\n")
    with pytest.raises(ValueError, match="no statements"):
        smtql.load(empty)


def test_smtql_run_with_set(demo_project, demo_connection):
    proc = subprocess.run(smtql_command() + ["-C", str(demo_project), "run",
                                             str(EXAMPLES / "figure1.smtql"),
                                             "--set", "since=2020-09-12", "--format", "labels"],
                          env=child_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == sorted(demo_connection.query(FIGURE1_FILTER).labels)


def test_smtql_run_error_names_the_file(demo_project):
    proc = subprocess.run(smtql_command() + ["-C", str(demo_project), "run",
                                             str(EXAMPLES / "figure1.smtql")],
                          env=child_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"smtql: {EXAMPLES / 'figure1.smtql'}:13:20: $since is not set")


def test_figure_script_draws_a_png(demo_project, demo_connection, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "figure1.png"
    proc = subprocess.run([sys.executable, str(EXAMPLES / "make_figure1.py"),
                           "-C", str(demo_project), "--since", "2020-09-12", "-o", str(out)],
                          env=dict(child_env(), MPLBACKEND="Agg"), capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    labels = demo_connection.query(FIGURE1_FILTER).labels
    assert proc.stdout.strip() == f"wrote {out} from {len(labels)} records"
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 10_000  # axes, points and text, not an empty canvas
    # the figure says which query and records made it
    assert b"figure1.smtql since=2020-09-12" in data
    assert all(label.encode() in data for label in labels)
    import matplotlib.image
    pixels = matplotlib.image.imread(str(out))
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[-1])[::97]}) > 20  # colours


def test_figure_script_reports_a_query_that_selects_nothing(demo_project, tmp_path):
    pytest.importorskip("matplotlib")
    proc = subprocess.run([sys.executable, str(EXAMPLES / "make_figure1.py"),
                           "-C", str(demo_project), "--since", "2030-01-01",
                           "-o", str(tmp_path / "f.png")],
                          env=child_env(), capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1
    assert "selects no records" in proc.stderr
    assert not (tmp_path / "f.png").exists()
