"""Tag writes on Sumatra's Django schema (SQLite, PostgreSQL, MariaDB/MySQL)
with SQLAlchemy Core, on a writable engine of smtql's own (the query engine
opens SQLite read-only).

What Sumatra does when it saves a record's tags (`TagField._save` →
`TagManager.update_tags`, sumatra/recordstore/django_store/tagging.py), done
for many records at once, in one transaction:

- the record's `tags` column gets the comma-joined tag names (Sumatra's
  `save` writes `",".join(record.tags)`; smtql keeps the column's existing
  order, and the names in it that the tag tables lack, and appends new names
  sorted: a write changes only the tags it names);
- a tag row is created for a name that has none (`django_store_tag`; before
  0.8.1 django-tagging's `tagging_tag`, as generations.py names them)
  (`Tag.objects.get_or_create(name=…)`), and the `django_content_type` row
  of the record model (`django_store`, `record`) if it is missing;
- tagged-item rows (tag, content type, object id = db_id) are
  inserted for added tags and deleted for removed ones.

Undo puts back what the write changed, byte for byte: the column as the
write found it (while the column is still what the write left), the tag
rows the write created are deleted again (while no item uses them), and the
tagged-item rows it deleted come back with their ids (the journal keeps
them: `removed_items`), so the tag tables are row for row as they were.

Atomicity: one database transaction per statement. SQLite takes the write
lock up front (`BEGIN IMMEDIATE`) and waits up to the busy timeout for a
writer such as `smt run`; PostgreSQL and MariaDB lock the record rows
(`SELECT … FOR UPDATE`) with a lock timeout. A failure before COMMIT rolls
everything back; a failure *during* COMMIT (a server dropping the
connection) leaves the outcome unknown to the client, so the store is read
again on a new connection and the caller learns which it was.

Set-based: a write of N records costs a constant number of statements per
PART records (its labels, ids and tag items travel as one array parameter
where the driver takes one: json_each on SQLite, ANY(array) on
PostgreSQL), sent as the driver's own SQL (schema.Sql, the reader's
builder) through SQLAlchemy's connection: compiling SQLAlchemy constructs
of thousands of bound values cost more than the write itself.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from ...errors import StoreError
from ..faults import Interrupted, fault_point
from . import schema as S
from .connect import busy_timeout
from .generations import read_layout
from .schema import DIALECTS, Sql

PART = 20_000  # labels or ids per statement (one array parameter, or inline on MariaDB)
COLUMN_CHUNK = 300  # records per column UPDATE (a CASE of three parameters each)


def sqlalchemy_url(uri: str) -> str:
    if uri.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    if uri.startswith(("mysql://", "mariadb://")):
        rest = uri.split("://", 1)[1]
        return "mysql+pymysql://" + rest + ("&" if "?" in rest else "?") + "charset=utf8mb4"
    path = uri[len("sqlite://"):] if uri.startswith("sqlite://") else uri
    return "sqlite:///" + os.path.abspath(path)


def parse_column(text) -> list[str]:
    """The names in a `tags` column as Sumatra's parse_tag_input splits
    them: on commas if there are any, else on white space."""
    if not text:
        return []
    parts = text.split(",") if "," in text else text.split(" ")
    return [p.strip() for p in parts if p.strip()]


def format_column(old: str | None, tags, before=frozenset()) -> str:
    """Sumatra's comma-joined format for `tags` (the tag tables' names after
    the write; `before`: theirs before it), keeping the names already in the
    old column in their order, also those the tag tables lack (the write
    did not name them), and appending the others sorted."""
    names = dict.fromkeys(parse_column(old))
    keep = set(tags) | (set(names) - set(before))
    kept = [t for t in names if t in keep]
    return ",".join(kept + sorted(set(tags) - set(kept)))


def new_column(column: str | None, before: frozenset, after: frozenset, restore) -> str:
    """The record's column after the change; for an undo (`restore`: the
    column the write left, the column it found) the column it found, byte
    for byte, while nobody has changed the column since and it names every
    tag the record keeps."""
    if restore is not None and column == restore[0] \
            and set(parse_column(restore[1])) >= after:
        return restore[1]
    return format_column(column, after, before)


class SqlWriter:
    """A writable connection to one Django store, for one project (the
    store's `writer()`, the contract in smtql.stores.base.Writer)."""

    limits_tags_column = True  # Sumatra's `tags` column is varchar(255)

    def __init__(self, uri: str, project: str, layout=None):
        self.uri = uri
        self.project = project
        # The generation's table names (generations.py): 0.8.1 keeps tags in
        # django_store_tag/_taggeditem, older stores in django-tagging's tables.
        self.layout = layout if layout is not None else read_layout(uri)
        try:
            import sqlalchemy as sa
        except ImportError:  # pragma: no cover
            raise StoreError("writing to a Django store needs SQLAlchemy: pip install sqlalchemy") from None
        self.sa = sa
        from sqlalchemy.pool import NullPool
        url = sqlalchemy_url(uri)
        self.kind = url.split(":", 1)[0].split("+")[0]
        timeout = busy_timeout()
        args = {"timeout": timeout} if self.kind == "sqlite" else {}
        if self.kind == "mysql":
            args = {"connect_timeout": 10}
        self.engine = sa.create_engine(url, poolclass=NullPool, connect_args=args)
        if self.kind == "sqlite":
            @sa.event.listens_for(self.engine, "connect")
            def _autocommit_driver(dbapi_conn, _record):
                dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself

            @sa.event.listens_for(self.engine, "begin")
            def _begin_immediate(conn):
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, up front
        self.timeout = timeout
        self.dialect = DIALECTS[self.kind]

    def close(self) -> None:
        self.engine.dispose()

    def where(self) -> str:
        if self.kind == "sqlite":
            return self.uri
        u = urlparse(self.uri)
        return f"{u.scheme}://{u.hostname}{':' + str(u.port) if u.port else ''}{u.path}"

    # ------------------------------------------------------------------ reading
    def _run(self, conn, sql: Sql, many: list | None = None):
        """Run SQL of the reader's builder as the driver's own text (one
        execute, or one executemany of `many` parameter tuples)."""
        text, params = self.dialect.render(sql)
        return conn.exec_driver_sql(text, many if many is not None else tuple(params))

    def _rows(self, conn, sql: Sql) -> list:
        """The rows of a query as the driver's tuples (SQLAlchemy's Row
        objects cost more than the rest of reading 10^5 records)."""
        result = self._run(conn, sql)
        try:
            return result.cursor.fetchall()
        finally:
            result.close()

    def _content_type(self, conn, create: bool):
        find = Sql(f"SELECT id FROM {S.CONTENT_TYPE.name} WHERE app_label = ? AND model = ?",
                   list(S.RECORD_CONTENT_TYPE))
        row = self._run(conn, find).first()
        if row is not None:
            return row[0]
        if not create:
            return None
        # ContentType.objects.get_for_model(Record) creates it when missing;
        # before Django 1.8 with its verbose name, NOT NULL
        names, values = ["app_label", "model"], list(S.RECORD_CONTENT_TYPE)
        if self.layout.content_type_has_name:
            names, values = names + ["name"], values + ["record"]
        q = self.dialect.q
        self._run(conn, Sql(f"INSERT INTO {S.CONTENT_TYPE.name} ({', '.join(map(q, names))}) "
                            f"VALUES ({', '.join('?' * len(values))})", values))
        return self._run(conn, find).first()[0]

    def read(self, conn, labels, lock: bool = False) -> dict:
        """{label: [(db_id, column, frozenset of tag names)]} for these labels
        of the project, the tags as Sumatra reads them (the tag tables)."""
        d, q = self.dialect, self.dialect.q
        labels = list(dict.fromkeys(labels))
        by_id, out = {}, {}
        for part in _parts(labels):
            sql = (Sql(f"SELECT r.db_id, r.label, r.tags FROM {S.RECORD.name} r "
                       f"WHERE r.project_id = ? AND ", [self.project])
                   + d.in_texts(f"r.{q('label')}", part))
            if lock and self.kind != "sqlite":
                sql = sql + " FOR UPDATE"
            for db_id, label, column in self._rows(conn, sql):
                by_id[db_id] = [label, column, set()]
        ctype = self._content_type(conn, create=False)
        if ctype is not None:
            for part in _parts(list(by_id)):
                # the content type unindexed, so the planner cannot pick the
                # index on content_type_id (every tag item) over object_id's
                # when the store has no statistics
                sql = (Sql(f"SELECT ti.object_id, t.name FROM {self.layout.taggeditem.name} ti "
                           f"JOIN {self.layout.tag.name} t ON t.id = ti.tag_id WHERE "
                           f"{d.unindexed('ti.content_type_id')} = ? AND ", [ctype])
                       + d.in_ints("ti.object_id", part))
                for object_id, name in self._rows(conn, sql):
                    by_id[object_id][2].add(name)
        for db_id, (label, column, names) in by_id.items():
            out.setdefault(label, []).append((db_id, column, frozenset(names)))
        return out

    def current(self, labels) -> dict:
        """{label: frozenset} now, on a fresh connection (for checking an
        interrupted write)."""
        try:
            with self.engine.connect() as conn:
                found = self.read(conn, labels)
                conn.rollback()
        except Exception as err:  # noqa: BLE001 - drivers raise their own kinds
            if not _is_db_error(err):
                raise
            raise StoreError(self._failure(err) + "; nothing changed") from None
        return {label: entries[0][2] for label, entries in found.items()}

    # ------------------------------------------------------------------ writing
    def apply(self, changes, prepare, commit_hook, drop_tags=()) -> list[dict]:
        """Apply `changes` (writes.Change: label, add, remove, restore) in one
        transaction. `prepare(records, new_tags)` is called with the
        per-record outcome and the tag names that get a new tag row, before
        anything is written (it may raise to refuse: the length check, the
        journal entry); `commit_hook(ok)` after COMMIT with True, or False
        if the transaction was rolled back. `drop_tags` (an undo: the new
        tags of the write it undoes): tag rows deleted again if no item uses
        them afterwards. Returns the records changed."""
        try:
            conn = self.engine.connect()
        except Exception as err:  # noqa: BLE001 - drivers raise their own kinds
            raise StoreError(f"could not open {self.where()} for writing: {_reason(err)}; "
                             "nothing changed") from None
        prepared = False
        try:
            try:
                trans = conn.begin()
                if self.kind == "postgresql":
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(self.timeout * 1000)}ms'")
                elif self.kind == "mysql":
                    conn.exec_driver_sql(f"SET SESSION innodb_lock_wait_timeout = {max(1, int(self.timeout))}")
                wanted = self.read(conn, [c.label for c in changes], lock=True)
                plan = _plan(changes, wanted)
                if not plan:
                    trans.rollback()
                    return []
                tag_ids = self._tag_ids(conn, {t for p in plan for t in p["added"] + p["removed"]})
                self._note_removed_items(conn, plan)
                prepare(plan, sorted({t for p in plan for t in p["added"]} - set(tag_ids)))
                prepared = True
                put_back = {tuple(i[1:]): i[0] for c in changes for i in c.items}
                self._write(conn, plan, tag_ids, drop_tags, put_back)
            except BaseException as err:
                try:
                    conn.rollback()
                except Exception:  # noqa: BLE001
                    pass
                if prepared:
                    commit_hook(False)
                if isinstance(err, Exception) and not isinstance(err, (StoreError, Interrupted)) \
                        and _is_db_error(err):
                    raise StoreError(self._failure(err) + "; the transaction was rolled back: "
                                     "nothing changed") from None
                raise
            try:
                trans.commit()
            except Exception as err:  # noqa: BLE001 - the outcome is unknown: look
                raise StoreError(self._after_failed_commit(err, plan, commit_hook)) from None
            commit_hook(True)
            return plan
        finally:
            conn.close()

    def _tag_ids(self, conn, names) -> dict:
        """{name: id} of the tag rows these names have."""
        ids = {}
        for part in _parts(sorted(names)):
            sql = (Sql(f"SELECT t.id, t.name FROM {self.layout.tag.name} t WHERE ")
                   + self.dialect.in_texts("t.name", part))
            for tid, name in self._rows(conn, sql):
                ids[name] = tid
        return ids

    def _note_removed_items(self, conn, plan) -> None:
        """Journal the tagged-item rows a record's removed tags have, as
        [id, db_id, name] (`removed_items`), for an undo to put them back
        with the same ids."""
        losing = {p["db_id"]: p for p in plan if p["removed"]}
        ctype = self._content_type(conn, create=False) if losing else None
        if ctype is None:
            return
        d, item, tag = self.dialect, self.layout.taggeditem.name, self.layout.tag.name
        for part in _parts(sorted(losing)):
            sql = (Sql(f"SELECT ti.id, ti.object_id, t.name FROM {item} ti JOIN {tag} t "
                       f"ON t.id = ti.tag_id WHERE {d.unindexed('ti.content_type_id')} = ? AND ",
                       [ctype])  # unindexed: as in read()
                   + d.in_ints("ti.object_id", part))
            for item_id, object_id, name in self._rows(conn, sql):
                p = losing[object_id]
                if name in p["removed"]:
                    p.setdefault("removed_items", []).append([item_id, object_id, name])

    def _insert_items(self, conn, rows: list[tuple], put_back: dict) -> None:
        """Insert tagged-item rows (object_id, content_type_id, tag_id, name);
        those an undo puts back keep the id they had (`put_back`: {(db_id,
        name): id}), unless that id was taken since."""
        item = self.layout.taggeditem.name
        wanted = [put_back.get((r[0], r[3])) for r in rows]
        taken = set()
        for part in _parts(sorted(i for i in wanted if i is not None)):
            taken |= {i for (i,) in self._rows(
                conn, Sql(f"SELECT id FROM {item} WHERE ") + self.dialect.in_ints("id", part))}
        with_id = [(i, *r[:3]) for r, i in zip(rows, wanted) if i is not None and i not in taken]
        fresh = [r[:3] for r, i in zip(rows, wanted) if i is None or i in taken]
        if with_id:
            self._run(conn, Sql(f"INSERT INTO {item} (id, object_id, content_type_id, tag_id) "
                                "VALUES (?, ?, ?, ?)"), many=with_id)
        if fresh:
            self._run(conn, Sql(f"INSERT INTO {item} (object_id, content_type_id, tag_id) "
                                "VALUES (?, ?, ?)"), many=fresh)

    def _write(self, conn, plan, ids: dict, drop_tags, put_back) -> None:
        d, tag, item = self.dialect, self.layout.tag.name, self.layout.taggeditem.name
        ctype = self._content_type(conn, create=True)
        for name in sorted({t for p in plan for t in p["added"]}):
            if name not in ids:  # Tag.objects.get_or_create(name=name)
                self._run(conn, Sql(f"INSERT INTO {tag} (name) VALUES (?)", [name]))
                ids[name] = self._tag_ids(conn, [name])[name]
        self._insert_items(conn, [(p["db_id"], ctype, ids[t], t)
                                  for p in plan for t in p["added"]], put_back)
        fault_point()
        removals: dict[int, list] = {}
        for p in plan:
            for t in p["removed"]:
                removals.setdefault(ids[t], []).append(p["db_id"])
        for tag_id, objects in removals.items():
            for part in _parts(objects):
                self._run(conn, Sql(f"DELETE FROM {item} WHERE content_type_id = ? AND tag_id = ? "
                                    f"AND ", [ctype, tag_id]) + d.in_ints("object_id", part))
        if drop_tags:
            self._run(conn, Sql(f"DELETE FROM {tag} WHERE ") + d.in_texts("name", sorted(drop_tags))
                      + f" AND NOT EXISTS (SELECT 1 FROM {item} ti WHERE ti.tag_id = {tag}.id)")
        # one UPDATE per COLUMN_CHUNK records, whatever their columns: records'
        # tags differ (status, their own tags), so one per distinct column
        # would be one per record
        for i in range(0, len(plan), COLUMN_CHUNK):
            part = plan[i:i + COLUMN_CHUNK]
            case = Sql(" ".join(["WHEN ? THEN ?"] * len(part)),
                       [v for p in part for v in (p["db_id"], p["column_after"])])
            self._run(conn, Sql(f"UPDATE {S.RECORD.name} SET tags = CASE db_id ") + case
                      + " END WHERE " + d.in_ints("db_id", [p["db_id"] for p in part]))

    def _failure(self, err) -> str:
        text = _reason(err)
        if "locked" in text.lower() or "lock wait" in text.lower() or "lock timeout" in text.lower():
            return (f"the store {self.where()} is locked by another process (a running `smt run`?); "
                    f"waited {self.timeout:g} s for it")
        return f"writing to {self.where()} failed: {text}"

    def _after_failed_commit(self, err, plan, commit_hook) -> str:
        """COMMIT raised: did it happen? Read the store again and say."""
        try:
            now = self.current([p["label"] for p in plan])
        except Exception as again:  # noqa: BLE001
            commit_hook(None)
            return (f"writing to {self.where()} failed while committing ({_reason(err)}) and the "
                    f"store cannot be read to check the outcome ({_reason(again)}); the write is "
                    "all or nothing: run the statement again with --dry-run to see which")
        applied = all(set(p["added"]) <= now.get(p["label"], frozenset())
                      and not set(p["removed"]) & now.get(p["label"], frozenset()) for p in plan)
        commit_hook(applied)
        if applied:
            return (f"the connection to {self.where()} failed while committing ({_reason(err)}), "
                    f"but the store shows the write was applied in full ({len(plan)} records)")
        return (f"writing to {self.where()} failed while committing ({_reason(err)}); the store "
                "shows the transaction was rolled back: nothing changed")


def _parts(items: list):
    for i in range(0, len(items), PART):
        yield items[i:i + PART]


def _plan(changes, wanted: dict) -> list[dict]:
    """Per record that changes: what the tag tables gain and lose, and its
    column before and after. Records share few distinct (column, change)
    pairs: each is worked out once."""
    plan, columns = [], {}
    for change in changes:
        for db_id, column, before in wanted.get(change.label, ()):
            after = (before - change.remove) | change.add
            if after == before:
                continue
            key = (column, before, after, change.restore)
            if key not in columns:  # the lists shared by the records of this key
                columns[key] = (sorted(after - before), sorted(before - after),
                                new_column(column, before, after, change.restore))
            added, removed, column_after = columns[key]
            plan.append({"label": change.label, "db_id": db_id, "added": added,
                         "removed": removed, "column_before": column,
                         "column_after": column_after})
    return plan


def _is_db_error(err) -> bool:
    try:
        import sqlalchemy.exc as exc
    except ImportError:  # pragma: no cover
        return False
    return isinstance(err, exc.SQLAlchemyError)


def _reason(err) -> str:
    orig = getattr(err, "orig", None)
    text = str(orig if orig is not None else err).strip()
    return text.splitlines()[0] if text else type(err).__name__
