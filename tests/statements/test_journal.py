"""The undo journal (smtql/journal.py): its place and format, the begin
line on disk (fsynced) before the store changes, settling a begin without
an outcome, undo never undoing a write twice, concurrent undos, and no file
made by an undo on a store that has no journal."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import child_env

from smtql.statements.journal import SUFFIX, Journal, journal_path

# ------------------------------------------------------------------ place

def test_journal_path_file_and_server_stores(tmp_path, monkeypatch):
    monkeypatch.delenv("SMTQL_JOURNAL_DIR", raising=False)
    assert journal_path("/x/.smt/records", False) == Path("/x/.smt/records" + SUFFIX)
    monkeypatch.setenv("SMTQL_JOURNAL_DIR", str(tmp_path))
    a = journal_path("postgres://root:secret@127.0.0.1/lab", True)
    assert a.parent == tmp_path and a.name.endswith(SUFFIX)
    assert "secret" not in a.name and "root" not in a.name
    assert a == journal_path("postgres://other@127.0.0.1/lab", True)  # the same database
    assert a != journal_path("postgres://root@127.0.0.1/lab2", True)
    assert a != journal_path("mysql://root@127.0.0.1/lab", True)
    assert journal_path("postgres://h/a/../b", True).parent == tmp_path  # no way out
    # with the override a file store's journal goes there too, one per store
    b, c = journal_path(str(tmp_path / "p" / "records"), False), journal_path("records", False)
    assert b.parent == tmp_path and b != c


# ------------------------------------------------------------------ format

RECORDS = [{"label": "r1", "db_id": 1, "added": ["x"], "removed": [],
            "column_before": "a", "column_after": "a,x"},
           {"label": "r2", "db_id": 2, "added": ["x"], "removed": ["y"],
            "column_before": "y", "column_after": "x"}]


def synced_kind(fd) -> str:
    return "directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"


def test_format_one_fsynced_json_line_per_event(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(synced_kind(fd)), real(fd))[1])
    j = Journal(tmp_path / ("s" + SUFFIX))
    wid = j.begin("proj", "tag", ("x",), "tag x where all", RECORDS)
    assert synced == ["file", "directory"]  # the new file's name is on disk too
    j.finish(wid, True)
    aid = j.begin("proj", "untag", ("x",), "untag x where all", RECORDS[:1])
    j.finish(aid, False)
    assert synced.count("file") == 4  # every line on disk before the caller goes on
    lines = j.path.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == ["begin", "commit", "begin", "abort"]
    begin = events[0]
    assert set(begin) == {"event", "id", "time", "project", "op", "tags", "statement", "undoes",
                          "records"}
    assert begin["project"] == "proj" and begin["op"] == "tag" and begin["tags"] == ["x"]
    assert begin["undoes"] is None and begin["records"] == {  # by column (issue 10)
        "labels": ["r1", "r2"], "db_ids": [1, 2], "change": [0, 1],
        "changes": [{k: v for k, v in r.items() if k not in ("label", "db_id")} for r in RECORDS]}
    assert j.entries("proj")[0]["records"] == RECORDS
    assert begin["time"].endswith("+00:00")
    assert events[1] == {"event": "commit", "id": wid}
    assert [(e["statement"], e["state"]) for e in j.entries("proj")] == [
        ("tag x where all", "committed"), ("untag x where all", "aborted")]
    assert j.entries("other") == []


def test_a_line_cut_short_never_happened(tmp_path):
    j = Journal(tmp_path / ("s" + SUFFIX))
    wid = j.begin("p", "tag", ("x",), "tag x where all", RECORDS)
    j.finish(wid, True)
    with open(j.path, "a", encoding="utf-8") as fh:  # a crash in the middle of a begin
        fh.write('{"event":"begin","id":"dead","project":"p","op":"tag","rec')
    assert [e["id"] for e in j.entries("p")] == [wid]
    notes = j.settle("p", lambda labels: {})  # nothing pending; the torn tail reported
    assert len(notes) == 1 and "cut short" in notes[0] and "skipped" in notes[0], notes
    assert j.last_undoable("p")["id"] == wid
    # sealed: the next entry is a line of its own, not glued onto the torn one
    nid = j.begin("p", "tag", ("y",), "tag y where all", RECORDS)
    j.finish(nid, True)
    assert [e["id"] for e in j.entries("p")] == [wid, nid]
    assert j.settle("p", lambda labels: {}) == []  # reported once


def test_missing_journal_reads_empty(tmp_path):
    j = Journal(tmp_path / "none" / ("s" + SUFFIX))
    assert j.events() == [] and j.last_undoable("p") is None
    assert not (tmp_path / "none").exists()


# ------------------------------------------------------------------ settling

@pytest.mark.parametrize("applied", [True, False])
def test_settle_begin_without_outcome(tmp_path, applied):
    j = Journal(tmp_path / ("s" + SUFFIX))
    j.finish(j.begin("p", "tag", ("a",), "tag a where all", RECORDS[:1]), True)
    pending = j.begin("p", "tag", ("x",), "tag x where all", RECORDS)
    other = j.begin("q", "tag", ("x",), "tag x where all", RECORDS)  # another project
    asked = []

    def current(labels):
        asked.append(list(labels))
        if applied:
            return {"r1": frozenset({"a", "x"}), "r2": frozenset({"x"})}
        return {"r1": frozenset({"a"}), "r2": frozenset({"y"})}

    notes = j.settle("p", current)
    assert asked == [["r1", "r2"]]  # only the pending write's records are read
    assert len(notes) == 1 and "interrupted" in notes[0] and "tag x where all" in notes[0]
    assert ("applied in full" in notes[0]) is applied
    assert ("not applied; nothing had changed" in notes[0]) is (not applied)
    states = {e["id"]: e["state"] for e in j.entries()}
    assert states[pending] == ("committed" if applied else "aborted")
    assert states[other] == "pending"  # settled by a write on its own project
    assert j.settle("p", current) == [] and len(asked) == 1  # settled once
    assert (j.last_undoable("p")["id"] == pending) is applied


def test_settle_a_record_deleted_meanwhile_is_not_applied(tmp_path):
    j = Journal(tmp_path / ("s" + SUFFIX))
    wid = j.begin("p", "tag", ("x",), "tag x where all", RECORDS)
    notes = j.settle("p", lambda labels: {"r1": frozenset({"a", "x"})})
    assert "not applied" in notes[0]
    assert j.entries("p")[0]["state"] == "aborted" and j.entries("p")[0]["id"] == wid


# ------------------------------------------------------------------ undo bookkeeping

def test_undo_never_undoes_a_write_twice(tmp_path):
    j = Journal(tmp_path / ("s" + SUFFIX))

    def write(op, undoes=None, outcome=True):
        wid = j.begin("p", op, ("x",), f"{op} {undoes or ''}", RECORDS, undoes=undoes)
        if outcome is not None:
            j.finish(wid, outcome)
        return wid

    a = write("tag")
    b = write("untag")
    write("tag", outcome=False)  # rolled back: not undoable
    write("tag", outcome=None)  # pending: not undoable until settled
    assert j.last_undoable("p")["id"] == b
    write("undo", undoes=b, outcome=False)  # an undo rolled back undid nothing
    write("undo", undoes=b, outcome=None)  # nor one without an outcome
    assert j.last_undoable("p")["id"] == b
    write("undo", undoes=b)
    assert j.last_undoable("p")["id"] == a  # then the write before, never b again
    write("undo", undoes=a)
    assert j.last_undoable("p") is None  # an undo is itself never undone
    assert j.last_undoable("q") is None


# ------------------------------------------------------------------ on a real store

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A small SQLite project (8 records), built by Sumatra in a subprocess."""
    directory = tmp_path_factory.mktemp("journal") / "p"
    proc = subprocess.run([sys.executable, "-m", "smtql.demo", "build", str(directory),
                           "--records", "8", "--seed", "2", "--no-runs", "--quiet"],
                          env=child_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return directory


@pytest.fixture
def store(built, tmp_path, monkeypatch):
    """A bare copy of the built store, with no journal."""
    monkeypatch.delenv("SMTQL_JOURNAL_DIR", raising=False)
    monkeypatch.delenv("SMTQL_FAULT", raising=False)
    path = tmp_path / "records"
    shutil.copyfile(built / ".smt" / "records", path)
    return path


def connect(store):
    import smtql
    return smtql.connect(store=str(store))


def tags_of(store) -> dict:
    with connect(store) as conn:
        return {r.label: set(r.tags) for r in conn.query("all").records}


def files_beside(store) -> set:
    return {p.name for p in store.parent.iterdir()}


def test_undo_on_a_store_without_journal_makes_no_file(store):
    before = files_beside(store)
    with connect(store) as conn:
        assert "nothing to undo" in conn.query("undo").text
        assert "nothing to undo" in conn.query("undo", dry_run=True).text
    proc = subprocess.run([sys.executable, "-m", "smtql", "--store", str(store), "undo",
                           "--yes"], env=child_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "nothing to undo" in proc.stdout, proc.stderr
    assert files_beside(store) == before  # no journal, no lock file


def test_begin_is_on_disk_before_the_store_changes(store, monkeypatch):
    from smtql.stores.django.writer import SqlWriter
    journal = Path(str(store) + SUFFIX)
    order = []
    real_fsync, real_write = os.fsync, SqlWriter._write

    def fsync(fd):
        real_fsync(fd)
        if synced_kind(fd) == "file":
            order.append("fsync")

    def write(self, conn, plan, *args):
        lines = journal.read_text(encoding="utf-8").splitlines()
        order.append(("write", [json.loads(x)["event"] for x in lines]))
        return real_write(self, conn, plan, *args)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(SqlWriter, "_write", write)
    with connect(store) as conn:
        assert conn.query("tag j1 where all").data["changed"] == 8
    assert order == ["fsync", ("write", ["begin"]), "fsync"]
    events = [json.loads(x) for x in journal.read_text(encoding="utf-8").splitlines()]
    assert [e["event"] for e in events] == ["begin", "commit"]
    assert len(events[0]["records"]["labels"]) == 8


def test_undo_reverts_each_write_once(store):
    before = tags_of(store)
    with connect(store) as conn:
        label = conn.query("all latest 1").labels[0]
        conn.query("tag j1 where all")
        conn.query(f'untag j1 where label = "{label}"')
        conn.query("tag j2 where all")
        assert "undid `tag j2" in conn.query("undo").text
        assert "undid `untag j1" in conn.query("undo").text
        assert "undid `tag j1" in conn.query("undo").text
        assert "nothing to undo" in conn.query("undo").text
    assert tags_of(store) == before
    entries = Journal(Path(str(store) + SUFFIX)).entries()
    undone = [e["undoes"] for e in entries if e["op"] == "undo"]
    assert len(undone) == 3 and len(set(undone)) == 3
    assert all(e["state"] == "committed" for e in entries)


def undo_process(store, **env):
    e = child_env()
    e.update(env)
    return subprocess.Popen([sys.executable, "-m", "smtql", "--store", str(store), "--yes",
                             "undo"], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_an_undo_that_waited_while_another_undid_changes_nothing(store):
    """The confirmation prompt is the window: another undo runs meanwhile and
    takes the write; this one must not undo it again (nor the one before)."""
    from smtql.language import parser
    from smtql.executor import Executor
    before = tags_of(store)
    with connect(store) as conn:
        conn.query("tag j1 where all")
        conn.query("tag j2 where all")
        others = []

        def confirm(preview):  # meanwhile, another process undoes `tag j2`
            proc = undo_process(store)
            others.append(proc.communicate(timeout=60))
            assert proc.returncode == 0, others[-1]
            return True

        from smtql.errors import QueryError
        with pytest.raises(QueryError, match="journal changed while this undo waited"):
            list(Executor(conn.store, confirm=confirm).run(parser.parse("undo")))
        assert "undid `tag j2" in others[0][0]
    after = tags_of(store)
    assert after == {label: tags | {"j1"} for label, tags in before.items()}


def test_concurrent_undos_take_one_write_each(store):
    with connect(store) as conn:
        before = tags_of(store)
        conn.query("tag j1 where all")
        conn.query("tag j2 where all")
    first = undo_process(store, SMTQL_FAULT="sleep:1")  # holds the journal inside its write
    assert "fault hook: sleeping" in first.stderr.readline()
    second = undo_process(store)
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert "undid `tag j2" in out1 and "undid `tag j1" in out2, (out1, out2)
    assert tags_of(store) == before


def test_undo_of_a_write_reverted_meanwhile_moves_on(store):
    """The records were changed back outside smtql (as `smt tag --remove`
    does): the undo changes nothing but still counts, so the next `undo`
    reverts the write before, instead of finding the same one forever."""
    import sqlite3
    before = tags_of(store)
    with connect(store) as conn:
        conn.query("tag j0 where all")
        conn.query("tag j1 where all")
        db = sqlite3.connect(store)
        (tid,) = db.execute("SELECT id FROM django_store_tag WHERE name = 'j1'").fetchone()
        db.execute("DELETE FROM django_store_taggeditem WHERE tag_id = ?", (tid,))
        db.execute("UPDATE django_store_record SET tags = replace(replace(tags, ',j1', ''), "
                   "'j1', '')")
        db.commit()
        db.close()
        first = conn.query("undo")
        assert "undid `tag j1" in first.text and first.data["changed"] == 0
        assert "undid `tag j0" in conn.query("undo").text
        assert "nothing to undo" in conn.query("undo").text
    assert tags_of(store) == before


# ------------------------------------------------------------------ undo, byte for byte

def tag_tables(store) -> dict:
    """The tags column of every record and the tag tables, row for row."""
    import sqlite3
    db = sqlite3.connect(store)
    try:
        return {"columns": db.execute("SELECT db_id, tags FROM django_store_record "
                                      "ORDER BY db_id").fetchall(),
                "tags": db.execute("SELECT * FROM django_store_tag ORDER BY id").fetchall(),
                "items": db.execute("SELECT * FROM django_store_taggeditem "
                                    "ORDER BY id").fetchall()}
    finally:
        db.close()


def test_undo_restores_every_tags_column_and_the_tag_tables(store):
    """A column naming a tag the tag tables lack (`legacy`), and one in
    Sumatra's older space-separated form: the write keeps them, the undo puts
    them back byte for byte, and the tag row the write made goes again."""
    import sqlite3
    db = sqlite3.connect(store)
    ids = [r[0] for r in db.execute("SELECT db_id FROM django_store_record ORDER BY db_id")]
    db.execute("UPDATE django_store_record SET tags = tags || ',legacy' WHERE db_id = ?",
               (ids[0],))
    db.execute("UPDATE django_store_record SET tags = replace(tags, ',', ' ') WHERE db_id = ?",
               (ids[1],))
    db.commit()
    db.close()
    before = tag_tables(store)
    with connect(store) as conn:
        assert conn.query("tag cu where all").data["changed"] == 8
        columns = dict(tag_tables(store)["columns"])
        assert columns[ids[0]].split(",")[:-1] == dict(before["columns"])[ids[0]].split(",")
        assert columns[ids[0]].endswith(",cu")  # legacy kept: the write did not name it
        assert "undid `tag cu" in conn.query("undo").text
    assert tag_tables(store) == before
    with connect(store) as conn:  # an untag and its undo: the same column and tag items
        label = conn.query("all latest 1").labels[0]
        conn.query(f'tag cv where label = "{label}"')
        middle = tag_tables(store)
        conn.query("untag cv where all")
        assert "undid `untag cv" in conn.query("undo").text
    # the item put back is the row the untag deleted, its id included
    assert tag_tables(store) == middle


def test_tag_where_all_is_one_transaction_of_batched_statements(store):
    """Every record has a column of its own: still one UPDATE for all, and a
    constant number of statements in one transaction."""
    import sqlite3
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    db = sqlite3.connect(store)
    db.execute("UPDATE django_store_record SET tags = tags || ',own' || db_id")
    db.commit()
    db.close()
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement.split()[0].upper())

    event.listen(Engine, "before_cursor_execute", count)
    try:
        with connect(store) as conn:
            assert conn.query("tag batch where all").data["changed"] == 8
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert statements.count("BEGIN") == 1 and statements.count("UPDATE") == 1, statements
    assert len(statements) <= 10, statements
