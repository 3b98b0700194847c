"""smtql.params.model: reading keys (task folding, list indices, number keys),
listing keys, and Sumatra's parameter objects as plain data (LANGUAGE.md §3)."""

from __future__ import annotations

from datetime import date

import pytest

from smtql.language.spelling import path_text
from smtql.params.model import Unreadable, folded, leaves, lookup, plain
from smtql.plan.values import MISSING

TASK = {
    "taskname": "Train", "module": "demo.tasks",
    "inputs": {
        "seed": 3,
        "optimizer": {"taskname": "Adam", "module": "demo.optim",
                      "inputs": {"lr": 0.01, "betas": (0.9, 0.999),
                                 "model": {"taskname": "RNN", "module": "demo.models",
                                           "inputs": {"params": {"μtilde": [-3.4, -0.1]},
                                                      "layers": [{"size": 64}, {"size": 32}]}}}},
    },
}


@pytest.mark.parametrize("path,expected", [
    (("optimizer", "model", "params", "μtilde"), [-3.4, -0.1]),
    (("inputs", "optimizer", "inputs", "model", "inputs", "params", "μtilde"), [-3.4, -0.1]),
    (("optimizer", "inputs", "model", "params", "μtilde", 0), -3.4),
    (("inputs", "optimizer", "model", "inputs", "params", "μtilde", 1), -0.1),
    (("optimizer", "model", "layers", 1, "size"), 32),
    (("optimizer", "betas", 1), 0.999),
    (("optimizer", "lr"), 0.01),
    (("seed",), 3),
    (("taskname",), "Train"),           # a key of the task itself wins over folding
    (("optimizer", "module"), "demo.optim"),
    ((), TASK),
])
def test_lookup_with_task_folding(path, expected):
    assert lookup(TASK, path) == expected


@pytest.mark.parametrize("path", [
    ("lr",), ("optimizer", "model", "layers", 2), ("optimizer", "model", "layers", "0"),
    ("optimizer", "lr", "x"), ("seed", 0), ("nothing",), ("optimizer", "model", "params", "mu"),
])
def test_lookup_missing(path):
    assert lookup(TASK, path) is MISSING


def test_folding_needs_taskname_and_a_dict_of_inputs():
    assert lookup({"taskname": "x", "inputs": [1]}, ("a",)) is MISSING
    assert lookup({"inputs": {"a": 1}}, ("a",)) is MISSING
    assert lookup({"taskname": "x", "inputs": {"a": 1}}, ("a",)) == 1


def test_number_segments_match_text_and_integer_keys():
    assert lookup({"0": "text"}, (0,)) == "text"
    assert lookup({0: "int"}, (0,)) == "int"
    assert lookup({"0": "text", 0: "int"}, (0,)) == "text"
    assert lookup([10, 20], (1,)) == 20
    assert lookup((10, 20), (0,)) == 10
    assert lookup([10, 20], (-1,)) is MISSING
    assert lookup("abc", (0,)) is MISSING


def test_stored_none_is_not_missing():
    assert lookup({"a": None}, ("a",)) is None
    assert lookup({"a": None}, ("a", "b")) is MISSING


def test_unreadable_sets_have_no_keys():
    assert lookup(Unreadable("eval needed"), ("a",)) is MISSING
    assert lookup(None, ("a",)) is MISSING


def test_folded_replaces_tasks_by_their_inputs():
    f = folded(TASK)
    assert f == {"seed": 3,
                 "optimizer": {"lr": 0.01, "betas": (0.9, 0.999),
                               "model": {"params": {"μtilde": [-3.4, -0.1]},
                                         "layers": [{"size": 64}, {"size": 32}]}}}
    assert isinstance(f["optimizer"]["betas"], tuple)


def test_leaves_lists_every_key_as_a_user_writes_it():
    found = {path_text(path): value for path, value in leaves(folded(TASK))}
    assert found == {
        "seed": 3, "optimizer.lr": 0.01, "optimizer.betas": (0.9, 0.999),
        "optimizer.model.params.μtilde": [-3.4, -0.1],
        "optimizer.model.layers.0.size": 64, "optimizer.model.layers.1.size": 32,
    }


def test_leaves_of_empty_and_odd_sets():
    assert list(leaves({})) == []
    assert list(leaves({"a": {}})) == [(("a",), {})]
    assert list(leaves({"a": []})) == [(("a",), [])]
    assert list(leaves(5)) == []


def test_a_path_back_quotes_what_is_not_an_identifier():
    assert path_text(("a", 0, "b")) == "a.0.b"
    assert path_text(("learning-rate",)) == "`learning-rate`"
    assert path_text(("μtilde",)) == "μtilde"
    assert path_text(("a b", "c")) == "`a b`.c"


def test_plain_reads_sumatra_parameter_sets():
    sp = pytest.importorskip("sumatra.parameters")
    nt = sp.NTParameterSet({"a": 1, "b": {"c": (1, 2), "d": "x"}, "e": [1.5, None], "f": True})
    assert plain(nt) == {"a": 1, "b": {"c": (1, 2), "d": "x"}, "e": [1.5, None], "f": True}
    assert type(plain(nt)["b"]) is dict

    js = sp.JSONParameterSet('{"a": 1, "b": {"c": [1, 2]}, "s": "x"}')
    assert plain(js) == {"a": 1, "b": {"c": [1, 2]}, "s": "x"}

    ym = sp.YAMLParameterSet("a: yes\nb:\n  c: 2020-09-12\n  d: [1, 2]\n")
    assert plain(ym) == {"a": True, "b": {"c": date(2020, 9, 12), "d": [1, 2]}}

    simple = sp.SimpleParameterSet("a = 1\nb = 'x'\n")
    assert plain(simple) == {"a": 1, "b": "x"}


def test_plain_leaves_plain_data_alone():
    value = {"a": (1, [2, {"b": None}]), "c": "x"}
    assert plain(value) == value
    assert isinstance(plain(value)["a"], tuple)
    assert plain(None) is None
