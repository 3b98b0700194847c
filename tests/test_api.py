"""The Python API (DESIGN.md, "Python"): smtql.connect, Connection.query,
results (.labels, .dataframe(), .records, len) and smtql.load. Answers are
checked against `demo_reference` (Sumatra's own reading, in a subprocess)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

import smtql
from conftest import ABSENT, newest_first, param_of
from smtql.errors import QuerySyntaxError, QueryError, SmtqlError, StoreError
from smtql.result import CountResult, Table

UTC = timezone.utc


def finished(r) -> bool:
    return "_finished_" in r["tags"] or "finished" in r["tags"]


def in_november(r) -> bool:
    return datetime(2020, 11, 1, tzinfo=UTC) <= r["timestamp"] < datetime(2020, 12, 1, tzinfo=UTC)


def test_connect_and_query_labels(demo_connection, demo_reference):
    assert isinstance(demo_connection, smtql.Connection)
    assert "demo" in repr(demo_connection)
    res = demo_connection.query("tag finished and on 2020-11")
    expected = [r["label"] for r in newest_first(r for r in demo_reference
                                                 if finished(r) and in_november(r))]
    assert expected and len(expected) < len(demo_reference)
    assert res.labels == expected
    assert len(res) == len(expected)
    assert [row["label"] for row in res] == expected


def test_dataframe(demo_connection, demo_reference):
    pd = pytest.importorskip("pandas")
    res = demo_connection.query("tag finished latest 4")
    df = res.dataframe()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["label", "timestamp", "tags", "reason", "outcome", "main_file",
                                "duration"]
    expected = newest_first(filter(finished, demo_reference))[:4]
    assert df["label"].tolist() == [r["label"] for r in expected]
    assert len(df) == len(res) == 4
    for (_, row), ref in zip(df.iterrows(), expected):
        assert row["timestamp"] == ref["timestamp"]
        assert set(row["tags"]) == ref["tags"]
        assert row["outcome"] == (ref["outcome"] or "")
        assert (pd.isna(row["duration"]) and ref["duration"] is None) or \
            row["duration"] == ref["duration"]

    df = demo_connection.query("tag finished show label, optimizer.lr, seed latest 4").dataframe()
    assert list(df.columns) == ["label", "optimizer.lr", "seed"]


def test_records_are_sumatra_records(demo_connection, demo_reference):
    from sumatra.records import Record
    res = demo_connection.query("status crashed")
    expected = newest_first(r for r in demo_reference if "_crashed_" in r["tags"])
    assert expected
    records = res.records
    assert all(isinstance(r, Record) for r in records)
    assert [r.label for r in records] == [r["label"] for r in expected]
    assert all("_crashed_" in r.tags for r in records)
    assert demo_connection.query("label = 'no-such-label'").records == []


def test_query_returns_the_last_statement_and_run_returns_all(demo_connection, demo_reference):
    res = demo_connection.query("let f = tag finished; count $f; $f latest 2")
    assert isinstance(res, Table) and len(res) == 2
    results = demo_connection.run("let f = tag finished; count $f; count all")
    assert len(results) == 3
    assert results[0].silent
    assert isinstance(results[1], CountResult)
    assert results[1] == sum(1 for r in demo_reference if finished(r))
    assert results[2] == len(demo_reference)
    with pytest.raises(ValueError):
        demo_connection.query("   # only a comment\n")


def test_query_keyword_arguments_fill_variables(demo_connection, demo_reference):
    start = datetime(2021, 3, 1)  # naive: taken as UTC
    expected = [r["label"] for r in newest_first(
        r for r in demo_reference if finished(r) and r["timestamp"] >= start.replace(tzinfo=UTC))]
    assert demo_connection.query("tag $t and after $d", t="finished", d=start).labels == expected
    assert demo_connection.query("tag finished and after $d", d="2021-03").labels == expected
    assert demo_connection.query("count tag finished and after $d", d=start) == len(expected)
    with pytest.raises(QueryError, match=r"\$d is not set"):
        demo_connection.query("after $d")


def test_query_errors_are_smtql_errors(demo_connection):
    with pytest.raises(QuerySyntaxError) as info:
        demo_connection.query("tag finished and aftr 2020-09-12")
    assert info.value.line == 1 and info.value.column == 23
    with pytest.raises(QueryError):
        demo_connection.query("after 2020-13")


def test_load_returns_the_last_statement(demo_project, demo_reference, tmp_path):
    path = tmp_path / "fig1.smtql"
    path.write_text("# figure 1\n"
                    "let good = tag finished and outcome = 'converged';\n"
                    "count $good;\n"
                    "$good and after $date and optimizer.lr > $lr  -- the figure's runs\n",
                    encoding="utf-8")
    res = smtql.load(path, directory=demo_project, date="2020-09-12", lr=0.0)

    def keep(r):
        lr = param_of(r["params"], ("optimizer", "lr"))
        return (finished(r) and r["outcome"] == "converged"
                and r["timestamp"] >= datetime(2020, 9, 12, tzinfo=UTC)
                and lr is not ABSENT and type(lr) in (int, float) and lr > 0)
    expected = [r["label"] for r in newest_first(filter(keep, demo_reference))]
    assert expected
    assert isinstance(res, Table)
    assert res.labels == expected


def test_load_finds_the_project_the_file_lives_in(demo_project, demo_reference):
    folder = demo_project / "queries"
    folder.mkdir(exist_ok=True)
    path = folder / "count.smtql"
    try:
        path.write_text("count all; count tag $t\n", encoding="utf-8")
        res = smtql.load(str(path), t="figure1")
    finally:
        path.unlink()
        folder.rmdir()
    assert res == sum(1 for r in demo_reference if "figure1" in r["tags"])


def test_load_errors_name_the_file(demo_project, tmp_path):
    path = tmp_path / "bad.smtql"
    path.write_text("count all;\ncount tag finished and\n  lr ==\n", encoding="utf-8")
    with pytest.raises(QuerySyntaxError) as info:
        smtql.load(path, directory=demo_project)
    assert info.value.filename == str(path)
    assert (info.value.line, info.value.column) == (3, 7)
    with pytest.raises(SmtqlError):
        smtql.load(tmp_path / "missing.smtql", directory=demo_project)


def test_connect_to_a_bare_store(demo_project, demo_reference):
    with smtql.connect(store=str(demo_project / ".smt" / "records")) as conn:
        assert conn.query("count all") == len(demo_reference)


def test_connect_errors(tmp_path):
    with pytest.raises(StoreError, match="no Sumatra project"):
        smtql.connect(tmp_path)
    with pytest.raises(StoreError):
        smtql.connect(tmp_path / "missing")
    with pytest.raises(StoreError, match="no record store"):
        smtql.connect(store=str(tmp_path / "missing.db"))
    assert StoreError("x").exit_status == 3
    assert Path(tmp_path).exists()


# ------------------------------------------------------------------ the language on real records

def _p(*path):
    return lambda r: param_of(r["params"], path)


def _num(v) -> bool:
    return type(v) in (int, float)


NOV = (datetime(2020, 11, 1, tzinfo=UTC), datetime(2020, 12, 1, tzinfo=UTC))

# (query, the same question asked of a reference record in plain Python)
ON_REAL_RECORDS = [
    ("on 2020-11", lambda r: NOV[0] <= r["timestamp"] < NOV[1]),
    ("before 2020-11", lambda r: r["timestamp"] < NOV[0]),
    ("after 2020-11 and tag finished", lambda r: r["timestamp"] >= NOV[0] and finished(r)),
    ("tag figure1 and not status finished", lambda r: "figure1" in r["tags"]
     and "_finished_" not in r["tags"]),
    ("tag unfinished-review", lambda r: "unfinished-review" in r["tags"]),
    ('tag like "fig*"', lambda r: any(t.startswith("fig") for t in r["tags"])),
    ('outcome != "converged"', lambda r: (r["outcome"] or "") != "converged"),
    ('outcome = ""', lambda r: not r["outcome"]),
    ("duration != 90", lambda r: r["duration"] is not None and r["duration"] != 90),
    ("duration > 1h", lambda r: r["duration"] is not None and r["duration"] > 3600),
    ("outputs >= 2", lambda r: len(r["outputpath"]) >= 2),
    ('outputpath endswith ".png"', lambda r: any(p.endswith(".png") for p in r["outputpath"])),
    ('outputpath != "x"', lambda r: True),
    ("optimizer.lr != 0.1", lambda r: _p("optimizer", "lr")(r) is not ABSENT
     and not (_num(_p("optimizer", "lr")(r)) and _p("optimizer", "lr")(r) == 0.1)),
    ("not optimizer.lr = 0.1", lambda r: not (_num(_p("optimizer", "lr")(r))
                                              and _p("optimizer", "lr")(r) == 0.1)),
    ("optimizer.lr < 0.05", lambda r: _num(v := _p("optimizer", "lr")(r)) and v < 0.05),
    ("optimizer.model.layers.0.size = 64", lambda r: _p("optimizer", "model", "layers", 0, "size")(r) == 64),
    ("optimizer.model.params.μtilde.0 < -3",
     lambda r: _num(v := _p("optimizer", "model", "params", "μtilde", 0)(r)) and v < -3),
    ("optimizer.betas = [0.9, 0.999]", lambda r: _p("optimizer", "betas")(r) == [0.9, 0.999]),
    ("data.shuffle = true", lambda r: _p("data", "shuffle")(r) is True),
    ("data.shuffle != true", lambda r: _p("data", "shuffle")(r) not in (True, ABSENT)),
    ('params.status = "draft"', lambda r: _p("status")(r) == "draft"),
    ('params.label = "exp-A"', lambda r: _p("label")(r) == "exp-A"),
    ("`learning-rate` = 0.01", lambda r: _num(v := _p("learning-rate")(r)) and v == 0.01),
    ("exists data.subset and data.subset = null", lambda r: _p("data", "subset")(r) is None),
    ("lr = 0.01", lambda r: _num(v := _p("lr")(r)) and v == 0.01),
    ('reason matches "^[A-Z]"', lambda r: (r["reason"] or "")[:1].isupper()),
]


@pytest.mark.parametrize("query,oracle", ON_REAL_RECORDS, ids=[q for q, _ in ON_REAL_RECORDS])
def test_the_language_on_real_records(demo_connection, demo_reference, query, oracle):
    expected = [r["label"] for r in newest_first(filter(oracle, demo_reference))]
    assert demo_connection.query(query).labels == expected


def test_the_real_records_exercise_those_queries(demo_reference):
    """The queries above select some records and leave out others (all but
    a few: the demo's data is generated, and may not hold every value)."""
    idle = [query for query, oracle in ON_REAL_RECORDS
            if not 0 < sum(1 for r in demo_reference if oracle(r)) < len(demo_reference)]
    assert len(idle) <= len(ON_REAL_RECORDS) // 5, idle


def test_timestamps_against_a_python_datetime_compare_as_a_moment(demo_connection, demo_reference):
    t = datetime(2020, 9, 12)  # naive, so UTC; the demo has a record at exactly this moment
    moment = t.replace(tzinfo=UTC)
    assert sum(1 for r in demo_reference if r["timestamp"] == moment) == 1
    checks = {"=": lambda ts: ts == moment, "!=": lambda ts: ts != moment,
              "<": lambda ts: ts < moment, "<=": lambda ts: ts <= moment,
              ">": lambda ts: ts > moment, ">=": lambda ts: ts >= moment}
    for op, test in checks.items():
        expected = [r["label"] for r in newest_first(r for r in demo_reference if test(r["timestamp"]))]
        assert demo_connection.query(f"timestamp {op} $t", t=t).labels == expected, op
