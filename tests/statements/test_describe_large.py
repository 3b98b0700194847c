"""`describe` of a record with a large parameter set (issue 16, item 12):
the set is read once, by the linear literal reader, Sumatra's parameter set
object is never built for it, and what is shown is cut, saying how much."""

from __future__ import annotations

import ast
import json
import sqlite3

import pytest

import smtql
from smtql.params import cache as paramcache
from smtql.params import parse
from smtql.render.layout import DESCRIBE_MAX_CHARS, DESCRIBE_MAX_LINES
from smtql.stores.django import records
from support.large import large_set
from support.store_support import build_demo


@pytest.fixture(scope="module")
def large_params(tmp_path_factory):
    """A demo store whose newest record holds a 5 MB NTParameterSet, stored
    as Sumatra stores it: str() of the set, a dict's repr."""
    project = build_demo("sqlite", tmp_path_factory.mktemp("large") / "p", records=3, seed=4)
    value = large_set(15_000)
    content = str(value)
    assert len(content) > 5_000_000
    db = sqlite3.connect(project / ".smt" / "records")
    pid = db.execute("SELECT MAX(id) + 1 FROM django_store_parameterset").fetchone()[0]
    db.execute("INSERT INTO django_store_parameterset (id, type, content) "
               "VALUES (?, 'NTParameterSet', ?)", (pid, content))
    label = db.execute("SELECT label FROM django_store_record "
                       "ORDER BY timestamp DESC LIMIT 1").fetchone()[0]
    db.execute("UPDATE django_store_record SET parameters_id = ? WHERE label = ?", (pid, label))
    db.commit()
    db.close()
    return project, label, content


def count_leaves(value) -> int:
    if isinstance(value, dict):
        return sum(map(count_leaves, value.values()))
    if isinstance(value, (list, tuple)):
        return sum(map(count_leaves, value))
    return 1


def test_describe_of_a_large_set_is_cut_and_builds_no_parameter_set(large_params, monkeypatch):
    project, label, content = large_params
    paramcache.clear()

    def refuse(*args):
        raise AssertionError("describe built Sumatra's parameter set, or parsed through ast")
    monkeypatch.setattr(records, "_parameter_set", refuse)
    monkeypatch.setattr(parse, "_parse_expression", refuse)
    result = smtql.connect(project).query(f"describe {label}")
    assert paramcache.stats["parsed"] == 1  # the one large set, read once
    want = ast.literal_eval(content)
    assert result.fields["parameters"] == want
    text = result.render("table", width=120)
    assert len(text) < 3 * DESCRIBE_MAX_CHARS
    assert (f"… (cut after {DESCRIBE_MAX_LINES} lines; {count_leaves(want):,} values in all: "
            "--format json shows all)") in text
    assert json.loads(result.render("json"))["parameters"].keys() == want.keys()


def test_the_records_of_a_large_set_still_hold_it(large_params):
    # the API's Records (export, diff, res.records) keep Sumatra's parameter set
    project, label, content = large_params
    record = smtql.connect(project).query(f"describe {label}").records[0]
    assert record.parameters.as_dict() == ast.literal_eval(content)
