"""`keys FILTER` answered from the parameter index (counts per set, each
set's leaf keys read from its shape, a few sets parsed for examples) against
`keys` with --no-index (every record's set parsed): on random stores (YAML
sets with awkward keys, task descriptions, lists of dicts, shared shapes,
sets of several records, an unreadable set) the keys and their counts are
equal, every example is a value the key has in a record of the answer, and
only the example sets are parsed."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smtql
from smtql.params import cache as paramcache
from smtql.params.model import folded, leaves
from smtql.language.spelling import path_text
from smtql.plan import values
from smtql.stores.django import reader
from support.generations import Record, build_store

KEYS = ["a", "b", "lr", "status", "params", "inputs", "a.b", "x y", 1, True]
leaf = st.one_of(st.integers(-3, 3), st.sampled_from(["gru", "lstm", 0.5, None]),
                 st.lists(st.integers(0, 2), max_size=2))


def _tree(inner):
    return st.one_of(
        st.dictionaries(st.sampled_from(KEYS), inner, min_size=1, max_size=3),
        st.lists(st.dictionaries(st.sampled_from(["size", "drop"]), inner, min_size=1,
                                 max_size=2), min_size=1, max_size=2),
        st.builds(lambda i: {"taskname": "T", "module": "m", "inputs": i},
                  st.dictionaries(st.sampled_from(KEYS[:4]), inner, min_size=1, max_size=2)))


param_sets = st.recursive(leaf, _tree, max_leaves=8).filter(lambda v: isinstance(v, dict))
FILTERS = ["all", "tag finished", 'label in ["r0", "r2", "r3"]', "not tag finished",
           "exists a", "lr = 1 or exists params.status"]
_counter = itertools.count()


def _store(tmp, sets, shared, finished) -> str:
    records = []
    for i, s in enumerate(sets + [sets[j % len(sets)] for j in shared]):
        content = yaml.safe_dump(s, sort_keys=False)
        records.append(Record(f"r{i}", datetime(2020, 1, 1) + timedelta(hours=i), parameters=s, format="yaml",
                              content=content, param_type="YAMLParameterSet",
                              tags=("finished",) if i in finished else ()))
    # a set no reader can parse: no keys, either way
    records.append(Record("bad", datetime(2019, 12, 1), content="a: [unclosed",
                          param_type="YAMLParameterSet", tags=("finished",)))
    return build_store("0.8.1", "sqlite", records, target=tmp).uri


def _keys(uri, program, index: bool):
    conn = smtql.connect(store=uri, index=index)
    try:
        table = conn.query(program)
        return {r["key"]: r["records"] for r in table.rows}, {r["key"]: r["examples"]
                                                              for r in table.rows}
    finally:
        conn.close()


def _values_by_key(sets) -> dict:
    out = {}
    for s in sets:
        for path, v in leaves(folded(s)):
            out.setdefault(path_text(tuple(path)), []).append(v)
    return out


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(sets=st.lists(param_sets, min_size=1, max_size=4),
       shared=st.lists(st.integers(0, 5), max_size=3),
       finished=st.sets(st.integers(0, 7)))
def test_keys_from_the_index_equal_keys_parsed(sets, shared, finished, tmp_path):
    uri = _store(tmp_path / str(next(_counter)), sets, shared, finished)
    every = _values_by_key(sets)
    for program in FILTERS:
        counts, examples = _keys(uri, f"keys {program}", index=True)
        parsed_counts, _ = _keys(uri, f"keys {program}", index=False)
        assert counts == parsed_counts, program
        for key, shown in examples.items():
            assert 1 <= len(shown) <= 3, (program, key)
            assert all(any(values.equal(x, v) for v in every[key]) for x in shown), (key, shown)


def test_keys_from_the_index_parse_only_the_example_sets(tmp_path, monkeypatch):
    """400 records of two shapes: `keys all` parses EXAMPLE_SETS sets a
    shape once the index exists, not 400 (a count of parses, not a time)."""
    sets = [{"lr": i / 100, "model": {"kind": ["gru", "lstm"][i % 2], "layers": i % 3}}
            if i % 4 else {"seed": i, "data": {"n": i}} for i in range(400)]
    uri = _store(tmp_path, sets, [], set(range(0, 400, 3)))
    smtql.connect(store=uri).query("count lr > 0")  # builds the index
    parses = []
    real = paramcache.parse
    monkeypatch.setattr(reader.paramcache, "parse",
                        lambda *a, **k: parses.append(a) or real(*a, **k))
    counts, examples = _keys(uri, "keys all", index=True)
    assert counts["model.kind"] == 300 and counts["seed"] == 100
    assert len(examples["lr"]) == 3 and len(examples["model.kind"]) == 2
    assert len(parses) == 2 * reader.EXAMPLE_SETS
    parses.clear()
    assert _keys(uri, "keys all", index=False)[0] == counts
    assert len(parses) > 400  # every set, the unreadable one too


@pytest.mark.parametrize("backend", ["postgres", "mysql"])
def test_keys_from_the_index_on_servers(backend):
    sets = [lambda i: {"lr": 0.1, "b": {"c": i}},
            lambda i: {"taskname": "T", "module": "m", "inputs": {"lr": 0.2, "d": [1, i]}}]
    records = [Record(f"r{i}", datetime(2020, 1, 1 + i), parameters=sets[i % 2](i),
                      format="json", tags=("finished",) if i % 3 else ()) for i in range(7)]
    uri = build_store("0.8.1", backend, records).uri
    for program in ("keys all", "keys tag finished", "keys b.c > 0"):
        assert _keys(uri, program, True)[0] == _keys(uri, program, False)[0], program
