"""IPython magics: `%load_ext smtql`, `%smtql`, `%%smtql`, their options,
Python variables for `$name`, `%config SmtqlMagic.…`, UsageError for
mistakes; and examples/notebook.ipynb run with a real kernel (nbclient)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("IPython")
from IPython.core.error import UsageError  # noqa: E402

from smtql.frontends.magic import SmtqlMagic, python_variables, split_options  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    from IPython.core.interactiveshell import InteractiveShell
    old = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext smtql", store_history=False)
    yield shell
    shell.run_cell("%unload_ext smtql", store_history=False)
    InteractiveShell.clear_instance()
    if old is None:
        os.environ.pop("IPYTHONDIR", None)
    else:
        os.environ["IPYTHONDIR"] = old


@pytest.fixture
def magic(ip, demo_project):
    m = next(c for c in ip.configurables if isinstance(c, SmtqlMagic))
    m.directory = str(demo_project)
    yield m
    m.directory = m.store = m.project = None


def run(ip, cell):
    result = ip.run_cell(cell, store_history=False)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return result.result


# ------------------------------------------------------------------ the extension

def test_load_ext_registers_both_magics_and_a_configurable(ip):
    assert ip.find_line_magic("smtql") is not None
    assert ip.find_cell_magic("smtql") is not None
    assert any(isinstance(c, SmtqlMagic) for c in ip.configurables)


def test_config_sets_the_directory_once(ip, demo_project, demo_connection):
    ip.user_ns["DEMO"] = str(demo_project)
    run(ip, "%config SmtqlMagic.directory = DEMO")
    magic = next(c for c in ip.configurables if isinstance(c, SmtqlMagic))
    try:
        assert magic.directory == str(demo_project)
        res = run(ip, "%smtql count tag finished")
        assert res.count == demo_connection.query("count tag finished").count
    finally:
        magic.directory = None


# ------------------------------------------------------------------ running

def test_line_magic_returns_a_result_that_displays_as_html(ip, magic, demo_connection):
    res = run(ip, "%smtql tag finished latest 3")
    assert res.labels == demo_connection.query("tag finished latest 3").labels
    html = res._repr_html_()
    assert "<table" in html and res.labels[0] in html
    assert list(res.dataframe()["label"]) == res.labels
    assert [r.label for r in res.records] == res.labels


def test_cell_magic_binds_with_o_and_reads_python_variables(ip, magic, demo_connection):
    size = demo_connection.query('tag finished and optimizer.model.kind = "gru" '
                                 'show optimizer.model.layers.0.size').rows[0][
                                     "optimizer.model.layers.0.size"]
    ip.user_ns.update(size=size, kind="gru")
    res = run(ip, "%%smtql -o runs\n"
                  "tag finished and optimizer.model.layers.0.size = $size and "
                  "optimizer.model.kind = $kind\n"
                  "show label, optimizer.lr")
    expected = demo_connection.query(f'tag finished and optimizer.model.layers.0.size = {size} '
                                     'and optimizer.model.kind = "gru"').labels
    assert res.labels == expected and expected
    assert ip.user_ns["runs"] is res


def test_let_wins_over_a_python_variable(ip, magic, demo_connection):
    ip.user_ns["good"] = 12345
    res = run(ip, "%smtql let good = tag finished; count $good")
    assert res.count == demo_connection.query("count tag finished").count


def test_python_values_pass_as_they_are(ip, magic, demo_connection):
    import datetime
    ip.user_ns["since"] = datetime.date(2020, 9, 12)
    ip.user_ns["sizes"] = [64, 128]
    res = run(ip, "%smtql count after $since and optimizer.model.layers.0.size in $sizes")
    assert res.count == demo_connection.query(
        "count after 2020-09-12 and optimizer.model.layers.0.size in [64, 128]").count


def test_variables_inside_a_function_scope(ip, magic, demo_connection):
    run(ip, "def finished_since(day):\n"
            "    answer = %smtql count tag finished and after $day\n"
            "    return answer\n")
    res = run(ip, "finished_since('2020-09-12')")
    assert res.count == demo_connection.query("count tag finished and after 2020-09-12").count


def test_several_statements_display_all_and_return_the_last(ip, magic, capsys):
    res = run(ip, "%%smtql\ncount all;\nlet x = tag finished;\ncount $x")
    assert res.count < run(ip, "%smtql count all").count
    res = run(ip, "%smtql let only = tag finished")
    assert res is None  # a `let` shows nothing


def test_f_runs_a_saved_file_with_notebook_variables(ip, magic, demo_connection):
    ip.user_ns["since"] = "2020-09-12"
    res = run(ip, f"%smtql -f {EXAMPLES / 'figure1.smtql'}")
    expected = demo_connection.query(
        'tag figure1, finished and optimizer.model.kind in ["gru", "lstm"] and after 2020-09-12 '
        'and duration > 0s').labels
    assert sorted(res.labels) == sorted(expected) and expected


def test_f_uses_the_files_own_project_without_other_settings(ip, demo_project, tmp_path,
                                                             demo_connection):
    magic = next(c for c in ip.configurables if isinstance(c, SmtqlMagic))
    assert magic.directory is None
    query = demo_project / "fig_magic.smtql"
    query.write_text("count tag finished\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = os.getcwd()
    os.chdir(elsewhere)  # no project here
    try:
        res = run(ip, f"%smtql -f {query}")
    finally:
        os.chdir(cwd)
        query.unlink()
    assert res.count == demo_connection.query("count tag finished").count


def test_options_on_the_line_win_over_config(ip, magic, demo_project, tmp_path):
    magic.directory = str(tmp_path)  # not a project
    with pytest.raises(UsageError, match="no Sumatra project"):
        run(ip, "%smtql count all")
    assert run(ip, f"%smtql -C {demo_project} count all").count > 0
    assert run(ip, f"%smtql --store {demo_project} count all").count > 0


def test_dry_run_is_accepted(ip, magic):
    assert run(ip, "%smtql --dry-run count all").count > 0


# ------------------------------------------------------------------ mistakes

def test_a_syntax_error_is_a_usage_error_with_the_caret(ip, magic):
    with pytest.raises(UsageError) as info:
        run(ip, "%smtql count all; aftr 2020")
    text = str(info.value)
    assert text.splitlines()[1:3] == ["  count all; aftr 2020", "                  ^^^^"]
    assert "did you mean 'after' instead of 'aftr'?" in text


def test_the_shell_shows_usage_errors_without_a_traceback(ip, magic, capsys):
    result = ip.run_cell("%smtql count $nowhere_bound", store_history=False)
    assert isinstance(result.error_in_exec, UsageError)
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "UsageError" in shown and "$nowhere_bound is not set" in shown
    assert "Traceback" not in shown


def test_errors_in_files_name_the_file(ip, magic, tmp_path):
    bad = tmp_path / "bad.smtql"
    bad.write_text("count all;\n\ncount tag finished and aftr 2020\n")
    with pytest.raises(UsageError, match=rf"{bad}:3:"):
        run(ip, f"%smtql -f {bad}")
    unset = tmp_path / "unset.smtql"
    unset.write_text("count all;\ncount after $someday\n")
    with pytest.raises(UsageError, match=rf"{unset}:2:13: \$someday is not set"):
        run(ip, f"%smtql -f {unset}")


@pytest.mark.parametrize("cell, message", [
    ("%smtql", "no program"),
    ("%smtql --dryrun count all", "unknown option --dryrun"),
    ("%smtql -o", "-o needs a value"),
    ("%smtql -f /no/such/file.smtql", "no such file"),
    ("%smtql -f x.smtql count all", "not both"),
    ("%%smtql count all\ncount all", "only options on its first line"),
])
def test_usage_mistakes(ip, magic, cell, message, tmp_path):
    if "x.smtql" in cell:
        (tmp_path / "x.smtql").write_text("count all")
        cell = cell.replace("x.smtql", str(tmp_path / "x.smtql"))
    with pytest.raises(UsageError, match=message):
        run(ip, cell)


# ------------------------------------------------------------------ issue 12, items 6 and 22

def test_name_arrow_binds_the_result_as_jupysql(ip, magic, demo_connection):
    """`%smtql res << PROGRAM` and `%%smtql res <<`: bound, not shown."""
    ip.user_ns.pop("res", None)
    assert run(ip, "%smtql res << tag finished latest 3") is None
    assert ip.user_ns["res"].labels == demo_connection.query("tag finished latest 3").labels
    assert run(ip, "%%smtql --project demo res <<\ncount tag finished") is None
    assert ip.user_ns["res"].count == demo_connection.query("count tag finished").count
    with pytest.raises(UsageError, match="cannot be a Python variable"):
        run(ip, "%smtql 2x << count all")


def test_an_unset_variable_says_to_define_it_in_python(ip, magic):
    ip.user_ns.pop("threshold", None)
    with pytest.raises(UsageError) as info:
        run(ip, "%smtql count seed > $threshold")
    message = str(info.value)
    assert "$threshold is not set" in message and "define `threshold` in Python" in message
    assert "--set" not in message
    assert "^^^^^^^^^^" in message  # the caret under $threshold


def test_a_table_shows_its_first_rows_and_keeps_them_all(ip, magic, demo_connection):
    every = demo_connection.query("find all").labels
    res = run(ip, "%smtql find all")
    assert res.labels == every and len(every) > 12
    html = res._repr_html_()
    assert [label for label in every if label in html] == every[:10]
    assert f"{len(every) - 10} more are in the result" in html
    run(ip, "%config SmtqlMagic.displaylimit = 12")
    try:
        html = run(ip, "%smtql find all")._repr_html_()
        assert [label for label in every if label in html] == every[:12]
        run(ip, "%config SmtqlMagic.displaylimit = 0")
        html = run(ip, "%smtql find all")._repr_html_()
        assert all(label in html for label in every) and "more are in the result" not in html
    finally:
        magic.displaylimit = 10
    few = run(ip, "%smtql find all latest 3")._repr_html_()
    assert "more are in the result" not in few


def test_html_right_aligns_every_numeric_column(ip, magic):
    import re
    html = run(ip, "%smtql find all show label, seed, n_epochs, optimizer.model.kind, "
                   "duration latest 4")._repr_html_()
    head = re.findall(r"<th( class=\"num\")?>([^<]*)</th>", html)
    assert [(name, bool(num)) for num, name in head] == [
        ("label", False), ("seed", True), ("n_epochs", True), ("optimizer.model.kind", False),
        ("duration", True)]
    first = re.search(r"<tbody><tr>(.*?)</tr>", html).group(1)
    assert [bool(num) for num in re.findall(r"<td( class=\"num\")?>", first)] == [
        False, True, True, False, True]
    assert "border" in html  # the table has borders (seen in a browser: see the report)


# ------------------------------------------------------------------ the parts

def test_split_options_keeps_the_program_as_written():
    assert split_options('-C "my dir" -o r reason contains "a  b"') == (
        {"directory": "my dir", "output": "r"}, 'reason contains "a  b"')
    assert split_options("--dry-run --store=x.db count all") == (
        {"dry_run": True, "store": "x.db"}, "count all")
    assert split_options("-- a comment\ncount all") == ({}, "-- a comment\ncount all")


def test_python_variables_skip_let_bound_names():
    ns = {"a": 1, "b": 2, "c": 3}
    assert python_variables("let a = tag x; count $a and seed = $b", ns) == {"b": 2}


# ------------------------------------------------------------------ a real kernel

def test_example_notebook_runs_with_a_real_kernel(demo_project, demo_connection, tmp_path,
                                                  monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    work = tmp_path / "examples"
    work.mkdir()
    for name in ("notebook.ipynb", "figure1.smtql"):
        shutil.copy(EXAMPLES / name, work / name)
    from conftest import child_env
    for key, value in child_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SMTQL_DEMO", str(demo_project))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.read(work / "notebook.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}}).execute()

    def outputs(source_start):
        cell = next(c for c in nb.cells if c.cell_type == "code"
                    and c.source.startswith(source_start))
        return cell.outputs

    def html(source_start):
        (out,) = [o for o in outputs(source_start) if o.output_type == "execute_result"]
        return out.data["text/html"]

    finished = demo_connection.query("count tag finished").count
    assert f">{finished}<" in html("%smtql count tag finished")
    runs = demo_connection.query('tag finished and optimizer.model.kind = "gru" and '
                                 'after 2020-10 latest 5').labels
    assert runs
    table = html("%%smtql -o runs")
    assert "<table" in table and all(label in table for label in runs)
    assert "<table" in html("runs.dataframe()")
    assert outputs("[r.label")[0].data["text/plain"] == "True"
    figure1 = demo_connection.query(
        'tag figure1, finished and optimizer.model.kind in ["gru", "lstm"] and after 2020-09-12 '
        'and duration > 0s').labels
    assert figure1 and all(label in html('since = "2020-09-12"') for label in figure1)
    assert outputs("import smtql")[0].data["text/plain"] == str(len(figure1))
    # results: a notebook function as a predicate, values and files from output files
    good = demo_connection.query('tag finished and $c and output("metrics.json").loss < 0.1 '
                                 'latest 5', c=lambda rec: "converged" in rec.outcome)
    assert good.labels and all(label in html("def converged") for label in good.labels)
    loaded = outputs("metrics = good.load")[0].data["text/plain"]
    assert all(f"'{label}': {m['loss']}" in loaded
               for label, m in good.load("metrics.json").items())
    assert "digest_matches" in html("good.outputs()")
    # diffs: two records side by side, many records one row each
    latest, earliest = (demo_connection.query(f"describe {r}").label for r in ("latest", "earliest"))
    pair = html("%smtql diff latest, earliest")
    assert "<table" in pair and latest in pair and earliest in pair
    many = demo_connection.query("diff where tag figure1 and on 2020-11 depth 2 ignore reason")
    table = html("%%smtql\ndiff where tag figure1")
    assert "<table" in table and all(label in table for label in many.labels)
    # NAME << binds without showing; the table shows 10 rows of 25, the result keeps all
    assert outputs("%smtql recent <<") == []
    # shown once, as HTML (rich, drawing the text form, must not display in the kernel)
    assert [o.output_type for o in outputs("recent")] == ["execute_result"]
    recent = demo_connection.query("find all latest 25").labels
    shown = html("recent")
    assert [label for label in recent if label in shown] == recent[:10]
    assert "15 more are in the result" in shown and '<th class="num">seed</th>' in shown
    assert outputs("len(recent)")[0].data["text/plain"] == "(25, 25)"
    unset = "".join(o.get("text", "") + "".join(o.get("traceback", []))
                    for o in outputs("%smtql count seed > $threshold"))
    assert "define `threshold` in Python" in unset and "--set" not in unset
    # the mistake: UsageError with message and caret, and no traceback
    shown = "".join(o.get("text", "") + "".join(o.get("traceback", []))
                    for o in outputs("%smtql tag finished andd"))
    assert "UsageError" in shown and "^" in shown and "tag finished andd after" in shown
    assert "Traceback" not in shown
