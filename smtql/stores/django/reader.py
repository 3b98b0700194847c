"""Reading Sumatra's Django record store (tables `django_store_*`) with SQL,
on SQLite, PostgreSQL and MariaDB/MySQL.

A query costs a constant number of statements, whatever the number of
records: the project's tag names (when the filter names tags), the
project's distinct parameter sets (when it reads parameters), at most one
cut-off for `latest N`, and one statement for the rows (or one COUNT). The
SQL is made by `compile.py`; Sumatra Record objects by `records.py`.
Nothing here writes.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import json
from collections import Counter
from fnmatch import fnmatchcase
from operator import itemgetter
from typing import Iterable, Iterator

from ...errors import QueryError, StoreError
from ...language import ast
from ...params import cache as paramcache
from ...language.spelling import path_text
from ...params.model import Unreadable, folded, leaves, lookup
from ...plan.evaluate import compile_filter
from ...plan.values import MISSING
from ...progress import progress
from .. import outputs
from ..base import Store, no_such_record, parameter_key_names
from ..rows import Row
from . import paramindex, stamp
from . import schema as S
from .compile import (ALL_FIELDS, Compiler, decode_duration, decode_ts, decode_ts_column,
                      durations_fine, groupable)
from .connect import StoreLocked, Transaction, connect
from .records import _datastore, _Unusable, build_records
from .schema import Sql


# ------------------------------------------------------------------ opening

def open_sql_store(location, project: str | None, index: bool | None = None) -> "DjangoSqlStore":
    from ..location import choose_project
    store = DjangoSqlStore(location.uri, index=index)
    try:
        available = store.projects()
    except StoreError:
        store.close()
        raise
    store.project = choose_project(location, project, available)
    store.sole_project = len(available) == 1
    # On SQLite only: there the project test costs a row read per record an
    # index found; a server planner without statistics was seen to choose
    # worse plans for the same filter without it (an output-path EXISTS
    # scanned per record).
    store.only_project_records = (store.sole_project and store.dialect.name == "sqlite"
                                  and store.records_all_of_project())
    return store


# ------------------------------------------------------------------ one query

class Query(Transaction):
    """One read transaction, with the lookups a query's statements share:
    the tag names, the record content type, the parameter sets."""

    def __init__(self, store: "DjangoSqlStore"):
        super().__init__(store)
        self._tags: dict[str, list[int]] | None = None
        self.tag_tests: list[tuple] = []  # each tag test's ids in the last WHERE written (Compiler)
        self._ctype_looked_up = False
        self.paramsets: dict | None = None  # id -> (parsed, record count)
        self._index = None  # the parameter index, refreshed in this transaction
        self._index_checked = False
        self._newer: set[int] = set()  # ids of sets read that the index has not seen

    def content_type_id(self):
        """The id of Sumatra's record content type, or None while the store
        has none (a store never tagged). A found id never changes, so the
        store keeps it; a missing one is looked up again next time (a write
        may have created it)."""
        if self.store.record_content_type is None and not self._ctype_looked_up:
            self._ctype_looked_up = True
            rows = self.run(Sql(f"SELECT id FROM {S.CONTENT_TYPE.name} WHERE app_label = ? "
                                f"AND model = ?", list(S.RECORD_CONTENT_TYPE)))
            self.store.record_content_type = rows[0][0] if rows else None
        return self.store.record_content_type

    # -- tags
    def tag_ids(self, names) -> list[int]:
        if self._tags is None:
            self._tags = {}
            for tag_id, name in self.run(Sql(f"SELECT id, name FROM {self.store.layout.tag.name}")):
                self._tags.setdefault(name, []).append(tag_id)
        return [i for n in names for i in self._tags.get(n, ())]

    def tag_ids_like(self, pattern: str) -> list[int]:
        return [i for n in self.tag_names() if fnmatchcase(n, pattern) for i in self._tags[n]]

    def tag_names(self) -> list[str]:
        """Every name in the tag table (some may tag no record of the project)."""
        self.tag_ids(())
        return list(self._tags)

    def many_tagged(self, tag_ids) -> bool:
        """Whether more items carry these tags than the record table has
        pages: looking their records up one by one (~8 µs each) then costs
        more than reading every page once. Counted through the tag_id index
        up to the page count (PostgreSQL: ~50 ms at 760,000 items, the index
        entries read into a bitmap before the LIMIT stops it)."""
        pages = self.dialect.table_pages(S.RECORD.name)
        rows = self.run(Sql(f"SELECT COUNT(*) > {pages} FROM "
                            f"(SELECT 1 FROM {self.store.layout.taggeditem.name} ti WHERE ")
                        + self.dialect.in_ints("ti.tag_id", tag_ids)
                        + f" LIMIT (SELECT {pages} + 1)) s")
        return bool(rows[0][0])

    # -- parameter sets
    def load_paramsets(self) -> dict:
        """id -> (parsed data or Unreadable, number of the project's records,
        or None until `count_records` asks). In a store holding one project
        every parameter set is that project's, so the sets are read without
        the GROUP BY over all records (a full scan on a large store)."""
        if self.paramsets is None:
            q = self.dialect.q
            if self.store.single_project(self):
                sql = Sql(f"SELECT p.id, p.{q('type')}, p.content, NULL "
                          f"FROM {S.PARAMETERSET.name} p")
            else:
                sql = Sql(f"SELECT p.id, p.{q('type')}, p.content, c.n "
                          f"FROM {S.PARAMETERSET.name} p JOIN (SELECT r.parameters_id AS pid, "
                          f"COUNT(*) AS n FROM {S.RECORD.name} r WHERE r.project_id = ? "
                          f"GROUP BY r.parameters_id) c ON c.pid = p.id", [self.store.project])
            found = self.run(sql)
            # A cold cache on a large store can take a while: show it.
            with progress(total=len(found), description="reading parameter sets") as bar:
                self.paramsets = {}
                for pid, kind, content, n in found:
                    self.paramsets[pid] = (paramcache.parse(kind, content), n)
                    bar.advance()
            self.store._note_paramsets(self.paramsets)
        return self.paramsets

    def count_records(self, sets: dict) -> dict:
        """The sets with their number of the project's records filled in
        (sets of no record of the project dropped): one GROUP BY, run only
        when counts are wanted (keys with counts, unreadable-set notes)."""
        if all(n is not None for _, n in sets.values()):
            return sets
        counts = dict(self.run(Sql(f"SELECT r.parameters_id, COUNT(*) FROM {S.RECORD.name} r "
                                   f"WHERE r.project_id = ? GROUP BY r.parameters_id",
                                   [self.store.project])))
        return {pid: (parsed, counts[pid]) for pid, (parsed, _) in sets.items() if pid in counts}

    def param_ids(self, f) -> list[int]:
        """Ids of the store's parameter sets that satisfy `f`, a filter
        made only of parameter predicates. With the parameter index, only
        the sets it names as candidates are read and parsed, and decided
        here exactly; the index answers alone only for sets and
        predicates where its rows are the values themselves (exact sets:
        paramindex._nodes; plain comparisons of numbers, strings,
        booleans, null)."""
        test = compile_filter(f)
        index = self.param_index()
        found = index.candidates(f) if index is not None else (None, [], None)
        maybe, sure, newest = found
        if maybe is None:
            return [pid for pid, (parsed, _) in self.load_paramsets().items()
                    if test(_ParamView(parsed))]
        # Sets the index decides for certain are answers as they are; the
        # other candidates (and sets newer than the index) are parsed.
        return list(sure) + self._deciding(f, sorted(set(maybe).difference(sure)), newest)

    def _deciding(self, f, ids, newest: int) -> list[int]:
        """Those of these sets, and of the sets newer than the index's
        `newest`, that satisfy f: read, parsed and decided here."""
        test, view, out = compile_filter(f), _ParamView(None), []
        for pid, parsed in self.read_sets(ids, newer_than=newest):
            view.params = parsed
            if test(view):
                out.append(pid)
        self.note_index_sets()
        return out

    def param_sql(self, f) -> Sql | None:
        """`r.parameters_id` among the sets satisfying `f` (parameter
        predicates only) as one condition over the parameter index ATTACHed
        to an SQLite store's connection: the sets the index is certain of
        stay a subquery, and only the doubtful ones are read, parsed and
        named by id. None where the index is not ATTACHed (param_ids)."""
        db = self.store.attached_index() if self.param_index() is not None else None
        if db is None:
            return None
        # The first read of the ATTACHed file in this transaction fixes its
        # snapshot: the newest id, the doubtful and the certain sets agree.
        newest, inexact = self.run(Sql(f"SELECT (SELECT value FROM {db}meta WHERE key = "
                                       f"'max_id'), EXISTS (SELECT 1 FROM {db}sets "
                                       f"WHERE exact = 0)"))[0]
        pre = paramindex.attached_prefilter(f, db, bool(inexact))
        if pre is None:
            return None
        doubtful, certain = pre
        ids = [r[0] for r in self.run(Sql(*doubtful))] if doubtful is not None else []
        decided = self._deciding(f, ids, int(newest))
        parts = [Sql(f"r.parameters_id IN ({certain[0]})", certain[1])] if certain else []
        if decided:
            parts.append(self.dialect.in_ints("r.parameters_id", decided))
        return "(" + Sql.join(" OR ", parts) + ")" if parts else Sql(S.FALSE_SQL)

    def paramset_universe(self) -> tuple[int, object]:
        """(how many parameter sets there are, a function listing their ids):
        every set a record of this transaction can name."""
        index = self.param_index()
        if index is None:
            sets = self.load_paramsets()
            return len(sets), lambda: list(sets)
        count = index.state()[1] + len(self._newer)
        return count, lambda: index.all_ids() + sorted(self._newer)

    # -- the parameter index
    def param_index(self):
        """The store's parameter index, brought up to date with this
        transaction's view of the store (once per statement); None when it
        is turned off or cannot be kept (then sets are parsed in memory)."""
        if not self._index_checked:
            self._index_checked = True
            index = self.store.param_index()
            # Once per statement: a later transaction of the same statement
            # reads sets added since as sets newer than the index.
            if index is not None and not self.store._index_refreshed:
                from .paramindex import IndexUnavailable
                import sqlite3
                try:
                    index.refresh(self)
                    self.store._index_refreshed = True
                except (IndexUnavailable, sqlite3.Error, OSError) as err:
                    self.store.index_unavailable(f"{type(err).__name__}: {err}")
                    index = None
            self._index = index
        return self._index

    def read_sets(self, ids, newer_than: int | None = None, project_only: bool = False):
        """(id, parsed) of these sets, and of every set newer than
        `newer_than` (sets the index has not seen), in one statement.
        `project_only`: only sets some record of the project has."""
        q = self.dialect.q
        P = S.PARAMETERSET.name
        head = f"SELECT p.id, p.{q('type')}, p.content FROM {P} p WHERE "
        mine = (Sql(f" AND EXISTS (SELECT 1 FROM {S.RECORD.name} r WHERE r.parameters_id = p.id "
                    f"AND r.project_id = ?)", [self.store.project]) if project_only else Sql(""))
        sql = Sql(head) + self.dialect.in_ints("p.id", ids) + mine
        if newer_than is not None:
            sql = sql + Sql(f" UNION ALL {head}p.id > ?", [newer_than]) + mine
        for chunk in _chunks(self.run(sql, many=True)):
            for pid, kind, content in chunk:
                if newer_than is not None and pid > newer_than:
                    self._newer.add(pid)
                yield pid, paramcache.parse(kind, content)

    def note_index_sets(self) -> None:
        """What the statement's notes say about unreadable sets: those the
        index knows of, and any read beyond it."""
        index = self.param_index()
        bad = {pid: (Unreadable(reason or "unreadable"), None)
               for pid, reason in index.unreadable().items()}
        if self.store._statement_paramsets:
            bad.update({pid: v for pid, v in self.store._statement_paramsets.items()
                        if isinstance(v[0], Unreadable)})
        self.store._note_paramsets(bad)


class _ParamView:
    """What a parameter predicate reads of a row."""

    __slots__ = ("params",)

    def __init__(self, params):
        self.params = params

    def param(self, path):
        return lookup(self.params, path)


def _is_param_atom(f) -> bool:
    return isinstance(f, (ast.Compare, ast.Exists)) and isinstance(f.key, ast.Param)


class DjangoSqlStore(Store):
    """A Sumatra Django store, read with SQL."""

    # scan() honours Plan.newest_first: rows come ordered by timestamp
    # (newest first), then label by code point, as the executor orders them.
    pushes_down = True
    orders_newest_first = True
    limits_scan = True
    tags_column_limit = S.TAGS_COLUMN_LENGTH

    def __init__(self, uri: str, project: str | None = None, index: bool | None = None):
        from .paramindex import disabled_by_environment
        self.location = uri
        self.project = project
        self.notes_on_open: list[str] = []  # e.g. an interrupted write rolled back
        # The parameter index (paramindex.py): on unless turned off here,
        # by --no-index, or by SMTQL_INDEX=off.
        self.use_index = (not disabled_by_environment()) if index is None else bool(index)
        self._param_index = None
        self._index_attached = False  # to the SQLite connection (attached_index)
        self._index_refreshed = False  # in this statement
        self.index_problem: str | None = None  # why the index cannot be kept
        try:
            self.conn, self.dialect = connect(uri, self.notes_on_open)
        except StoreError:
            raise
        except Exception as err:  # drivers raise their own kinds
            raise StoreError(f"could not open the record store {uri}: "
                             f"{type(err).__name__}: {err}") from None
        self.interrupted = False  # a statement was stopped (interrupt)
        self.last_statements: list = []
        self.statements_run = 0  # SQL statements run so far (tests hold this constant per query)
        # A list to collect every statement run, in the driver's text and
        # parameters (tests/stores/test_plans.py EXPLAINs each); None: off.
        self.statement_log: list | None = None
        self.last_group_statements: list | None = None  # the last group-by's, for `explain`
        self._statement_paramsets: dict | None = None
        # Unreadable sets met while reading rows' parameters chunk by chunk.
        self._statement_unreadable: dict = {}
        self.record_content_type: int | None = None  # see Query.content_type_id
        # The store held only this project when opened (open_sql_store):
        # it chooses between two plans of the same answer (Compiler.in_project).
        self.sole_project = False
        # Every record is the project's (open_sql_store): a filter need not
        # say so, and a parameter count then reads the parameters_id index
        # alone, not each record's row as well (12,631 of 10^5: 70 ms).
        self.only_project_records = False
        # SQLite's data_version of this connection when no record of the
        # store had a timestamp that is not surely readable (None: not
        # known): statements then need not test each (Compiler.timestamp_check).
        self.sure_at: int | None = None
        self.layout = self._detect_layout()
        self.compiler = Compiler(self)

    def _detect_layout(self):
        """The schema generation's names, read once for this connection."""
        from .generations import detect
        try:
            with Transaction(self) as tx:
                return detect(tx, self.location)
        except StoreError:
            self.close()
            raise

    # -- Store API
    def describe(self) -> str:
        return f"Sumatra Django store ({self.dialect.name}, read with SQL) {self.location} " \
               f"(project {self.project})"

    def param_index(self):
        """The index file, opened (not refreshed: Query.param_index does
        that), or None."""
        if not self.use_index or self.index_problem is not None:
            return None
        if self._param_index is None:
            from .paramindex import IndexUnavailable, ParamIndex
            try:
                self._param_index = ParamIndex(self.location).open()
            except IndexUnavailable as err:
                self.index_unavailable(str(err))
                return None
        return self._param_index

    def attached_index(self) -> str | None:
        """The parameter index ATTACHed (read-only) to this SQLite store's
        connection, as the schema prefix of its tables, so that a parameter
        pre-filter is part of the store's own statement; None for a server
        store, or when SQLite will not attach it (then ids are bound)."""
        if self.dialect.name != "sqlite" or self._param_index is None:
            return None
        if not self._index_attached:
            import sqlite3
            from urllib.parse import quote
            try:
                self.conn.execute(f"ATTACH DATABASE ? AS {paramindex.ATTACHED}",
                                  (f"file:{quote(str(self._param_index.path))}?mode=ro",))
            except sqlite3.Error:
                return None
            self._index_attached = True
        return paramindex.ATTACHED + "."

    def forget_index(self) -> None:
        """DETACH, then close the index file (outside any transaction):
        on closing, and before `smtql index --drop` or `--rebuild`
        replaces it."""
        if self._index_attached:
            try:
                self.conn.execute(f"DETACH DATABASE {paramindex.ATTACHED}")
            except Exception:  # noqa: BLE001 - the connection is closing anyway
                pass
            self._index_attached = False
        if self._param_index is not None:
            self._param_index.close()
            self._param_index = None

    def index_unavailable(self, reason: str) -> None:
        """The index cannot be kept: parameters are parsed in memory from
        now on, and the statements that read them say so."""
        self.index_problem = reason
        if self._param_index is not None:
            self._param_index.close()
            self._param_index = None

    def interrupt(self) -> None:
        from .connect import interrupt
        self.interrupted = True
        interrupt(self.conn, self.dialect.name, self.location)

    def reconnect(self) -> None:
        """A fresh connection, after an interrupted statement: a driver stopped
        in the middle of a reply (PyMySQL) is out of step with its server."""
        old = self.conn
        self.conn, _ = connect(self.location)  # (if this fails, the next query tries again)
        self.interrupted = False
        self.sure_at = None  # a data_version is the connection's own
        try:
            if self.dialect.name == "mysql":
                # MariaDB goes on with a statement whose client stopped
                # reading (a KeyboardInterrupt with no Ctrl-C behind it, or
                # one that came before the watcher's KILL): stop it here.
                with self.conn.cursor() as cur:
                    cur.execute(f"KILL QUERY {int(old.thread_id())}")
            old.close()
        except Exception:  # noqa: BLE001 - it is being replaced
            pass

    def close(self) -> None:
        # The index's own (read-write) connection closes last: the last to
        # close checkpoints the index's write-ahead log and removes it,
        # which the read-only ATTACHed one cannot do.
        self.forget_index()
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass

    def records_all_of_project(self) -> bool:
        """No record names another project, nor none (0.7's schema allows
        NULL): the least and the greatest project_id are the project's, read
        off the project_id index, and it holds no NULL."""
        r = S.RECORD.name
        with Query(self) as qy:
            low, high, null = qy.run(Sql(
                f"SELECT (SELECT MIN(project_id) FROM {r}), (SELECT MAX(project_id) FROM {r}), "
                f"EXISTS (SELECT 1 FROM {r} WHERE project_id IS NULL)"))[0]
        return low is not None and low == high == self.project and not null

    def projects(self) -> list[str]:
        with Query(self) as qy:
            try:
                rows = qy.run(Sql(f"SELECT id FROM {S.PROJECT.name}"))
            except StoreLocked:
                raise
            except StoreError as err:
                raise StoreError(f"{self.location} is not a Sumatra record store smtql can read "
                                 f"(Sumatra 0.8's Django tables): {err.message}") from None
        return [r[0] for r in rows]

    def statement_started(self) -> None:
        """The executor starts a new statement: per-statement state (the
        parameter sets behind notes) starts afresh."""
        super().statement_started()
        self._statement_roots = None
        self._statement_paramsets = None
        self._statement_unreadable = {}
        self._index_refreshed = False

    def statement_notes(self) -> list[str]:
        opened, self.notes_on_open = self.notes_on_open, []  # said once
        return opened + self._index_notes() + self._paramset_notes() + super().statement_notes()

    def _index_notes(self) -> list[str]:
        """Why the statement read parameters without the index, when it did."""
        if (self._statement_paramsets is not None and self.use_index
                and self.index_problem is not None):
            return [f"the parameter index could not be kept ({self.index_problem}); "
                    f"parameters were read without it"]
        return []

    def _paramset_notes(self) -> list[str]:
        sets = self._statement_paramsets or {}
        bad = {pid: v for pid, v in sets.items() if isinstance(v[0], Unreadable)}
        bad.update((pid, (parsed, None)) for pid, parsed in self._statement_unreadable.items()
                   if pid not in bad)
        if bad:
            with Query(self) as qy:
                bad = qy.count_records(bad)
        bad = list(bad.values())
        if not bad:
            return []
        count = sum(n for _, n in bad)
        reasons = list(dict.fromkeys(p.reason for p, _ in bad))
        more = f" (and {len(reasons) - 1} more reasons)" if len(reasons) > 1 else ""
        return [f"{count} record{'s' if count != 1 else ''} ha{'ve' if count != 1 else 's'} "
                f"parameters smtql could not read: {reasons[0]}{more}"]

    def _note_paramsets(self, sets: dict) -> None:
        self._statement_paramsets = sets

    def _note_unreadable(self, pid, parsed) -> None:
        self._statement_unreadable[pid] = parsed

    def pushable(self, atom) -> bool:
        return self.compiler.pushable(atom)

    # -- scanning
    def scan(self, plan) -> Iterator[Row]:
        with self.query() as qy:
            yield from self._scan(qy, plan)

    @contextlib.contextmanager
    def query(self):
        """The read transaction open now (a scan's: a Python predicate or an
        output file asks for records while the scan goes on, and SQLite
        opens no transaction within one), or a new one."""
        if self.__dict__.get("_open_query") is not None:
            yield self._open_query
            return
        with Query(self) as qy:
            self._open_query = qy
            try:
                yield qy
            finally:
                self._open_query = None

    def _scan(self, qy: Query, plan) -> Iterator[Row]:
        fields = ALL_FIELDS if plan is None or plan.fields is None else plan.fields
        where = self.compiler.where(qy, plan.pre if plan is not None else ast.All())
        limit = plan.limit if plan is not None else None
        select, names = self.compiler.select_list(fields)
        sql = "SELECT " + select + Sql(f" FROM {S.RECORD.name} r WHERE ") + where
        if limit is not None and limit[0] == "order":
            self._plan_for_breadth(qy)
            chunks = [self._first(qy, sql, *limit[1:])]
        elif limit is not None:  # (the newest records first: a few tests each)
            kind, n = limit
            n = 1 if n is None else n
            if n <= 0:
                return
            window = self._newest_in_window(qy, select, plan.pre, kind, n)
            chunks = [window if window is not None else self._newest(qy, sql, kind, n)]
        else:
            self._plan_for_breadth(qy)
            if plan is not None and plan.newest_first:
                label = self.dialect.text_order("r.label")
                sql = sql + Sql(f" ORDER BY r.timestamp DESC, {label}")
            chunks = _chunks(qy.run(sql, many=True))
        batched = _Batched(self, qy, fields)
        with progress(description="reading records") as bar:
            yield from self._rows_of(chunks, names, batched, bar)

    def _newest(self, qy: Query, sql: Sql, kind: str, n: int) -> list:
        """The n newest (oldest) rows by timestamp, and every row that ties
        with the n-th: the executor then picks exactly as it would. Rows
        whose timestamp cannot be read (a hand-edited store) do not count
        towards n: they come along, to be reported, and the limit grows
        until n readable rows are found or the store has no more."""
        order = "DESC" if kind != "earliest" else "ASC"
        limit = n + 1
        while True:
            got = qy.run(sql + Sql(f" ORDER BY r.timestamp {order} LIMIT ?", [limit]))
            good = [v for v in got if _readable_ts(v[2])]
            if len(good) > n or len(got) < limit:
                break
            limit = 2 * limit + len(got) - len(good)
        bad = [v for v in got if not _readable_ts(v[2])]
        if len(good) > n and good[n][2] == good[n - 1][2]:  # ties beyond the n-th
            good = good[:n]
            seen = {v[0] for v in good}
            ties = qy.run(sql + Sql(" AND r.timestamp = ?", [good[-1][2]]))
            return good + [v for v in ties if v[0] not in seen] + bad
        return good[:n] + bad

    def _newest_in_window(self, qy: Query, select: Sql, pre, kind: str, n: int) -> list | None:
        """The n newest (oldest) rows, found among the project's WINDOW
        newest (oldest) records, or None where they cannot be told from
        those alone. A server without statistics plans `tag finished latest
        20` over 10^6 records as a loop over every finished record (6 s);
        the newest records are one scan with a small sort, and the filter
        then tests each of them through the object_id index.

        Exact: the window holds the newest records in the order (timestamp,
        id), so when n + 1 of them match and the (n+1)-th is older than the
        n-th, no record outside it is as new as the n-th (none ties)."""
        if not self.dialect.newest_in_window:
            return None
        order = "DESC" if kind != "earliest" else "ASC"
        window = (Sql(f"(SELECT r.db_id FROM {S.RECORD.name} r WHERE ")
                  + self.compiler.in_project()
                  + Sql(f" ORDER BY r.timestamp {order}, r.db_id {order} LIMIT ?) w",
                        [max(WINDOW, WINDOW_PER_ROW * (n + 1))]))
        where = self.compiler.for_few_records().where(qy, pre)
        got = qy.run("SELECT " + select + Sql(f" FROM {S.RECORD.name} r JOIN ") + window
                     + Sql(" ON w.db_id = r.db_id WHERE ") + where
                     + Sql(f" ORDER BY r.timestamp {order} LIMIT ?", [n + 1]))
        if (len(got) <= n or got[n][2] == got[n - 1][2]
                or not all(_readable_ts(v[2]) for v in got)):
            return None
        return got[:n]

    def _first(self, qy: Query, sql: Sql, n: int, keys) -> list:
        """The first n rows in the executor's order (`keys`: (field,
        descending) pairs, then newest first, then label): a total order,
        so exactly the rows it keeps."""
        terms = [t for name, descending in keys for t in self.compiler.order_terms(name, descending)]
        terms += ["r.timestamp DESC", self.dialect.text_order("r.label")]
        return qy.run(sql + Sql(f" ORDER BY {', '.join(terms)} LIMIT ?", [max(n, 0)]))

    def orders_by(self, name: str) -> bool:
        return self.compiler.order_terms(name, False) is not None

    def _rows_of(self, chunks, names, batched: "_Batched", bar):
        """Rows, one chunk of the main statement at a time: the chunk's tags,
        output paths and parameter sets are read then, keyed by its ids, so
        memory holds one chunk, whatever the number of records. A row's
        dict holds only what was read: Row's other fields are its class
        defaults."""
        new_row = Row.__new__
        for chunk in chunks:
            bar.advance(len(chunk))
            fill = batched.read(chunk)
            for values, timestamp in self._decoded(chunk, names):
                d = dict(zip(names, values))  # a trailing parameter set id left out
                d["timestamp"] = timestamp
                d["store"] = self  # what builds its Record and reads its output files
                fill(d, values)
                row = new_row(Row)  # Row(**d), without the cost of keyword arguments
                row.__dict__ = d
                yield row

    def _decoded(self, chunk, names):
        """(values, timestamp) of each row of the chunk whose timestamp
        reads, its duration decoded. A chunk is decoded column by column;
        one holding store content that does not decode is gone through
        row by row, each fault reported, and the rest of the answer stands:
        a duration reads as null, and a record without a readable timestamp
        (every answer is ordered by it) is left out."""
        stamps = decode_ts_column(list(map(_TIMESTAMP_COLUMN, chunk)))
        at = names.index("duration") if "duration" in names else None
        if stamps is not None and (at is None or durations_fine([v[at] for v in chunk])):
            return zip(chunk, stamps)
        return self._decoded_one_by_one(chunk, at)

    def _decoded_one_by_one(self, chunk, at):
        for values in chunk:
            try:
                timestamp = decode_ts(values[2])
            except (ValueError, TypeError, OverflowError, RecursionError) as err:
                self.report_fault(values[1], "timestamp", f"{type(err).__name__}: {err}")
                continue
            if at is not None:
                values = list(values)
                try:
                    values[at] = decode_duration(values[at])
                except (ValueError, TypeError, OverflowError, RecursionError) as err:
                    self.report_fault(values[1], "duration", f"{type(err).__name__}: {err}")
                    values[at] = None
            yield values, timestamp

    def count(self, plan, within: float | None = None) -> int | None:
        """The number of records satisfying `plan.pre` (an answer only when
        the post-filter is trivial); None if not counted within `within`
        seconds."""
        with Query(self) as qy:
            return self._count(qy, plan.pre, within)

    def _count(self, qy: Query, pre, within: float | None = None) -> int | None:
        """COUNT(*) of the records the filter `pre` selects, as many as a scan finds:
        a record whose timestamp does not read is left out (and reported),
        as `_decoded` leaves it out of every answer. Where the column may
        hold anything (SQLite), and some record's timestamp is not surely
        readable (Compiler.timestamp_check: none, in a store nobody
        damaged), the filter's such records are listed and decoded here one
        by one. None if not counted within `within` seconds."""
        # A count under a time limit annotates an answer (what `latest N`
        # leaves out): it counts every record the filter selects, those with
        # an unreadable timestamp among them (the answer's notes name them).
        where = self.compiler.where(qy, pre)
        self._plan_for_breadth(qy)
        check = self.compiler.timestamp_check(qy) if within is None else []
        sql = (Sql.join(", ", [Sql("SELECT COUNT(*)")] + check)
               + Sql(f" FROM {S.RECORD.name} r WHERE ") + where)
        rows = qy.run(sql) if within is None else qy.run_within(sql, within)
        if rows is None:
            return None
        total = int(rows[0][0])
        if not check or self._timestamps_sure(*rows[0][1:]):
            return total
        readable = self.dialect.surely_readable_timestamp("r.timestamp")
        # (a CASE test stops at the first OR term true)
        unsure = qy.run(Sql(f"SELECT group_concat(r.db_id) FROM {S.RECORD.name} r WHERE (")
                        + where + Sql(f") AND CASE WHEN {readable} THEN 0 ELSE 1 END"))[0][0]
        return total - len(self._unreadable(qy, _id_list(unsure)))

    def _plan_for_breadth(self, qy: Query) -> None:
        """Where the store's planner has no statistics to go by (PostgreSQL,
        never ANALYZEd), have it hash the tag tests of the filter just
        written (a count's, a scan's) when a nested loop could cost
        records × tag items. Without statistics it takes a tag's items for
        a few dozen: it looks each record up by primary key (`count tag
        finished` at 10^6, 760,000 items: 4.7 s, against 0.6 s hashing the
        items and scanning the records once), and checks a second tag by a
        range of the (tag, content type, object) index per record (`tag
        finished and tag figure2`: minutes). One tag test of a rare tag
        keeps its loop."""
        settings, tests = self.dialect.hash_join_settings, qy.tag_tests
        if settings and (len(tests) > 1 or tests and qy.many_tagged(tests[0])):
            qy.set_local(**settings)

    def _timestamps_sure(self, version: int, unsure: int) -> bool:
        """Whether every record's timestamp is surely readable, from the two
        columns of Compiler.timestamp_check (remembered until the store
        changes)."""
        counted = version != self.sure_at  # the statement scanned the store
        self.sure_at = version if unsure == 0 else None
        path = self._stamped_file()
        if counted and path is not None:
            # (within the statement's transaction: the file is as it read)
            if unsure == 0:
                stamp.keep(self.location, path)
            else:
                stamp.forget(self.location)
        return unsure == 0

    def recall_sure_timestamps(self, qy: Query) -> None:
        """If this connection does not know whether some record's timestamp
        is unsure, but the store file is as it was when another process
        found none (stamp.py), know it now: the statement then tests none.
        Compared after a read took the shared lock (rollback-journal mode:
        no write lands before the statement)."""
        path = self._stamped_file()
        if self.sure_at is not None or path is None:
            return
        version = qy.run(Sql("SELECT (SELECT data_version FROM pragma_data_version) "
                             "FROM sqlite_master LIMIT 1"))
        if version and stamp.unchanged(self.location, path):
            self.sure_at = version[0][0]

    def _stamped_file(self) -> str | None:
        """The SQLite file whose stamp is kept, beside the parameter index
        (none without it: --no-index writes nothing to the cache)."""
        if self.dialect.name != "sqlite" or not self.use_index:
            return None
        return getattr(self.conn, "store_path", None)

    def _unreadable(self, qy: Query, ids: list) -> set:
        """Those of these records whose timestamp does not read, each
        reported as a scan reports it (one statement, if any ids)."""
        if not ids:
            return set()
        label = self.dialect.selected_text("r.label")  # as the scan reads it, for the notes
        rows = qy.run(Sql(f"SELECT r.db_id, {label}, r.timestamp FROM {S.RECORD.name} r WHERE ")
                      + self.dialect.in_ints("r.db_id", ids))
        return set(ids).difference(values[0] for values, _ in self._decoded_one_by_one(rows, None))

    def explain(self, plan, count: bool = False) -> dict:
        """The statements the plan runs, and how many candidates each stage
        leaves (a `count` with a trivial post-filter is one COUNT)."""
        keep = compile_filter(plan.post)
        with self.query() as qy:  # the post-filter may build Records (a Python predicate)
            if count and plan.post_is_trivial:
                n = self._count(qy, plan.pre)
                return {"statements": list(qy.statements), "candidates": n, "answer": n,
                        "counted": True}
            candidates = answer = 0
            for row in self._scan(qy, plan):
                candidates += 1
                answer += bool(keep(row))
            statements = list(qy.statements)
        return {"statements": statements, "candidates": candidates, "answer": answer}

    # -- group-by in SQL (LANGUAGE.md §9)
    def can_group(self, keys, aggregates) -> bool:
        return groupable(keys, aggregates)

    def group(self, plan, keys, aggregates):
        """One GROUP BY statement; parameter keys are grouped by set there
        and the sets' values merged here (structural equality is Python's).
        None when some record's timestamp is not surely readable: the
        group-by then streams, as exact as `find` (unreadable records left
        out and reported, the others read in Python)."""
        with Query(self) as qy:
            coded = self._coded_keys(qy, keys)
            sql, readers = self.compiler.group_statement(qy, plan.pre, keys, aggregates, coded)
            if coded:
                # PostgreSQL without statistics (Sumatra never ANALYZEs)
                # guesses a handful of records for a filter (a tag: 42 of
                # 763,351) and looks each up by primary key, then sorts
                # for the GROUP BY: 14 s at 10^6. A group-by reads every
                # record of its filter: hash joins and a hash aggregate,
                # with the memory to hash the filter's ids at once (4 MB:
                # 8 batches through 400 MB of temporary files), for this
                # transaction only (3.2 s under load, not 14).
                qy.set_local(**self.dialect.hash_join_settings)
            found = qy.run(sql)
            at = next((i for i, r in enumerate(readers) if r[0] == "version"), None)
            if found and at is not None and not self._timestamps_sure(*found[0][at:at + 2]):
                return None
            values = {}
            params = [(i, r[1]) for i, r in enumerate(readers)
                      if r[0] == "key" and isinstance(r[1], ast.Param)]
            if params:
                column = {}
                for i, k in params:
                    column.setdefault(k.path, set()).update(row[i] for row in found)
                values = self._set_values(qy, [k for _, k in params], column, coded)
            self.last_group_statements = list(qy.statements)  # for `explain`
        return merge_partial_groups(found, readers, values)

    def _coded_keys(self, qy: Query, keys) -> dict:
        """key path -> ParamIndex.value_codes of the parameter keys a server
        groups by value (PostgreSQL, with the index; issue 14): the SQL then
        returns a row per value and per doubtful set, not one per set."""
        if self.dialect.name != "postgresql":
            return {}
        index = qy.param_index()
        if index is None:
            return {}
        coded = {}
        for key in keys:
            if isinstance(key, ast.Param) and key.path not in coded:
                found = index.value_codes(key.path)
                if found is not None:
                    coded[key.path] = found
        return coded

    def _set_values(self, qy: Query, keys, column: dict, coded: dict) -> dict:
        """key path -> what the statement's column holds for the key (a set
        id; a code of `coded`: see ParamIndex.value_codes) -> the key's
        value: from the parameter index where it answers, the other sets
        parsed. `column`: key path -> the values its column holds."""
        index = qy.param_index()
        values, wanted = {}, {}
        for k in keys:
            held = values[k.path] = (coded[k.path].decoded() if k.path in coded
                                     else index.values(k.path) if index is not None else {})
            for v in column[k.path]:
                if v not in held:  # a set: its id, or -2 - its id when coded
                    wanted.setdefault(-2 - v if k.path in coded else v, []).append((k, v))
        for pid, parsed in qy.read_sets(sorted(wanted)):
            for k, v in wanted[pid]:
                values[k.path][v] = lookup(parsed, k.path)
        if index is not None:
            qy.note_index_sets()
        return values

    # -- vocabularies and references
    def tag_counts(self):
        with Query(self) as qy:
            ctype = qy.content_type_id()
            # One pass over the tag items, each joined to its tag and record
            # by primary key.
            names = self.layout
            rows = qy.run(Sql(f"SELECT t.id, t.name, COUNT(*) FROM {names.taggeditem.name} ti "
                              f"JOIN {names.tag.name} t ON t.id = ti.tag_id "
                              f"JOIN {S.RECORD.name} r ON r.db_id = ti.object_id WHERE ")
                          + self.compiler.record_items(ctype)
                          + Sql(" AND r.project_id = ? GROUP BY t.id, t.name", [self.project]))
        counts = Counter()
        for _, name, n in rows:
            counts[name] += n
        return counts

    def present_tags(self, names) -> set[str]:
        with Query(self) as qy:
            return self._present_tags(qy, names)

    def tag_names(self) -> set[str]:
        # Each tag's check stops at its first record: counting every tag's
        # records (tag_counts) is a join of every tag item (2.2 s at 10^6).
        with Query(self) as qy:
            return self._present_tags(qy, qy.tag_names())

    def _present_tags(self, qy: Query, names) -> set[str]:
        """Which of these tags some record of the project carries (one
        statement, each check stopping at its first record)."""
        names = list(dict.fromkeys(names))
        ids = {n: qy.tag_ids([n]) for n in names}
        known = [n for n in names if ids[n]]
        if not known:
            return set()
        checks = ["CASE WHEN " + self.compiler.tag_present(qy, ids[n]) + " THEN 1 ELSE 0 END"
                  for n in known]
        row = qy.run("SELECT " + Sql.join(", ", checks))[0]
        return {n for n, hit in zip(known, row) if hit}

    def _paramsets_now(self) -> dict:
        if self._statement_paramsets is None:
            with Query(self) as qy:
                qy.load_paramsets()
        return self._statement_paramsets

    def param_keys(self):
        counts = Counter()
        with Query(self) as qy:
            index = qy.param_index()
            if index is not None:
                return self._param_keys_indexed(qy, index)
        sets = self._paramsets_now()
        with Query(self) as qy:
            sets = qy.count_records(sets)
        for parsed, n in sets.values():
            if isinstance(parsed, Unreadable):
                continue
            for name in parameter_key_names(parsed):
                counts[name] += n
        return counts

    def _param_keys_indexed(self, qy: Query, index):
        """The key names by shape from the index, weighted by the number of
        the project's records of each set (one GROUP BY, read a chunk at a
        time with the chunk's shapes: memory holds a chunk and the shapes,
        whatever the number of sets); sets the index has no shape for (new,
        too deep) parsed here."""
        by_set = qy.run(Sql(f"SELECT r.parameters_id, COUNT(*) FROM {S.RECORD.name} r "
                            f"WHERE r.project_id = ? GROUP BY r.parameters_id", [self.project]),
                        many=True)
        names, per_shape, others = _records_per_shape(index, by_set)
        counts = Counter()
        for shape, n in per_shape.items():
            for name in names[shape]:
                counts[name] += n
        for pid, parsed in qy.read_sets(sorted(others)):
            if not isinstance(parsed, Unreadable):
                for name in parameter_key_names(parsed):
                    counts[name] += others[pid]
        qy.note_index_sets()
        return counts

    # -- `keys FILTER` from the index
    def keys_of(self, plan):
        """`keys`' counts answered from the parameter index: the answer's
        records counted per parameter set in one GROUP BY, each set's
        leaf keys read from its shape (paramindex: key names kept per
        structure), so no set is parsed but those the index has no shape
        for; and a few sets per shape (the newest of the answer) parsed
        for the examples. None without the index, or when some record's
        timestamp is not surely readable (then `keys` streams, as find:
        those that do not read left out and reported)."""
        with Query(self) as qy:
            index = qy.param_index()
            if index is None:
                return None
            check = self.compiler.timestamp_check(qy)
            # (a scan leaves out and reports records whose timestamp does
            # not read: the count per set would not)
            if check and not self._timestamps_sure(*qy.run("SELECT " + Sql.join(", ", check))[0]):
                return None
            by_set = qy.run(Sql(f"SELECT r.parameters_id, COUNT(*) FROM {S.RECORD.name} r "
                                f"WHERE ") + self.compiler.where(qy, plan.pre)
                            + Sql(" GROUP BY r.parameters_id"), many=True)
            newest = {}
            names, per_shape, others = _records_per_shape(index, by_set, newest)
            counts = Counter()
            for shape, n in per_shape.items():
                for name in _leaf_names(names[shape]):
                    counts[name] += n
            sample = []  # (set id, parsed) to take examples from
            for pid, parsed in qy.read_sets(sorted(others)):
                if not isinstance(parsed, Unreadable):
                    for path, _ in leaves(folded(parsed)):
                        counts[path_text(tuple(path))] += others[pid]
                    sample.append((pid, parsed))
            ids = sorted(i for kept in newest.values() for i in kept)
            sample += [(pid, parsed) for pid, parsed in qy.read_sets(ids)
                       if not isinstance(parsed, Unreadable)]
            qy.note_index_sets()
        sample.sort(key=itemgetter(0), reverse=True)  # examples from the newest sets
        return counts, [parsed for _, parsed in sample]

    def has_param(self, path: tuple) -> bool:
        with Query(self) as qy:
            index = qy.param_index()
            if index is not None:
                return self._has_param_indexed(qy, index, path)
        view = _ParamView(None)
        for parsed, _ in self._paramsets_now().values():
            view.params = parsed
            if view.param(path) is not MISSING:
                return True
        return False

    def _has_param_indexed(self, qy: Query, index, path: tuple) -> bool:
        """Whether a set of the project has the key: a set the index is
        certain of (in a store of one project); else the candidates, read a
        few at a time (the first usually has it)."""
        exists = ast.Exists(ast.Param(tuple(path)))
        mine = not self.single_project(qy)
        if not mine and index.candidates(exists, limit=1)[1]:
            return True
        ids, _, newest = index.candidates(exists)
        start, size = 0, 64
        while True:
            part = ids[start:start + size]
            last = start + size >= len(ids)
            for _, parsed in qy.read_sets(part, newer_than=newest if last else None,
                                          project_only=mine):
                if lookup(parsed, path) is not MISSING:
                    return True
            if last:
                return False
            start, size = start + size, size * 16

    def single_project(self, qy: "Query") -> bool:
        """Whether the store holds this project only (a tiny table: asked
        on every load, so a project added meanwhile is noticed)."""
        return qy.run(Sql(f"SELECT COUNT(*) FROM {S.PROJECT.name}"))[0][0] <= 1

    def get_row(self, ref: ast.Ref) -> Row:
        with Query(self) as qy:
            plan_fields = ALL_FIELDS
            from ...plan.planner import Plan
            if ref.kind == "label":
                pre = ast.Compare(ast.Field("label"), "=", ast.Const(ref.text))
                rows = list(self._scan(qy, Plan(pre, pre, ast.All(), plan_fields)))
            else:
                kind = "latest" if ref.kind == "latest" else "earliest"
                rows = list(self._scan(qy, Plan(ast.All(), ast.All(), ast.All(), plan_fields,
                                                (kind, 1))))
                if not rows:  # the newest (oldest) by the column may have no readable timestamp
                    rows = list(self._scan(qy, Plan(ast.All(), ast.All(), ast.All(), plan_fields)))
            if not rows:
                if ref.kind != "label":
                    raise QueryError(f"the store holds no records for project {self.project}")
                labels = [r[0] for r in qy.run(Sql(f"SELECT label FROM {S.RECORD.name} "
                                                   f"WHERE project_id = ?", [self.project]))]
                raise no_such_record(ref, labels)
        key = lambda r: (r.timestamp, r.label)  # noqa: E731
        return min(rows, key=key) if ref.kind == "earliest" else max(rows, key=key)

    def writer(self):
        from .writer import SqlWriter  # SQLAlchemy: imported for writes only
        return SqlWriter(self.location, self.project, layout=self.layout)

    # -- output files
    def stored_datastore_root(self, row) -> str | None:
        """The root of the record's data store, from one map of every
        record's data store, read once per statement: two statements,
        whatever the number of records asked about."""
        roots = self.__dict__.get("_statement_roots")
        if roots is None:
            roots = self._statement_roots = self._datastore_roots()
        return roots.get(row.handle)

    def _datastore_roots(self) -> dict:
        q = self.dialect.q
        column = self.layout.column_or_null(self.layout.record, "r", "datastore_id", q)
        with self.query() as qy:
            stores = {}
            for ds_id, kind, parameters in qy.run(Sql(f"SELECT id, type, parameters "
                                                      f"FROM {S.DATASTORE.name}")):
                try:
                    stores[ds_id] = outputs.root_of(_datastore({"type": kind,
                                                                "parameters": parameters}))
                except _Unusable:
                    stores[ds_id] = None
            return {db_id: stores.get(ds_id) for db_id, ds_id in qy.run(
                Sql(f"SELECT r.db_id, {column} FROM {S.RECORD.name} r WHERE r.project_id = ?",
                    [self.project]))}

    # -- Sumatra Record objects, on request
    def records(self, rows: Iterable[Row]) -> list:
        rows = list(rows)
        with self.query() as qy:
            return build_records(self, qy, [r.handle for r in rows])

    def records_without_parameters(self, rows: Iterable[Row]) -> list:
        rows = list(rows)
        with self.query() as qy:
            return build_records(self, qy, [r.handle for r in rows], parameters=False)


