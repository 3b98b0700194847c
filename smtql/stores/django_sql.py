"""Sumatra's Django record store (tables `django_store_*`) read with SQL
directly, on SQLite, PostgreSQL and MariaDB/MySQL.

A query costs a constant number of statements, whatever the number of
records: the project's tag names (when the filter names tags), the
project's distinct parameter sets (when it reads parameters), at most one
cut-off for `latest N`, and one statement for the rows (or one COUNT).
Predicates the planner hands down (`pushable`) are decided exactly in SQL:

- tags through the tag tables (`django_store_taggeditem` joined to records
  through the generic relation's content type), the tag names matched in
  Python, so status words, globs and exotic names are exact on every
  backend; the formatted `tags` column is never read;
- timestamps as UTC (SQLite text `YYYY-MM-DD HH:MM:SS[.ffffff]`,
  PostgreSQL timestamptz, MySQL datetime(6));
- text fields case-sensitively by code point (MySQL: on the bytes, which
  never pad), null text read as '';
- durations and output counts as numbers (null satisfies no comparison);
- parameters on the distinct parameter sets, parsed without eval
  (smtql.paramparse, cached in smtql.paramcache) and handed back to SQL as
  the set of matching parameter-set ids.

`matches` (a Python regex) and anything else the planner does not push stays
in Python. SQLite is opened read-only (`mode=ro`) with a busy timeout, so a
store that `smt run` is writing still answers. Nothing here writes.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from typing import Iterable, Iterator
from urllib.parse import quote, unquote, urlparse

from .. import ast, fields as _fields, paramcache
from ..errors import QueryError, StoreError
from ..evaluate import compile_filter, tag_alternatives
from ..params import Unreadable
from ..progress import progress
from ..rows import Row
from ..values import MISSING, is_number
from . import schema as S
from .base import Store, no_such_record, parameter_key_names
from .schema import FALSE_SQL, TRUE_SQL, Sql, paren

UTC = timezone.utc
BUSY_TIMEOUT = 30.0  # seconds SQLite waits for a writer (`smt run`) to finish

TEXT_FIELDS = ("reason", "outcome", "main_file", "version", "user", "script_arguments",
               "stdout_stderr")
# Row fields the main statement can fetch, beyond label and timestamp.
OPTIONAL_FIELDS = TEXT_FIELDS + ("duration", "executable", "repository", "tags", "outputpath",
                                 "params")
ALL_FIELDS = frozenset(("label", "timestamp") + OPTIONAL_FIELDS)
_ORDER_OPS = ("<", "<=", ">", ">=")
_MAX_EXACT_INT = 2 ** 53


# ------------------------------------------------------------------ opening

def open_sql_store(location, project: str | None) -> "DjangoSqlStore":
    from ..discovery import choose_project
    store = DjangoSqlStore(location.uri)
    try:
        available = store.projects()
    except StoreError:
        store.close()
        raise
    store.project = choose_project(location, project, available)
    return store


def _connect(uri: str):
    """(connection, dialect) for an SQLite path or a server URI."""
    if uri.startswith(("postgres://", "postgresql://")):
        try:
            import psycopg
        except ImportError:
            raise StoreError("a PostgreSQL store needs psycopg: pip install 'smtql[postgres]'") from None
        conn = psycopg.connect(uri, autocommit=False)
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return conn, S.DIALECTS["postgresql"]
    if uri.startswith(("mysql://", "mariadb://")):
        try:
            import pymysql
        except ImportError:
            raise StoreError("a MySQL/MariaDB store needs PyMySQL: pip install 'smtql[mysql]'") from None
        u = urlparse(uri)
        conn = pymysql.connect(host=u.hostname or "localhost", port=u.port or 3306,
                               user=unquote(u.username or ""), password=unquote(u.password or ""),
                               database=unquote(u.path.lstrip("/")), charset="utf8mb4",
                               autocommit=False)
        return conn, S.DIALECTS["mysql"]
    import sqlite3
    path = uri[len("sqlite://"):] if uri.startswith("sqlite://") else uri
    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=BUSY_TIMEOUT,
                           isolation_level=None, check_same_thread=False)
    return conn, S.DIALECTS["sqlite"]


# ------------------------------------------------------------------ one query

class _Query:
    """One read transaction: a consistent view for all of a query's
    statements, and a log of them (for `explain`)."""

    def __init__(self, store: "DjangoSqlStore"):
        self.store = store
        self.dialect = store.dialect
        self.statements: list[tuple[str, list]] = []
        self._tags: dict[str, list[int]] | None = None
        self.paramsets: dict | None = None  # id -> (parsed, record count)

    def __enter__(self):
        conn = self.store.conn
        if self.dialect.name == "sqlite":
            conn.execute("BEGIN")
        elif self.dialect.name == "mysql":
            with conn.cursor() as cur:
                cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        return self

    def __exit__(self, *exc):
        conn = self.store.conn
        try:
            if self.dialect.name == "sqlite":
                conn.execute("COMMIT")
            else:
                conn.rollback()
        except Exception:  # noqa: BLE001 - the answer is already out
            pass
        self.store.last_statements = self.statements

    def run(self, sql: Sql, *, many: bool = False):
        text, params = self.dialect.render(sql)
        self.statements.append((text, params))
        self.store.statements_run += 1
        try:
            if self.dialect.name == "postgresql":
                cur = self.store.conn.execute(text, params)
            else:
                cur = self.store.conn.cursor()
                cur.execute(text, params)
        except Exception as err:  # drivers raise their own kinds
            raise StoreError(f"could not read the record store {self.store.location}: "
                             f"{type(err).__name__}: {err}") from None
        return cur if many else cur.fetchall()

    # -- tags
    def tag_ids(self, names) -> list[int]:
        if self._tags is None:
            self._tags = {}
            for tag_id, name in self.run(Sql(f"SELECT id, name FROM {S.TAG.name}")):
                self._tags.setdefault(name, []).append(tag_id)
        return [i for n in names for i in self._tags.get(n, ())]

    def tag_set_decoder(self):
        """'3,7' (tag ids) -> frozenset of names, each distinct text decoded once."""
        self.tag_ids(())
        by_id = {i: n for n, ids in self._tags.items() for i in ids}
        cache: dict = {None: frozenset()}

        def decode(text):
            try:
                return cache[text]
            except KeyError:
                value = cache[text] = frozenset(by_id[int(i)] for i in str(text).split(",")
                                                if int(i) in by_id)
                return value
        return decode

    def tag_ids_like(self, pattern: str) -> list[int]:
        self.tag_ids(())
        return [i for n, ids in self._tags.items() if fnmatchcase(n, pattern) for i in ids]

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
        """Ids of the project's parameter sets that satisfy `f`, a filter
        made only of parameter predicates."""
        test = compile_filter(f)
        return [pid for pid, (parsed, _) in self.load_paramsets().items()
                if test(_ParamView(parsed))]


class _ParamView:
    """What a parameter predicate reads of a row."""

    __slots__ = ("params",)

    def __init__(self, params):
        self.params = params

    def param(self, path):
        from ..params import lookup
        return lookup(self.params, path)


def _is_param_atom(f) -> bool:
    return isinstance(f, (ast.Compare, ast.Exists)) and isinstance(f.key, ast.Param)


# ------------------------------------------------------------------ the store

class DjangoSqlStore(Store):
    """A Sumatra Django store, read with SQL."""

    # scan() honours Plan.newest_first: rows come ordered by timestamp
    # (newest first), then label by code point, as the executor orders them.
    orders_newest_first = True

    def __init__(self, uri: str, project: str | None = None):
        self.location = uri
        self.project = project
        try:
            self.conn, self.dialect = _connect(uri)
        except StoreError:
            raise
        except Exception as err:  # drivers raise their own kinds
            raise StoreError(f"could not open the record store {uri}: "
                             f"{type(err).__name__}: {err}") from None
        self.last_statements: list = []
        self.statements_run = 0  # SQL statements run so far (tests hold this constant per query)
        self._statement_paramsets: dict | None = None
        self._content_type: int | None | bool = False  # False: not looked up yet

    # -- Store API
    def describe(self) -> str:
        return f"Sumatra Django store ({self.dialect.name}, read with SQL) {self.location} " \
               f"(project {self.project})"

    def close(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001
            pass

    def projects(self) -> list[str]:
        with _Query(self) as qy:
            try:
                rows = qy.run(Sql(f"SELECT id FROM {S.PROJECT.name}"))
            except StoreError as err:
                raise StoreError(f"{self.location} is not a Sumatra record store smtql can read "
                                 f"(Sumatra 0.8's Django tables): {err.message}") from None
        return [r[0] for r in rows]

    def statement_started(self) -> None:
        """The executor starts a new statement: per-statement state (the
        parameter sets behind notes) starts afresh."""
        self._statement_paramsets = None

    def statement_notes(self) -> list[str]:
        sets = self._statement_paramsets
        if not sets:
            return []
        bad = {pid: v for pid, v in sets.items() if isinstance(v[0], Unreadable)}
        if bad:
            with _Query(self) as qy:
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

    # -- the split: what SQL decides exactly
    def pushable(self, atom) -> bool:
        if isinstance(atom, (ast.HasTags, ast.TagLike, ast.Status)):
            return True
        if isinstance(atom, ast.TimeRange):
            return True
        if isinstance(atom, (ast.Compare, ast.Exists)) and isinstance(atom.key, ast.Param):
            return True
        if isinstance(atom, ast.Compare):
            return self._compare_sql(atom, None) is not None
        return False

    # -- scanning
    def scan(self, plan) -> Iterator[Row]:
        with _Query(self) as qy:
            yield from self._scan(qy, plan)

    def _scan(self, qy: _Query, plan) -> Iterator[Row]:
        fields = ALL_FIELDS if plan is None or plan.fields is None else plan.fields
        where = self._where(qy, plan.pre if plan is not None else ast.All())
        limit = plan.limit if plan is not None else None
        select, decoders = self._select_list(fields, qy)
        if "params" in fields:
            paramsets = qy.load_paramsets()
        sql = "SELECT " + select + Sql(f" FROM {S.RECORD.name} r WHERE ") + where
        if limit is not None:
            # The n newest (oldest) by timestamp, and every record that ties
            # with the n-th: the executor then picks exactly as it would.
            kind, n = limit
            n = 1 if n is None else n
            if n <= 0:
                return
            order = "DESC" if kind != "earliest" else "ASC"
            got = qy.run(sql + Sql(f" ORDER BY r.timestamp {order} LIMIT ?", [n + 1]))
            if len(got) > n and got[n][2] == got[n - 1][2]:  # ties beyond the n-th
                got = got[:n]
                seen = {v[0] for v in got}
                ties = qy.run(sql + Sql(" AND r.timestamp = ?", [got[-1][2]]))
                got += [v for v in ties if v[0] not in seen]
            else:
                got = got[:n]
            chunks = [got]
        else:
            if plan is not None and plan.newest_first:
                label = self.dialect.text_order("r.label")
                sql = sql + Sql(f" ORDER BY r.timestamp DESC, {label}")
            chunks = _chunks(qy.run(sql, many=True))
        names = [name for name, _ in decoders]
        converters = [(i, decode) for i, (_, decode) in enumerate(decoders) if decode is not None]
        with_params = "params" in fields
        with progress(description="reading records") as bar:
            yield from self._rows_of(chunks, names, converters, with_params,
                                     paramsets if with_params else None, bar)

    def _rows_of(self, chunks, names, converters, with_params, paramsets, bar):
        new_row = Row.__new__
        for chunk in chunks:
            bar.advance(len(chunk))
            for values in chunk:
                values = list(values)
                for i, decode in converters:
                    values[i] = decode(values[i])
                d = dict(_ROW_DEFAULTS)
                d.update(zip(names, values))
                pid = d.pop("parameters_id")
                d["handle"] = d.pop("db_id")
                if with_params:
                    entry = paramsets.get(pid)
                    d["params"] = entry[0] if entry else Unreadable(
                        f"parameter set {pid} is missing from the store")
                row = new_row(Row)  # Row(**d), without the cost of keyword arguments
                row.__dict__ = d
                yield row

    def count(self, plan) -> int:
        """The number of records satisfying `plan.pre` (an answer only when
        the post-filter is trivial)."""
        with _Query(self) as qy:
            where = self._where(qy, plan.pre)
            return int(qy.run(Sql(f"SELECT COUNT(*) FROM {S.RECORD.name} r WHERE ") + where)[0][0])

    def explain(self, plan, count: bool = False) -> dict:
        """The statements the plan runs, and how many candidates each stage
        leaves (a `count` with a trivial post-filter is one COUNT)."""
        keep = compile_filter(plan.post)
        with _Query(self) as qy:
            if count and plan.post_is_trivial:
                where = self._where(qy, plan.pre)
                n = int(qy.run(Sql(f"SELECT COUNT(*) FROM {S.RECORD.name} r WHERE ") + where)[0][0])
                return {"statements": list(qy.statements), "candidates": n, "answer": n}
            candidates = answer = 0
            for row in self._scan(qy, plan):
                candidates += 1
                answer += bool(keep(row))
            statements = list(qy.statements)
        return {"statements": statements, "candidates": candidates, "answer": answer}

    # -- WHERE
    def _where(self, qy: _Query, pre) -> Sql:
        cond = self._cond(qy, pre)
        return Sql("r.project_id = ?", [self.project]) + (
            "" if cond.text == TRUE_SQL else Sql(" AND ") + paren(cond))

    def _cond(self, qy: _Query, f) -> Sql:
        if isinstance(f, ast.All):
            return Sql(TRUE_SQL)
        if isinstance(f, ast.Not):
            if isinstance(f.item, ast.All):
                return Sql(FALSE_SQL)
            return "NOT " + paren(self._cond(qy, f.item))
        if isinstance(f, (ast.And, ast.Or)):
            params = [i for i in f.items if _is_param_atom(i)]
            parts = [self._cond(qy, i) for i in f.items if not _is_param_atom(i)]
            if params:
                group = params[0] if len(params) == 1 else type(f)(tuple(params))
                parts.append(self._params_in(qy, group))
            word = " AND " if isinstance(f, ast.And) else " OR "
            return Sql.join(word, (paren(p) for p in parts))
        if _is_param_atom(f):
            return self._params_in(qy, f)
        if isinstance(f, ast.HasTags):
            return Sql.join(" AND ", (self._tagged(qy, qy.tag_ids(tag_alternatives(t)))
                                      for t in f.tags))
        if isinstance(f, ast.Status):
            return self._tagged(qy, qy.tag_ids([_fields.status_tag(f.word)]))
        if isinstance(f, ast.TagLike):
            return self._tagged(qy, qy.tag_ids_like(f.pattern))
        if isinstance(f, ast.TimeRange):
            p = f.date.value
            if f.op == ">=":
                return self._ts(">=", p.start)
            if f.op == "<":
                return self._ts("<", p.start)
            return self._ts(">=", p.start) + " AND " + self._ts("<", p.end)
        if isinstance(f, ast.Compare):
            sql = self._compare_sql(f, qy)
            if sql is None:
                raise AssertionError(f"not pushable: {f}")
            return sql
        raise AssertionError(f"not pushable: {f}")

    def _params_in(self, qy: _Query, f) -> Sql:
        sets = qy.load_paramsets()
        ids = qy.param_ids(f)
        if len(ids) > len(sets) / 2:  # the shorter list: its complement
            others = set(sets) - set(ids)
            if not others:
                return Sql(TRUE_SQL)
            return "NOT " + paren(self.dialect.in_ints("r.parameters_id", others))
        return self.dialect.in_ints("r.parameters_id", ids)

    def _content_type_id(self, qy: _Query):
        if self._content_type is False:
            rows = qy.run(Sql(f"SELECT id FROM {S.CONTENT_TYPE.name} WHERE app_label = ? "
                              f"AND model = ?", list(S.RECORD_CONTENT_TYPE)))
            self._content_type = rows[0][0] if rows else None
        return self._content_type

    def _tagged(self, qy: _Query, tag_ids) -> Sql:
        """The record carries one of these tags (through the tag tables)."""
        ctype = self._content_type_id(qy)
        if not tag_ids or ctype is None:
            return Sql(FALSE_SQL)
        return (Sql(f"r.db_id IN (SELECT ti.object_id FROM {S.TAGGEDITEM.name} ti "
                    f"WHERE ti.content_type_id = ? AND ", [ctype])
                + self.dialect.in_ints("ti.tag_id", tag_ids) + ")")

    def _ts_param(self, moment: datetime):
        moment = moment.astimezone(UTC)
        if self.dialect.name == "sqlite":  # Django's text: 'YYYY-MM-DD HH:MM:SS[.ffffff]'
            return moment.replace(tzinfo=None).isoformat(" ")
        if self.dialect.name == "mysql":  # datetime(6), naive UTC
            return moment.replace(tzinfo=None)
        return moment

    def _ts(self, op: str, moment: datetime) -> Sql:
        return Sql(f"r.timestamp {op} ?", [self._ts_param(moment)])

    # -- field comparisons
    def _field_expr(self, name: str) -> str:
        q = self.dialect.q
        if name in TEXT_FIELDS:
            return f"COALESCE(r.{q(name)}, '')"
        if name == "label":
            return "r.label"
        if name == "executable":
            return f"(SELECT e.path FROM {S.EXECUTABLE.name} e WHERE e.id = r.executable_id)"
        if name == "repository":
            return f"(SELECT rp.url FROM {S.REPOSITORY.name} rp WHERE rp.id = r.repository_id)"
        if name == "duration":
            return "r.duration"
        if name == "outputs":
            return (f"(SELECT COUNT(*) FROM {S.DATAKEY.name} k "
                    f"WHERE k.output_from_record_id = r.db_id)")
        raise KeyError(name)

    def _compare_sql(self, f: ast.Compare, qy: _Query | None) -> Sql | None:
        """The exact SQL of a field comparison, or None when SQL cannot
        decide it exactly (the evaluator then does). With qy None, only
        whether it can."""
        info = _fields.FIELDS[f.key.name]
        op, lit = f.op, f.value.value
        if lit is None and op != "in":
            return Sql(FALSE_SQL)  # no field compares with null
        kind = info.kind
        if kind == _fields.TIME:
            return self._time_sql(op, lit)
        if kind == _fields.TEXT:
            expr = self._field_expr(info.name)
            cond = self._text_sql(expr, op, lit)
            if cond is None or not info.nullable:
                return cond
            return Sql(f"({expr} IS NOT NULL AND ") + cond + ")"
        if kind == _fields.PATHS:
            inner_op = "=" if op == "!=" else op
            cond = self._text_sql("k.path", inner_op, lit)
            if cond is None:
                return None
            exists = (Sql(f"EXISTS (SELECT 1 FROM {S.DATAKEY.name} k "
                          f"WHERE k.output_from_record_id = r.db_id AND ") + cond + ")")
            return "NOT " + exists if op == "!=" else exists
        if kind in (_fields.DURATION, _fields.COUNT):
            expr = self._field_expr(info.name)
            cond = self._number_sql(expr, op, lit)
            if cond is None or not info.nullable:
                return cond
            return Sql(f"({expr} IS NOT NULL AND ") + cond + ")"
        if kind == _fields.TAGS:
            return self._tags_field_sql(op, lit, qy)
        return None

    def _time_sql(self, op, lit) -> Sql | None:
        from ..dates import Period
        periods = lit if op == "in" else (lit,)
        if not all(isinstance(p, Period) for p in periods):
            return None

        def within(p):
            if p.is_instant:  # a moment (`3 days ago`, a Python datetime)
                return self._ts("=", p.start)
            return paren(self._ts(">=", p.start) + " AND " + self._ts("<", p.end))
        if op == "in":
            return Sql.join(" OR ", (within(p) for p in periods)) if periods else Sql(FALSE_SQL)
        p = lit
        if p.is_instant:  # as the evaluator: compared as a moment
            return self._ts("<>" if op == "!=" else op, p.start) if op in (
                "=", "!=", "<", "<=", ">", ">=") else None
        return {
            "=": lambda: within(p),
            "!=": lambda: "NOT " + within(p),
            ">=": lambda: self._ts(">=", p.start),
            "<": lambda: self._ts("<", p.start),
            ">": lambda: self._ts(">=", p.end),
            "<=": lambda: self._ts("<", p.end),
        }.get(op, lambda: None)()

    def _text_sql(self, expr: str, op: str, lit) -> Sql | None:
        d = self.dialect
        if op == "in":
            if not isinstance(lit, tuple):
                return None
            items = list(dict.fromkeys(v for v in lit if isinstance(v, str)))
            if not items:
                return Sql(FALSE_SQL)
            return (Sql(f"{d.text_expr(expr)} IN (")
                    + Sql.join(", ", (d.text_param(v) for v in items)) + ")")
        if not isinstance(lit, str):
            return None
        if op in ("=", "!="):
            return Sql(f"{d.text_expr(expr)} {'=' if op == '=' else '<>'} ") + d.text_param(lit)
        if op in _ORDER_OPS:
            return Sql(f"{d.text_order(expr)} {op} ") + d.text_param(lit)
        if op == "contains":
            return d.contains(expr, lit)
        if op == "startswith":
            return d.startswith(expr, lit)
        if op == "endswith":
            return d.endswith(expr, lit)
        return None  # matches, ~=: Python decides

    def _number_sql(self, expr: str, op: str, lit) -> Sql | None:
        def exact(v):
            if not is_number(v):
                return None
            if isinstance(v, int) and abs(v) >= _MAX_EXACT_INT:
                return None
            v = float(v)
            return v if math.isfinite(v) else None
        if op == "in":
            if not isinstance(lit, tuple):
                return None
            items = [exact(v) for v in lit if is_number(v)]
            if any(v is None for v in items):
                return None
            items = list(dict.fromkeys(items))
            if not items:
                return Sql(FALSE_SQL)
            return Sql(f"{expr} IN (" + ", ".join("?" * len(items)) + ")", items)
        v = exact(lit)
        if v is None:
            return None
        if op in ("=", "!="):
            return Sql(f"{expr} {'=' if op == '=' else '<>'} ?", [v])
        if op in _ORDER_OPS:
            cond = Sql(f"{expr} {op} ?", [v])
            guard = self.dialect.nan_guard(expr) if op in (">", ">=") else None
            return cond if guard is None else Sql(f"{guard} AND ") + cond
        if op == "~=":
            return Sql(f"abs({expr} - ?) <= ?", [v, 1e-8 + 1e-5 * abs(v)])
        return None

    def _tags_field_sql(self, op, lit, qy: _Query | None) -> Sql | None:
        if op == "contains":
            if not isinstance(lit, str):
                return None
            return self._tagged(qy, qy.tag_ids([lit])) if qy else Sql(TRUE_SQL)
        if op not in ("=", "!="):
            return None
        wanted = lit if isinstance(lit, tuple) else (lit,)
        if not all(isinstance(t, str) for t in wanted):
            return None
        if qy is None:
            return Sql(TRUE_SQL)
        wanted = set(wanted)
        ctype = self._content_type_id(qy)
        parts = [self._tagged(qy, qy.tag_ids([t])) for t in sorted(wanted)]
        n_tags = Sql(f"(SELECT COUNT(*) FROM {S.TAGGEDITEM.name} ti WHERE ti.object_id = r.db_id "
                     f"AND ti.content_type_id = ?) = ?", [ctype if ctype is not None else -1,
                                                           len(wanted)])
        same = Sql.join(" AND ", [paren(p) for p in parts] + [n_tags])
        return same if op == "=" else "NOT " + paren(same)

    # -- SELECT list
    def _select_list(self, fields, qy: _Query) -> tuple[Sql, list]:
        cols: list[Sql] = [Sql("r.db_id"), Sql("r.label"), Sql("r.timestamp"),
                           Sql("r.parameters_id")]
        decoders = [("db_id", None), ("label", None), ("timestamp", self._decode_ts),
                    ("parameters_id", None)]
        for name in OPTIONAL_FIELDS:
            if name not in fields or name == "params":
                continue
            if name in TEXT_FIELDS:  # COALESCE: never null
                cols.append(Sql(self._field_expr(name)))
                decoders.append((name, None))
            elif name in ("executable", "repository", "duration"):
                cols.append(Sql(self._field_expr(name)))
                decoders.append((name, None))
            elif name == "tags":  # tag ids, named from the tag table (read once)
                ctype = self._content_type_id(qy)
                cols.append(Sql(self.dialect.int_list(
                    f"FROM {S.TAGGEDITEM.name} ti "
                    f"WHERE ti.object_id = r.db_id AND ti.content_type_id = ?", "ti.tag_id"),
                    [ctype if ctype is not None else -1]))
                decoders.append(("tags", qy.tag_set_decoder()))
            elif name == "outputpath":
                cols.append(Sql(self.dialect.json_names(
                    f"FROM {S.DATAKEY.name} k WHERE k.output_from_record_id = r.db_id", "k.path")))
                decoders.append(("outputpath", _names_tuple))
        return Sql.join(", ", cols), decoders

    def _decode_ts(self, value) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # -- vocabularies and references
    def tag_counts(self):
        from collections import Counter
        with _Query(self) as qy:
            ctype = self._content_type_id(qy)
            rows = qy.run(Sql(f"SELECT t.id, t.name, COUNT(*) FROM {S.TAGGEDITEM.name} ti "
                              f"JOIN {S.TAG.name} t ON t.id = ti.tag_id "
                              f"JOIN {S.RECORD.name} r ON r.db_id = ti.object_id "
                              f"WHERE ti.content_type_id = ? AND r.project_id = ? "
                              f"GROUP BY t.id, t.name", [ctype if ctype is not None else -1,
                                                         self.project]))
        counts = Counter()
        for _, name, n in rows:
            counts[name] += n
        return counts

    def present_tags(self, names) -> set[str]:
        """Which of these tags some record of the project carries (one
        statement, each check stopping at its first record)."""
        names = list(dict.fromkeys(names))
        if not names:
            return set()
        with _Query(self) as qy:
            ids = {n: qy.tag_ids([n]) for n in names}
            known = [n for n in names if ids[n]]
            if not known:
                return set()
            checks = [Sql("CASE WHEN EXISTS (SELECT 1 FROM " + S.RECORD.name + " r WHERE "
                          "r.project_id = ? AND ", [self.project]) + self._tagged(qy, ids[n])
                      + ") THEN 1 ELSE 0 END" for n in known]
            row = qy.run("SELECT " + Sql.join(", ", checks))[0]
        return {n for n, hit in zip(known, row) if hit}

    def _paramsets_now(self) -> dict:
        if self._statement_paramsets is None:
            with _Query(self) as qy:
                qy.load_paramsets()
        return self._statement_paramsets

    def param_keys(self):
        from collections import Counter
        counts = Counter()
        sets = self._paramsets_now()
        with _Query(self) as qy:
            sets = qy.count_records(sets)
        for parsed, n in sets.values():
            if isinstance(parsed, Unreadable):
                continue
            for name in parameter_key_names(parsed):
                counts[name] += n
        return counts

    def has_param(self, path: tuple) -> bool:
        view = _ParamView(None)
        for parsed, _ in self._paramsets_now().values():
            view.params = parsed
            if view.param(path) is not MISSING:
                return True
        return False

    def single_project(self, qy: "_Query") -> bool:
        """Whether the store holds this project only (a tiny table: asked
        on every load, so a project added meanwhile is noticed)."""
        return qy.run(Sql(f"SELECT COUNT(*) FROM {S.PROJECT.name}"))[0][0] <= 1

    def get_row(self, ref: ast.Ref) -> Row:
        with _Query(self) as qy:
            plan_fields = ALL_FIELDS
            from ..planner import Plan
            if ref.kind == "label":
                pre = ast.Compare(ast.Field("label"), "=", ast.Const(ref.text))
                rows = list(self._scan(qy, Plan(pre, pre, ast.All(), plan_fields)))
            else:
                kind = "latest" if ref.kind == "latest" else "earliest"
                rows = list(self._scan(qy, Plan(ast.All(), ast.All(), ast.All(), plan_fields,
                                                (kind, 1))))
            if not rows:
                if ref.kind != "label":
                    raise QueryError(f"the store holds no records for project {self.project}")
                labels = [r[0] for r in qy.run(Sql(f"SELECT label FROM {S.RECORD.name} "
                                                   f"WHERE project_id = ?", [self.project]))]
                raise no_such_record(ref, labels)
        key = lambda r: (r.timestamp, r.label)  # noqa: E731
        return min(rows, key=key) if ref.kind == "earliest" else max(rows, key=key)

    # -- Sumatra Record objects, on request
    def records(self, rows: Iterable[Row]) -> list:
        rows = list(rows)
        with _Query(self) as qy:
            return build_records(self, qy, [r.handle for r in rows])


# ------------------------------------------------------------------ decoders

_ROW_DEFAULTS = {f.name: f.default for f in __import__("dataclasses").fields(Row)}

def _chunks(cursor, size: int = 2000):
    while True:
        chunk = cursor.fetchmany(size)
        if not chunk:  # [] or () depending on the driver
            return
        yield chunk


def _same(v):
    return v


def _text(v):
    return "" if v is None else v


def _names_list(v) -> list:
    if v is None:
        return []
    if isinstance(v, (bytes, bytearray)):
        v = v.decode("utf-8")
    if isinstance(v, str):
        v = json.loads(v)
    return [x for x in v if x is not None]


def _names_set(v) -> frozenset:
    return frozenset(_names_list(v))


def _names_tuple(v) -> tuple:
    return tuple(sorted(_names_list(v)))


# ------------------------------------------------------------------ Record objects, in bulk

def build_records(store: DjangoSqlStore, qy: _Query, db_ids: list) -> list:
    """sumatra.records.Record objects for these records, built the way
    Sumatra's `models.Record.to_sumatra` builds them, but from a fixed number
    of statements (one per related table, whatever the number of records)
    and without `eval`: parameter sets come from the parsed data, launch
    modes and data stores from `ast.literal_eval` of their stored dicts, and
    executables keep the stored path and version (Sumatra would search the
    PATH and run the program to ask its version)."""
    from sumatra import datastore as sm_datastore, records as sm_records

    d, q = store.dialect, store.dialect.q
    if not db_ids:
        return []
    cols = ("db_id", "label", "reason", "duration", "main_file", "version", "outcome",
            "timestamp", "diff", "user", "script_arguments", "stdout_stderr", "repeats",
            "datastore_id", "executable_id", "input_datastore_id", "launch_mode_id",
            "parameters_id", "repository_id")
    rows = qy.run(Sql("SELECT " + ", ".join(f"r.{q(c)}" for c in cols)
                      + f" FROM {S.RECORD.name} r WHERE ") + d.in_ints("r.db_id", db_ids))
    recs = {row[0]: dict(zip(cols, row)) for row in rows}

    def fetch(table: S.Table, ids, columns=None):
        ids = {i for i in ids if i is not None}
        if not ids:
            return {}
        columns = columns or table.columns
        got = qy.run(Sql("SELECT " + ", ".join(f"x.{q(c)}" for c in columns)
                         + f" FROM {table.name} x WHERE ") + d.in_ints("x.id", ids))
        return {r[0]: dict(zip(columns, r)) for r in got}

    executables = {i: _executable(v) for i, v in
                   fetch(S.EXECUTABLE, (r["executable_id"] for r in recs.values())).items()}
    repositories = {i: _repository(v) for i, v in
                    fetch(S.REPOSITORY, (r["repository_id"] for r in recs.values())).items()}
    launch_modes = {i: _launch_mode(v) for i, v in
                    fetch(S.LAUNCHMODE, (r["launch_mode_id"] for r in recs.values())).items()}
    datastores = {i: _datastore(v) for i, v in fetch(
        S.DATASTORE, [r[k] for r in recs.values() for k in ("datastore_id", "input_datastore_id")]
    ).items()}
    paramsets = {i: _parameter_set(v["type"], v["content"]) for i, v in
                 fetch(S.PARAMETERSET, (r["parameters_id"] for r in recs.values())).items()}

    def linked(link: S.Table, other: S.Table, other_fk: str):
        cols_ = ("record_id",) + tuple(f"o.{q(c)}" for c in other.columns)
        got = qy.run(Sql("SELECT l.record_id, " + ", ".join(cols_[1:])
                         + f" FROM {link.name} l JOIN {other.name} o ON o.id = l.{other_fk} "
                           f"WHERE ") + d.in_ints("l.record_id", recs))
        out: dict = {}
        for r in got:
            out.setdefault(r[0], []).append(dict(zip(other.columns, r[1:])))
        return out

    inputs = linked(S.RECORD_INPUT_DATA, S.DATAKEY, "datakey_id")
    deps = linked(S.RECORD_DEPENDENCIES, S.DEPENDENCY, "dependency_id")
    platforms = linked(S.RECORD_PLATFORMS, S.PLATFORM, "platforminformation_id")
    outputs: dict = {}
    for r in qy.run(Sql("SELECT " + ", ".join(f"k.{q(c)}" for c in S.DATAKEY.columns)
                        + f" FROM {S.DATAKEY.name} k WHERE ")
                    + d.in_ints("k.output_from_record_id", recs)):
        key = dict(zip(S.DATAKEY.columns, r))
        outputs.setdefault(key["output_from_record_id"], []).append(key)
    tags: dict = {}
    ctype = store._content_type_id(qy)
    if ctype is not None:
        for object_id, name in qy.run(
                Sql(f"SELECT ti.object_id, t.name FROM {S.TAGGEDITEM.name} ti JOIN {S.TAG.name} t "
                    f"ON t.id = ti.tag_id WHERE ti.content_type_id = ? AND ", [ctype])
                + d.in_ints("ti.object_id", recs)):
            tags.setdefault(object_id, set()).add(name)

    def datakey(k):
        return sm_datastore.DataKey(k["path"], k["digest"], _aware(store, k["creation"]),
                                    **_metadata(k["metadata"]))

    built = {}
    for db_id, r in recs.items():
        record = sm_records.Record(
            executables.get(r["executable_id"]), repositories.get(r["repository_id"]),
            r["main_file"], r["version"], launch_modes.get(r["launch_mode_id"]),
            datastores.get(r["datastore_id"]), paramsets.get(r["parameters_id"]),
            [datakey(k) for k in sorted(inputs.get(db_id, ()), key=lambda k: k["path"])],
            r["script_arguments"], r["label"], r["reason"], r["diff"], r["user"],
            input_datastore=datastores.get(r["input_datastore_id"]),
            timestamp=store._decode_ts(r["timestamp"]))
        record.stdout_stderr = r["stdout_stderr"]
        record.duration = r["duration"]
        record.outcome = r["outcome"]
        record.tags = tags.get(db_id, set())
        record.output_data = [datakey(k) for k in sorted(outputs.get(db_id, ()),
                                                         key=lambda k: k["path"])]
        record.dependencies = [_dependency(x) for x in sorted(deps.get(db_id, ()),
                                                               key=lambda x: x["name"])]
        record.platforms = [_platform(x) for x in platforms.get(db_id, ())]
        record.repeats = r["repeats"]
        built[db_id] = record
    return [built[i] for i in db_ids]


def _aware(store, value):
    return None if value is None else store._decode_ts(value)


def _literal(text):
    import ast as pyast
    try:
        return pyast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _metadata(text) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        value = _literal(text)  # older Sumatra wrote repr(dict)
    return value if isinstance(value, dict) else {}


def _executable(row):
    from sumatra import programs
    from sumatra.core import get_registered_components
    cls = get_registered_components(programs.Executable).get(row["name"], programs.Executable)
    ex = cls.__new__(cls)  # no PATH search, no running the program for its version
    ex.path, ex.version, ex.options, ex.name = row["path"], row["version"], row["options"], row["name"]
    return ex


def _repository(row):
    from sumatra import versioncontrol
    for module in versioncontrol.vcs_list:
        if hasattr(module, row["type"]):
            try:
                return getattr(module, row["type"])(row["url"], upstream=row["upstream"])
            except Exception:  # noqa: BLE001 - the working copy may be gone
                break
    from sumatra.versioncontrol.base import Repository
    repo = Repository.__new__(Repository)
    repo.url, repo.upstream = row["url"], row["upstream"]
    return repo


def _launch_mode(row):
    from sumatra import launch
    params = _literal(row["parameters"])
    cls = getattr(launch, row["type"], None)
    if cls is None or not isinstance(params, dict):
        return None
    try:
        return cls(**params)
    except Exception:  # noqa: BLE001
        return None


def _datastore(row):
    from sumatra.datastore import get_data_store
    params = _literal(row["parameters"])
    if not isinstance(params, dict):
        return None
    try:
        return get_data_store(row["type"], params)
    except Exception:  # noqa: BLE001
        return None


def _dependency(row):
    from sumatra import dependency_finder
    module = getattr(dependency_finder, row["module"], None)
    if module is None or not hasattr(module, "Dependency"):
        from sumatra.dependency_finder.core import BaseDependency
        return BaseDependency(row["name"], row["path"], row["version"], row["diff"], row["source"])
    return module.Dependency(row["name"], row["path"], row["version"], row["diff"], row["source"])


def _platform(row):
    from sumatra import launch
    return launch.PlatformInformation(**{k: v for k, v in row.items() if k != "id"})


def _parameter_set(type_name: str, content):
    """A Sumatra parameter set built from the parsed data, never from eval.
    An unreadable set is left as its stored text."""
    import copy
    data = paramcache.parse(type_name, content)
    if isinstance(data, Unreadable):
        return content
    from sumatra import parameters
    cls = getattr(parameters, type_name, None)
    if cls is None:
        return copy.deepcopy(data)  # Sumatra's fallbacks: None, {}, the text
    try:
        if type_name in ("NTParameterSet", "SimpleParameterSet"):
            return cls(copy.deepcopy(data))
        if type_name == "ConfigParserParameterSet":
            from configparser import ConfigParser
            ps = cls.__new__(cls)
            ConfigParser.__init__(ps)
            ps.read_string(str(content))
            return ps
        ps = cls.__new__(cls)  # JSON, YAML: the parsed values
        ps._values = copy.deepcopy(data)
        return ps
    except Exception:  # noqa: BLE001 - fall back to the plain data
        return copy.deepcopy(data)
