"""More values than any database binds (issue 15, item 4; issue 16, item
12): SQLite takes 32,766 bound parameters, PostgreSQL and MariaDB 65,535.
A `label in [...]`, a parameter `in`, and an `or` of prefixes with 70,000
values each must answer exactly on all three (one array or JSON text,
never a parameter per value); an `or` of prefixes, folded into one `IN`
per prefix length, likewise. The lists come in as Python
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


def test_an_or_of_many_prefixes_is_exact_on_every_database(conn):
    """The fold of an `or` of prefixes (one IN per prefix length, in bytes
    on MariaDB): non-ASCII prefixes, an empty one, and more of one length
    than go inline (then they travel as one array)."""
    def count(prefixes):
        program = "count " + " or ".join(f"reason startswith $p{i}" for i in range(len(prefixes)))
        return conn.run(program, **{f"p{i}": p for i, p in enumerate(prefixes)})[0].count
    assert count(["run 2", "zz", "run 4", "é", "rün"]) == 2
    assert count([f"q{i:04}" for i in range(1200)] + ["run 1"]) == 1
    assert count(["nope", ""]) == 5