# ------------------------------------------------------------------ keys from the index

EXAMPLE_SETS = 5  # sets per shape parsed for `keys`' examples (3 distinct values a key)


def _records_per_shape(index, by_set, newest: dict | None = None):
    """(the index's key names per shape, records per shape, records per set
    the index has no shape for) of (set id, records) rows, read a chunk at a
    time; `newest`, if given, keeps the newest sets of each shape."""
    per_shape, others = Counter(), {}
    with index.reading():
        names = index.shape_names()
        for chunk in _chunks(by_set, 20000):  # two small numbers a row
            known = index.shapes_of(pid for pid, _ in chunk)
            for pid, n in chunk:
                readable, shape = known.get(pid, (1, None))
                if shape is not None:
                    per_shape[shape] += n
                    if newest is not None:
                        _keep_newest(newest.setdefault(shape, []), pid)
                elif readable:
                    others[pid] = n
    return names, per_shape, others


def _keep_newest(kept: list, pid: int) -> None:
    """Keep the EXAMPLE_SETS largest ids seen (a min-heap)."""
    if len(kept) < EXAMPLE_SETS:
        heapq.heappush(kept, pid)
    elif pid > kept[0]:
        heapq.heapreplace(kept, pid)


@functools.lru_cache(maxsize=256)
def _leaf_names_of(names: tuple) -> tuple:
    from ...language.parser import read_key
    paths = {name: tuple(read_key(name).path) for name in names}
    inner = {path_text(p[:i]) for p in paths.values() for i in range(1, len(p))}
    return tuple(n for n in names if n not in inner)


