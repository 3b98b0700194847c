"""`diff`: two records and many, depth, ignore, raw, missing keys and nulls,
on the fixed store of tests/support/fixture_store.py."""

from __future__ import annotations

import json

import pytest

from support.fixture_store import FixedStore, run
from smtql.errors import SmtqlError
from smtql.result import Folded
from smtql.plan.values import MISSING

A, B = "20200912-101500_aaaaaa", "20200912-101500_bbbbbb"
TASK = "20200913-083000"  # parameters as smttask task descriptions
WIDE = "20200914-120000_cccccc"


def params(result) -> dict:
    return {name: cells for name, cells in result.params}


def fields(result) -> dict:
    return {name: cells for name, cells in result.fields}


def test_two_records_differ_in_one_key():
    res = run(f"diff {A}, {B}")
    assert res.pair and res.labels == [A, B]
    assert params(res) == {"seed": (1, 2)}
    assert "output_data" in fields(res)  # different digests
    assert "version" not in fields(res) and "input_data" not in fields(res)
    assert res.compared == 6


def test_task_folding_lets_task_and_plain_parameters_compare():
    res = run(f"diff {A}, {TASK}")
    got = params(res)
    # folded, the task record's keys read like the plain record's
    assert got == {"data.subset": (None, MISSING), "optimizer.lr": (0.01, 0.001)}
    f = fields(res)
    assert f["version"] == ("1111111", "2222222")
    assert f["diff"][0] == "" and "print('debug')" in f["diff"][1]
    assert "dependencies" not in f  # the same numpy and yaml in both


def test_raw_keeps_task_descriptions():
    got = params(run(f"diff {A}, {TASK} raw"))
    assert got["inputs.optimizer.inputs.lr"] == (MISSING, 0.001)
    assert got["optimizer.lr"] == (0.01, MISSING)
    assert got["taskname"] == (MISSING, "Train")


def test_missing_is_not_null():
    res = run(f"diff {A}, {TASK}")
    assert params(res)["data.subset"] == (None, MISSING)
    text = res.render("table", width=100)
    line = next(l for l in text.splitlines() if l.startswith("data.subset"))
    assert line.split()[1:] == ["null", "—"]
    data = json.loads(res.render("json"))
    assert data["parameters"]["data.subset"] == {A: None}  # B lacks it: no entry


def test_dependencies_and_data_compared_like_smt_diff():
    res = run(f"diff {A}, {WIDE}")
    f = fields(res)
    assert f["dependencies"] == (("numpy 1.24.1",), ("numpy 1.26.0",))
    out_a, out_b = f["output_data"]
    assert len(out_a) == len(out_b) == 1  # run.log is left out, as Sumatra does
    assert "input_data" not in f  # same digest


def test_many_records_one_row_each_one_column_per_differing_key():
    res = run("diff where tag figure1")
    assert not res.pair
    assert res.labels == [WIDE, TASK, A, B]  # newest first
    got = params(res)
    assert set(got) == {"data.dataset", "data.subset", "`learning-rate`", "optimizer.lr",
                        "optimizer.model.kind", "optimizer.model.layers.0.size",
                        "optimizer.model.layers.1.size", "seed", "params.status"}
    assert got["data.subset"] == (1000, MISSING, None, None)
    assert got["params.status"] == ("draft", MISSING, MISSING, MISSING)
    assert "launch_mode" not in fields(res)  # many records: only what Rows hold


def test_depth_folds_deeper_keys_into_their_prefix():
    res = run("diff where tag figure1 depth 1")
    got = params(res)
    assert set(got) == {"data", "`learning-rate`", "optimizer", "seed", "params.status"}
    assert res.folded == ["data", "optimizer"]
    opt = got["optimizer"]
    assert all(isinstance(c, Folded) for c in opt)
    assert opt[2] == opt[3] and opt[0] != opt[2]  # A and B share the sub-tree
    assert "<+>" in res.render("table", width=200)
    res2 = run("diff where tag figure1 depth 2")
    assert "optimizer.model" in res2.folded and "optimizer.lr" in params(res2)


def test_depth_zero_folds_everything():
    res = run(f"diff {A}, {B} depth 0")
    assert list(params(res)) == ["params"]


def test_ignore_at_any_level_and_fields():
    res = run("diff where tag figure1 ignore seed, layers, reason")
    got = params(res)
    assert "seed" not in got
    assert not any("layers" in k for k in got)
    assert "reason" not in fields(res) and "main_file" in fields(res)
    assert res.ignored == ["seed", "layers", "reason"]
    assert run(f"diff {A}, {B} ignore seed, output_data").differs is False


def test_same_records_show_no_differences():
    res = run(f"diff {A}, {B} ignore seed, output_data")
    assert "no differences" in res.render("table", width=100)


def test_diff_needs_two_records():
    with pytest.raises(SmtqlError, match="at least two"):
        run(f"diff {A}")
    with pytest.raises(SmtqlError, match="at least two"):
        run(f"diff {A}, {A}")
    with pytest.raises(SmtqlError, match="selects 1"):
        run("diff where tag baseline")


def test_unreadable_parameters_are_noted_not_fatal():
    res = run("diff where all")
    assert any("could not be read" in n for n in res.notes)
    assert res.labels[1] == "20200915-090000_dddddd"


def test_list_of_refs_keeps_its_order_and_latest_earliest_work():
    assert run(f"diff {B}, {A}, {TASK}").labels == [B, A, TASK]
    res = run("diff latest, earliest")
    assert res.labels == ["20200916-000000_eeeeee", A]


def test_cost_grows_with_records_times_keys():
    """Ten thousand records sharing few parameter sets diff in well under a
    second (the benchmark measures the unshared case)."""
    import time
    from smtql.statements.diff import diff_rows
    store = FixedStore()
    rows = [r for r in store.rows if isinstance(r.params, dict)] * 2000
    start = time.perf_counter()
    res = diff_rows(rows, depth=None)
    assert time.perf_counter() - start < 2
    assert len(res.labels) == len(rows)


def test_without_depth_every_key_is_kept_and_any_depth_can_be_drawn(demo_connection):
    """Issue 12, item 9: a diff of many records asked without `depth` keeps
    every differing key (machine formats get them all); a renderer folds it
    to what its page holds, and folding to depth N gives what `depth N`
    answers, for every N."""
    res = demo_connection.query("diff where before 2020-10-01")
    assert len(res.labels) > 2 and res.depth is None and not res.folded
    assert res.folds is not None and res.folds.deepest >= 3
    assert not any(isinstance(c, Folded) for _, cells in res.params for c in cells)
    for depth in range(res.folds.deepest + 1):
        asked = demo_connection.query(f"diff where before 2020-10-01 depth {depth}")
        assert asked.folds is None  # an explicit depth is obeyed, never refolded
        drawn = res.folded_to(depth)
        assert drawn.params == asked.params and drawn.folded == asked.folded, depth
        assert drawn.default_depth and drawn.depth == depth
    assert json.loads(res.render("json"))["depth"] is None


def test_two_records_are_never_refolded():
    assert run(f"diff {A}, {B}").folds is None
