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
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from ...errors import StoreError
from ..faults import Interrupted, fault_point
from .connect import busy_timeout
from .generations import read_layout

CHUNK = 900  # bound parameters per IN (…): SQLite's old limit is 999
COLUMN_CHUNK = CHUNK // 3  # records per column UPDATE: three parameters each


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
        md = sa.MetaData()
        C, I, S = sa.Column, sa.Integer, sa.String
        self.record = sa.Table("django_store_record", md, C("db_id", I, primary_key=True),
                               C("label", S), C("project_id", S), C("tags", S))
        names = self.layout
        self.tag = sa.Table(names.tag.name, md, C("id", I, primary_key=True), C("name", S))
        self.item = sa.Table(names.taggeditem.name, md, C("id", I, primary_key=True),
                             C("object_id", I), C("content_type_id", I), C("tag_id", I))
        self.ctype = sa.Table("django_content_type", md, C("id", I, primary_key=True),
                              C("app_label", S), C("model", S),
                              *([C("name", S)] if names.content_type_has_name else []))

    def close(self) -> None:
        self.engine.dispose()

    def where(self) -> str:
        if self.kind == "sqlite":
            return self.uri
        u = urlparse(self.uri)
        return f"{u.scheme}://{u.hostname}{':' + str(u.port) if u.port else ''}{u.path}"

    # ------------------------------------------------------------------ reading
    def _content_type(self, conn, create: bool):
        sa, ct = self.sa, self.ctype
        row = conn.execute(sa.select(ct.c.id).where(ct.c.app_label == "django_store",
                                                     ct.c.model == "record")).first()
        if row is not None:
            return row[0]
        if not create:
            return None
        # ContentType.objects.get_for_model(Record) creates it when missing
        values = {"app_label": "django_store", "model": "record"}
        if self.layout.content_type_has_name:  # before Django 1.8: the verbose name, NOT NULL
            values["name"] = "record"
        conn.execute(ct.insert().values(**values))
        return self._content_type(conn, create=False)

    def read(self, conn, labels, lock: bool = False) -> dict:
        """{label: [(db_id, column, frozenset of tag names)]} for these labels
        of the project, the tags as Sumatra reads them (the tag tables)."""
        sa, rec, item, tag = self.sa, self.record, self.item, self.tag
        labels = list(dict.fromkeys(labels))
        by_id, out = {}, {}
        for i in range(0, len(labels), CHUNK):
            q = sa.select(rec.c.db_id, rec.c.label, rec.c.tags).where(
                rec.c.project_id == self.project, rec.c.label.in_(labels[i:i + CHUNK]))
            if lock and self.kind != "sqlite":
                q = q.with_for_update()
            for db_id, label, column in conn.execute(q):
                by_id[db_id] = [label, column, set()]
        ctype = self._content_type(conn, create=False)
        ids = list(by_id)
        if ctype is not None:
            for i in range(0, len(ids), CHUNK):
                q = (sa.select(item.c.object_id, tag.c.name)
                     .select_from(item.join(tag, tag.c.id == item.c.tag_id))
                     # `+ 0`: no index serves the content type, so the planner
                     # cannot pick the one on content_type_id (every tag item)
                     # over object_id's when the store has no statistics
                     .where((item.c.content_type_id + 0) == ctype,
                            item.c.object_id.in_(ids[i:i + CHUNK])))
                for object_id, name in conn.execute(q):
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
        sa, tag = self.sa, self.tag
        names, ids = sorted(names), {}
        for i in range(0, len(names), CHUNK):
            for tid, name in conn.execute(sa.select(tag.c.id, tag.c.name)
                                          .where(tag.c.name.in_(names[i:i + CHUNK]))):
                ids[name] = tid
        return ids

    def _note_removed_items(self, conn, plan) -> None:
        """Journal the tagged-item rows a record's removed tags have, as
        [id, db_id, name] (`removed_items`), for an undo to put them back
        with the same ids."""
        sa, item, tag = self.sa, self.item, self.tag
        losing = {p["db_id"]: p for p in plan if p["removed"]}
        ctype = self._content_type(conn, create=False) if losing else None
        if ctype is None:
            return
        ids = sorted(losing)
        for i in range(0, len(ids), CHUNK):
            q = (sa.select(item.c.id, item.c.object_id, tag.c.name)
                 .select_from(item.join(tag, tag.c.id == item.c.tag_id))
                 .where((item.c.content_type_id + 0) == ctype,  # as in read()
                        item.c.object_id.in_(ids[i:i + CHUNK])))
            for item_id, object_id, name in conn.execute(q):
                p = losing[object_id]
                if name in p["removed"]:
                    p.setdefault("removed_items", []).append([item_id, object_id, name])

    def _insert_items(self, conn, rows: list[dict], put_back: dict) -> None:
        """Insert tagged-item rows; those an undo puts back keep the id they
        had (`put_back`: {(db_id, name): id}), unless that id was taken since."""
        sa, item = self.sa, self.item
        wanted = [put_back.get((r["object_id"], r.pop("name"))) for r in rows]
        taken = set()
        free = sorted(i for i in wanted if i is not None)
        for i in range(0, len(free), CHUNK):
            taken |= set(conn.execute(sa.select(item.c.id)
                                      .where(item.c.id.in_(free[i:i + CHUNK]))).scalars())
        with_id = [dict(r, id=i) for r, i in zip(rows, wanted) if i is not None and i not in taken]
        fresh = [r for r, i in zip(rows, wanted) if i is None or i in taken]
        for part in (with_id, fresh):
            if part:
                conn.execute(item.insert(), part)

    def _write(self, conn, plan, ids: dict, drop_tags, put_back) -> None:
        sa, item, tag, rec = self.sa, self.item, self.tag, self.record
        ctype = self._content_type(conn, create=True)
        added_names = sorted({t for p in plan for t in p["added"]})
        for name in added_names:
            if name not in ids:  # Tag.objects.get_or_create(name=name)
                conn.execute(tag.insert().values(name=name))
                ids[name] = conn.execute(sa.select(tag.c.id).where(tag.c.name == name)).scalar_one()
        self._insert_items(conn, [{"object_id": p["db_id"], "content_type_id": ctype,
                                   "tag_id": ids[t], "name": t}
                                  for p in plan for t in p["added"]], put_back)
        fault_point()
        removals: dict[int, list] = {}
        for p in plan:
            for t in p["removed"]:
                removals.setdefault(ids[t], []).append(p["db_id"])
        for tag_id, objects in removals.items():
            for i in range(0, len(objects), CHUNK):
                conn.execute(item.delete().where(item.c.content_type_id == ctype,
                                                 item.c.tag_id == tag_id,
                                                 item.c.object_id.in_(objects[i:i + CHUNK])))
        if drop_tags:
            conn.execute(tag.delete().where(tag.c.name.in_(sorted(drop_tags)),
                                            ~sa.exists().where(item.c.tag_id == tag.c.id)))
        # one UPDATE per COLUMN_CHUNK records, whatever their columns: records'
        # tags differ (status, their own tags), so one per distinct column
        # would be one per record
        for i in range(0, len(plan), COLUMN_CHUNK):
            part = plan[i:i + COLUMN_CHUNK]
            column = sa.case({p["db_id"]: p["column_after"] for p in part}, value=rec.c.db_id)
            conn.execute(rec.update().where(rec.c.db_id.in_([p["db_id"] for p in part]))
                         .values(tags=column))

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


def _plan(changes, wanted: dict) -> list[dict]:
    """Per record that changes: what the tag tables gain and lose, and its
    column before and after."""
    plan = []
    for change in changes:
        for db_id, column, before in wanted.get(change.label, ()):
            after = (before - change.remove) | change.add
            if after == before:
                continue
            plan.append({"label": change.label, "db_id": db_id,
                         "added": sorted(after - before), "removed": sorted(before - after),
                         "column_before": column,
                         "column_after": new_column(column, before, after, change.restore)})
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