def _leaf_names(names) -> tuple:
    """The leaf keys (what `keys` lists) of a shape's key names (each leaf's
    and every prefix's, base.parameter_key_names): the names that are no
    other name's prefix. A shape's names are its sets' structure, so its
    leaves are too."""
    return _leaf_names_of(tuple(names))


# ------------------------------------------------------------------ group-by rows

def _key_value(key, value, values):
    if isinstance(key, ast.Param):
        return values[key.path].get(value, MISSING)
    if isinstance(key, ast.StatusKey):
        return value[1:-1] if value else MISSING
    if isinstance(value, (bytes, bytearray)):  # MySQL's exact text is its bytes
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) or value is None else str(value)


def merge_partial_groups(found, readers, values) -> tuple[list[dict], Counter]:
    """The statement's rows as a group-by's lines: rows whose keys are equal
    values (parameter sets with the same value) merged, each aggregate
    finished, and how many values each left out. (One pass, each column's
    merge decided once: a parameter key leaves a row per set.)"""
    from ...plan.evaluate import item_name
    from ...plan.values import group_token
    keys = [(i, r[1]) for i, r in enumerate(readers) if r[0] == "key"]
    newest_at = next((i for i, r in enumerate(readers) if r[0] == "newest"), None)
    parts = [(i, r[2]) for i, r in enumerate(readers) if r[0] == "agg"]
    merge = [min if part == "min" else max if part == "max" else _add for _, part in parts]
    groups: dict[tuple, list] = {}  # token -> [combo, newest, part values…]
    for row in found:
        combo = tuple(_key_value(key, row[i], values) for i, key in keys)
        token = tuple(map(group_token, combo))
        newest = row[newest_at] if newest_at is not None else None
        group = groups.get(token)
        if group is None:
            groups[token] = [combo, newest] + [row[i] for i, _ in parts]
            continue
        if newest is not None and newest > group[1]:  # the newest set's value shows
            group[0], group[1] = combo, newest
        for j, (i, _) in enumerate(parts):
            v = row[i]
            if v is not None:
                seen = group[j + 2]
                group[j + 2] = v if seen is None else merge[j](seen, v)
    aggregates = list(dict.fromkeys(readers[i][1] for i, _ in parts))
    slots = {(readers[i][1], part): j + 2 for j, (i, part) in enumerate(parts)}
    lines, left_out = [], Counter()
    for group in groups.values():
        line = {item_name(k): v for (_, k), v in zip(keys, group[0])}
        for agg in aggregates:
            got = {part: group[j] for (a, part), j in slots.items() if a is agg}
            n = got["n"] or 0
            if agg.func != "count":
                left_out[item_name(agg)] += (got["all"] or 0) - n
            value = (n if agg.func == "count" else MISSING if not n else
                     got["sum"] if agg.func == "sum" else
                     got["sum"] / n if agg.func == "mean" else got[agg.func])
            if agg.func in ("min", "max") and agg.arg.name == "timestamp" and n:
                value = decode_ts(value)
            line[item_name(agg)] = value
        lines.append(line)
    return lines, left_out


