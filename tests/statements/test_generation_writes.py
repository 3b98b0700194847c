"""`tag`, `untag` and `undo` on stores of every schema generation, on SQLite,
PostgreSQL and MariaDB (issue 11, item 2): the writes go to the tables that
generation has (django-tagging's `tagging_*` before 0.8.1, with
`django_content_type.name` before 0.7), through the same writer, checks and
journal as on 0.8.1; afterwards the `tags` column and the tag tables agree
the way Sumatra of that generation reads them (django-tagging's
`parse_tag_input` of the column = the tag rows), and `undo` restores both
exactly. Each store is this module's own (support.generations databases)."""

from __future__ import annotations

import json

import pytest

from support.generations import BACKENDS, GENERATIONS, build_store, quirky_records
from support import store_support


def smtql(store, *argv, journal):
    """The CLI's main in this process (SQL and SQLAlchemy only, no Django),
    as a CompletedProcess-like record."""
    import contextlib
    import io
    import os
    from types import SimpleNamespace
    from smtql.frontends.cli import main
    out, err = io.StringIO(), io.StringIO()
    old = os.environ.get("SMTQL_JOURNAL_DIR")
    os.environ["SMTQL_JOURNAL_DIR"] = str(journal)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(["--store", store.uri, *argv])
            except SystemExit as exc:
                rc = exc.code
    finally:
        if old is None:
            os.environ.pop("SMTQL_JOURNAL_DIR")
        else:
            os.environ["SMTQL_JOURNAL_DIR"] = old
    return SimpleNamespace(returncode=rc, stdout=out.getvalue(), stderr=err.getvalue())


def state(store) -> dict:
    """{label: (tags column, sorted names in the tag tables)} of the saved records."""
    tag_table, item_table = store.schema.tag_tables
    (ct,) = store.query('SELECT "id" FROM "django_content_type" WHERE "app_label" = ? '
                        'AND "model" = ?', ("django_store", "record"))[0]
    rows = store.query('SELECT "db_id", "label", "tags" FROM "django_store_record"')
    items = store.query(f'SELECT ti."object_id", t."name" FROM "{item_table}" ti '
                        f'JOIN "{tag_table}" t ON t."id" = ti."tag_id" '
                        f'WHERE ti."content_type_id" = ?', (ct,))
    return {label: (column, sorted(n for o, n in items if o == db_id))
            for db_id, label, column in rows}


def tag_tables(store) -> dict:
    """Every row of the tag tables, ids included, and every tags column."""
    tag_table, item_table = store.schema.tag_tables
    return {"tags": sorted(store.query(f'SELECT "id", "name" FROM "{tag_table}"')),
            "items": sorted(store.query(f'SELECT "id", "object_id", "content_type_id", '
                                        f'"tag_id" FROM "{item_table}"')),
            "columns": sorted(store.query('SELECT "db_id", "tags" FROM "django_store_record"'))}


def agrees_with_sumatra(st: dict) -> None:
    from sumatra.recordstore.django_store.tagging_utils import parse_tag_input
    for label, (column, names) in st.items():
        assert sorted(parse_tag_input(column)) == names, label


@pytest.mark.parametrize("generation, backend",
                         [pytest.param(g, b, id=f"{g}-{b}") for g in GENERATIONS for b in BACKENDS])
def test_tag_untag_undo(generation, backend, tmp_path):
    store_support.require_server(backend)
    store = build_store(generation, backend, quirky_records(), target=tmp_path)
    journal = tmp_path / "journal"
    before, tables = state(store), tag_tables(store)
    agrees_with_sumatra(before)

    proc = smtql(store, "--yes", "tag reviewed where tag smttask", journal=journal)
    assert proc.returncode == 0, proc.stderr
    assert "2 records" in proc.stdout
    st = state(store)
    agrees_with_sumatra(st)
    assert st["smttask-nt"] == ("smttask,batch 2,reviewed", ["batch 2", "reviewed", "smttask"])
    assert st["smttask-json"] == ("smttask,reviewed", ["reviewed", "smttask"])
    assert {k: v for k, v in st.items() if not k.startswith("smttask")} == \
        {k: v for k, v in before.items() if not k.startswith("smttask")}

    proc = smtql(store, "--yes", 'untag smttask where tag "batch 2"', journal=journal)
    assert proc.returncode == 0, proc.stderr
    st = state(store)
    agrees_with_sumatra(st)
    assert st["smttask-nt"] == ("batch 2,reviewed", ["batch 2", "reviewed"])
    assert st["smttask-json"] == ("smttask,reviewed", ["reviewed", "smttask"])

    proc = smtql(store, "--format", "labels", "tag reviewed", journal=journal)
    assert proc.stdout.split() == ["smttask-nt", "smttask-json"]

    for _ in range(2):  # undo the untag, then the tag
        proc = smtql(store, "--yes", "undo", journal=journal)
        assert proc.returncode == 0, proc.stderr
    assert state(store) == before
    # byte for byte (issue 16, item 5): the tag items the untag deleted come
    # back with their ids, the tag row the tag made goes again
    assert tag_tables(store) == tables
    assert list(journal.iterdir())  # journalled as on 0.8.1


@pytest.mark.parametrize("generation", ["0.5", "0.7-0.8dev"])
def test_the_checks_refuse_before_changing_anything(generation, tmp_path):
    store = build_store(generation, "sqlite", quirky_records(), target=tmp_path)
    data = store.path.read_bytes()
    for program in ("tag _finished_ where all", "tag failed where all", 'tag "a b" where all'):
        proc = smtql(store, "--yes", program, journal=tmp_path / "journal")
        assert proc.returncode == 1, (program, proc.stderr)
    assert store.path.read_bytes() == data


def test_first_tag_on_a_store_without_the_record_content_type(tmp_path):
    """0.5's django_content_type has a NOT NULL name: a content type the
    writer creates must carry it."""
    store = build_store("0.5", "sqlite", quirky_records()[:1], target=tmp_path)
    import sqlite3
    conn = sqlite3.connect(store.path)
    conn.execute("DELETE FROM django_content_type WHERE model = 'record'")
    conn.commit()
    conn.close()
    proc = smtql(store, "--yes", "tag first where all", journal=tmp_path / "journal")
    assert proc.returncode == 0, proc.stderr
    assert store.query('SELECT "name", "app_label" FROM "django_content_type" '
                       'WHERE "model" = ?', ("record",)) == [("record", "django_store")]
    assert json.loads(smtql(store, "--format", "json", "count tag first",
                            journal=tmp_path / "journal").stdout) == {"count": 1}
