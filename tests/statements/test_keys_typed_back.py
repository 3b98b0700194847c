"""Keys that can be typed back (issue 11, item 7): every key smtql prints
is spelled so that pasting it into a query reaches exactly that key.

The property test writes random nested YAML parameter sets with awkward
keys (a top-level `params`, field names and keywords, back-quotes, dots,
spaces, Unicode that is no identifier, and keys PyYAML reads as booleans,
null, integers, floats and dates) into a real Django store (SQLite,
Sumatra 0.8.1's schema), and checks that for every key `keys all` prints,
`find exists KEY` finds exactly the records whose own `keys` list it. The
CLI checks look at each printer: `keys`, `show` headers, `diff` (both
shapes) and the note with the closest keys."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smtql
from smtql.language.parser import read_key
from support.generations import Record, build_store

ROOT = Path(__file__).resolve().parents[2]

AWKWARD = ["params", "status", "label", "and", "tag", "show", "Status", "latest", "true",
           "learning-rate", "a b", "a.b", "x`y", "``", "μtilde", "ü-ö", "١", "1", "", "seed",
           "inputs", "k"]
TYPED = [True, False, None, 0, 1, -2, 1.5, date(2020, 1, 2)]

keys_ = st.one_of(st.sampled_from(AWKWARD), st.sampled_from(TYPED),
                  st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                          min_size=1, max_size=4))
leaf = st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y z"]),
                 st.lists(st.integers(0, 3), max_size=2))
param_sets = st.recursive(leaf, lambda inner: st.dictionaries(keys_, inner, min_size=1,
                                                              max_size=4),
                          max_leaves=10).filter(lambda v: isinstance(v, dict))


def leaf_paths(value, prefix=()) -> set:
    """The test's own walk: each leaf's path, a key known by type and value
    (so True is not 1). `keys` lists leaves; a list of scalars is one."""
    if isinstance(value, dict) and value:
        out = set()
        for k, v in value.items():
            out |= leaf_paths(v, prefix + ((type(k), k),))
        return out
    return {prefix}


def _store(tmp: Path, sets: list[dict]) -> smtql.Connection:
    records = [Record(f"r{i}", datetime(2020, 1, 1 + i), parameters=s, format="yaml",
                      content=yaml.safe_dump(s, sort_keys=False),
                      param_type="YAMLParameterSet")
               for i, s in enumerate(sets)]
    built = build_store("0.8.1", "sqlite", records, target=tmp)
    return smtql.connect(store=built.uri)


_counter = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(sets=st.lists(param_sets, min_size=1, max_size=3))
def test_every_printed_key_reaches_exactly_its_records(sets, tmp_path):
    conn = _store(tmp_path / str(next(_counter)), sets)
    listed = {row["key"]: row["records"] for row in conn.run("keys all")[0].rows}
    own = {f"r{i}": {row["key"] for row in conn.run(f'keys label = "r{i}"')[0].rows}
           for i in range(len(sets))}
    # As many keys as the sets have distinct leaves (by type and value),
    # record by record: no two keys printed alike, none lost.
    for i, s in enumerate(sets):
        assert len(own[f"r{i}"]) == len(leaf_paths(s)), (own[f"r{i}"], s)
    assert len(listed) == len(set().union(*(leaf_paths(s) for s in sets)))
    for key, n in listed.items():
        assert n == sum(key in ks for ks in own.values()), key
        # `exists` holds at a leaf and at every dictionary above one.
        path = read_key(key).path
        having = {label for label, ks in own.items()
                  if any(read_key(k).path[:len(path)] == path for k in ks)}
        found = {row["label"] for row in conn.run(f"find exists {key} show label")[0].rows}
        assert found == having, key
        shown = conn.run(f"find exists {key} show {key}")[0]
        assert shown.columns[-1] == key


# ------------------------------------------------------------------ each printer

QUIRKY = [
    {"params": {"class_list": [{"class": "a"}], "lr": 0.1}, "status": "draft",
     "learning-rate": 0.5, True: 1, 2: "two"},
    {"params": {"class_list": [{"class": "b"}], "lr": 0.2}, "status": "final",
     "learning-rate": 0.5, True: 2, "2": "text two"},
    # an smttask description: keys are listed task-folded, and reach through `inputs`
    {"taskname": "train", "module": "m", "inputs": {"params": {"lr": 0.3}, "status": "t"}},
]


@pytest.fixture(scope="module")
def quirky(tmp_path_factory) -> str:
    records = [Record(f"q{i}", datetime(2021, 1, 1 + i), parameters=s, format="yaml",
                      content=yaml.safe_dump(s, sort_keys=False), param_type="YAMLParameterSet")
               for i, s in enumerate(QUIRKY)]
    return build_store("0.8.1", "sqlite", records, target=tmp_path_factory.mktemp("quirky")).uri


def cli(store: str, program: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "smtql", "--store", store, *args, program],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def test_keys_prints_spellings_that_read_back(quirky):
    out = cli(quirky, "keys all", "--format", "json")
    assert out.returncode == 0, out.stderr
    keys = {row["key"]: row["records"] for row in json.loads(out.stdout)}
    assert keys == {"params.params.class_list.0.class": 2, "params.params.lr": 3,
                    "params.status": 3, "`learning-rate`": 2, "[true]": 2, "[2]": 1, "`2`": 1}
    conn = smtql.connect(store=quirky)
    for key, n in keys.items():
        assert conn.run(f"count exists {key}")[0].count == n, key
    assert [conn.run(p)[0].count for p in ("count [2] = 'two'", "count `2` = 'text two'",
                                           "count [true] = 2", "count params.params.lr = 0.3",
                                           "count params.status = 't'")] == [1, 1, 1, 1, 1]


def test_show_headers_are_the_keys_as_typed(quirky):
    out = cli(quirky, "find label != 'q2' show params.params.lr, params.status, `learning-rate`, "
              "[true]", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "params.params.lr,params.status,`learning-rate`,[true]"


def test_diff_names_keys_as_typed(quirky):
    pair = cli(quirky, "diff q0, q1", "--format", "json")
    many = cli(quirky, "diff where label != 'q2'", "--format", "json")
    assert pair.returncode == many.returncode == 0, (pair.stderr, many.stderr)
    for text in (pair.stdout, many.stdout):
        for key in ("params.params.lr", "params.status", "[true]"):
            assert key in text, (key, text)
        assert '"class_list' not in text and '"status"' not in text.replace('"key"', "")


def test_closest_keys_note_names_keys_as_typed(quirky):
    out = cli(quirky, "count params.statu = 'x'")
    assert "params.status" in out.stdout + out.stderr, out


def test_a_bracket_that_holds_no_key_is_an_error_at_its_place():
    from smtql.api import parse_program
    from smtql.errors import QueryError
    with pytest.raises(QueryError) as err:
        parse_program("count exists a.[x]")
    assert "[x] is not a key" in str(err.value) and "column 14" in str(err.value)