def _add(a, b):
    return a + b


# ------------------------------------------------------------------ per chunk

class _Batched:
    """What a chunk of rows needs beyond the main statement's columns: its
    tags, output paths and parameter sets, each read in one statement keyed
    by the chunk's ids (never a subquery per record)."""

    def __init__(self, store: DjangoSqlStore, qy: Query, fields):
        self.store, self.qy, self.compiler = store, qy, store.compiler
        self.tags = "tags" in fields
        self.outputs = "outputpath" in fields
        self.params = "params" in fields
        self.tags_stored = self.tags and qy.content_type_id() is not None
        self._tag_sets: dict = {}  # aggregate as sent -> one shared frozenset

    def read(self, chunk):
        """A function filling a row's dict (and its parameter set id) from
        what was read for this chunk."""
        ids = [v[0] for v in chunk]
        tags = self._tags(ids) if self.tags_stored else {}
        outputs = self._outputs(ids) if self.outputs else {}
        params = self._params({v[-1] for v in chunk}) if self.params else None
        empty_tags, no_outputs = frozenset(), ()

        def fill(d, values):
            if self.tags:
                d["tags"] = tags.get(d["handle"], empty_tags)
            if self.outputs:
                d["outputpath"] = outputs.get(d["handle"], no_outputs)
            if params is not None:
                pid = values[-1]
                d["params"] = params.get(pid) or Unreadable(
                    f"parameter set {pid} is missing from the store")
        return fill

    def _tags(self, ids) -> dict:
        decoded = self._tag_sets
        out = {}
        for object_id, names in self.qy.run(self.compiler.tag_lists_of(self.qy, ids)):
            key = names if isinstance(names, str) else tuple(names)
            try:
                out[object_id] = decoded[key]
            except KeyError:
                out[object_id] = decoded[key] = frozenset(_names_list(names))
        return out

    def _outputs(self, ids) -> dict:
        paths: dict[int, list] = {}
        for record_id, path in self.qy.run(self.compiler.outputs_of(ids)):
            paths.setdefault(record_id, []).append(path)
        return {i: tuple(sorted(v)) for i, v in paths.items()}

    def _params(self, pids) -> dict:
        """id -> parsed set. The sets already loaded for a parameter
        predicate serve; otherwise only this chunk's are read."""
        if self.qy.paramsets is not None:
            return {pid: self.qy.paramsets[pid][0] for pid in pids if pid in self.qy.paramsets}
        got = {}
        if not pids:
            return got
        for pid, kind, content in self.qy.run(self.compiler.paramsets_of(pids)):
            got[pid] = parsed = paramcache.parse(kind, content)
            if isinstance(parsed, Unreadable):
                self.store._note_unreadable(pid, parsed)
        return got


# ------------------------------------------------------------------ decoders

def _names_list(value) -> list:
    """A list aggregate as the driver returns it (JSON text or bytes, or a
    list) as a list of names."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        value = json.loads(value)
    return [v for v in value if v is not None]


_TIMESTAMP_COLUMN = itemgetter(2)  # of the main statement (Compiler.select_list)

def _readable_ts(value) -> bool:
    try:
        decode_ts(value)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def _id_list(text) -> list[int]:
    """The ids a group_concat gave (None: none)."""
    return [int(i) for i in str(text).split(",")] if text else []


def _chunks(cursor, size: int = 2000):
    while True:
        chunk = cursor.fetchmany(size)
        if not chunk:  # [] or () depending on the driver
            return
        yield chunk


# Records `latest N` looks among first where the dialect asks, and at least
# so many per row asked for: a top-1,000 sort costs about what a count does,
# and the newest 1,000 hold the newest 20 of any filter matching one record
# in 50.
WINDOW, WINDOW_PER_ROW = 1000, 10
