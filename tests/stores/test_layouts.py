"""The generation of a Django store, detected from its tables and columns
(smtql.stores.django.generations), and stores of no known generation: exit 3
with a message naming what is missing, never an SQL error (issue 11, item 1)."""

from __future__ import annotations

import sqlite3

import pytest

from smtql.stores.django.reader import DjangoSqlStore
from support.generations import GENERATIONS, build_store, quirky_records


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("layouts")
    return {g: build_store(g, "sqlite", quirky_records()[:2], target=base / g) for g in GENERATIONS}


@pytest.mark.parametrize("generation", GENERATIONS)
def test_each_generation_is_recognised(generation, stores):
    store = DjangoSqlStore(stores[generation].uri)
    try:
        layout = store.layout
        assert layout.generation == generation
        assert layout.tag.name == ("django_store_tag" if generation == "0.8.1" else "tagging_tag")
        assert layout.outputs_by_key == (generation in ("0.7-0.8dev", "0.8.1"))
        assert ("repeats" in layout.record.columns) == (generation != "0.5")
        assert ("creation" in layout.datakey.columns) == layout.outputs_by_key
        assert layout.content_type_has_name == (generation in ("0.5", "0.6dev"))
        assert (layout.api_would_migrate() is None) == (generation == "0.8.1")
    finally:
        store.close()


def _copy(src, dst, *sql):
    dst.write_bytes(src.read_bytes())
    conn = sqlite3.connect(dst)
    for stmt in sql:
        conn.execute(stmt)
    conn.commit()
    conn.close()
    return str(dst)


def _main(argv, capsys):
    from smtql.frontends.cli import main
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr().err


def test_missing_tag_tables_are_named(stores, tmp_path, capsys):
    path = _copy(stores["0.7-0.8dev"].path, tmp_path / "s.sqlite",
                 "DROP TABLE tagging_taggeditem")
    rc, err = _main(["--store", path, "count all"], capsys)
    assert rc == 3
    assert "not a Sumatra record store smtql can read" in err and "tag tables" in err
    assert "Traceback" not in err and "OperationalError" not in err


def test_missing_output_table_and_column_are_named(stores, tmp_path, capsys):
    path = _copy(stores["0.6dev"].path, tmp_path / "s.sqlite",
                 "DROP TABLE django_store_record_output_data",
                 "ALTER TABLE django_store_record DROP COLUMN stdout_stderr")
    rc, err = _main(["--store", path, "find all"], capsys)
    assert rc == 3
    assert "column django_store_record.stdout_stderr" in err
    assert "django_store_record_output_data" in err


def test_not_a_sumatra_store(tmp_path, capsys):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    rc, err = _main(["--store", str(path), "count all"], capsys)
    assert rc == 3 and "not a Sumatra record store" in err and "django_store_" in err


def test_detection_is_one_statement_per_connection(stores):
    store = DjangoSqlStore(stores["0.5"].uri)
    try:
        opened = store.statements_run
        assert opened <= 1  # 0.5 has no django_migrations: the catalogue only
        before = store.statements_run
        store.projects()
        store.projects()
        assert store.statements_run - before == 2  # no detection again
    finally:
        store.close()
