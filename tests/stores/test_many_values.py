"""More values than any database binds (issue 15, item 4; issue 16, item
12): SQLite takes 32,766 bound parameters, PostgreSQL and MariaDB 65,535.
A `label in [...]`, a parameter `in`, and an `or` of prefixes with 70,000
values each must answer exactly on all three (one array, JSON text or
grouped `IN`, never a parameter per value). The lists come in as Python
variables: parsing 70,000 literals is the benchmark's business, not this
test's."""

from __future__ import annotations

from datetime import datetime

import pytest

import smtql
from support import store_support
from support.generations import Record, build_store

N = 70_000
RECORDS = [Record(f"20200101-00000{i}", datetime(2020, 1, 1, 0, 0, i), reason=f"run {i}",
                  parameters={"seed": i, "name": f"n{i}"}, format="yaml") for i in range(5)]


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def conn(request, tmp_path_factory):
    store_support.require_server(request.param)
    built = build_store("0.8.1", request.param, RECORDS,
                        target=tmp_path_factory.mktemp(f"many-{request.param}"))
    c = smtql.connect(store=built.uri)
    yield c
    c.close()


def test_label_in_more_values_than_any_database_binds(conn):
    labels = [f"x{i}" for i in range(N)] + [RECORDS[1].label, RECORDS[3].label]
    assert conn.run("count label in $labels", labels=labels)[0].count == 2


def test_parameter_in_more_values_than_any_database_binds(conn):
    seeds = list(range(3, N + 3))
    assert conn.run("count seed in $seeds", seeds=seeds)[0].count == 2
    names = [f"m{i}" for i in range(N)] + ["n0"]
    assert conn.run("count name in $names", names=names)[0].count == 1


def test_an_or_of_more_prefixes_than_any_database_binds(conn):
    program = "count " + " or ".join(f'reason startswith $p{i}' for i in range(3))
    prefixes = {f"p{i}": p for i, p in enumerate(("run 2", "zz", "run 4"))}
    assert conn.run(program, **prefixes)[0].count == 2
    # the same fold over many prefixes, built as a filter variable
    many = [f"q{i}" for i in range(N)] + ["run 1"]
    from smtql.language import ast
    f = ast.Or(tuple(ast.Compare(ast.Field("reason"), "startswith", ast.Const(p)) for p in many))
    assert conn.run("count $f", f=f)[0].count == 1
