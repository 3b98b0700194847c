"""The filter → SQL compiler of Sumatra's Django store, and what it can push.

Predicates the planner hands down (`pushable`) are decided exactly in SQL:

- tags through the tag tables (`django_store_taggeditem`, or django-tagging's
  `tagging_taggeditem` before 0.8.1: `generations.py` names them) joined to
  records through the generic relation's content type, the tag names matched in
  Python, so status words, globs and exotic names are exact on every
  backend; the formatted `tags` column is never read;
- timestamps as UTC (SQLite text `YYYY-MM-DD HH:MM:SS[.ffffff]`,
  PostgreSQL timestamptz, MySQL datetime(6));
- text fields case-sensitively by code point (MySQL: on the bytes, which
  never pad), null text read as '';
- durations and output counts as numbers (null satisfies no comparison);
- parameters on the distinct parameter sets, parsed without eval
  (smtql.params.parse, cached in smtql.params.cache) and handed back to SQL as
  the set of matching parameter-set ids; with the parameter index
  (paramindex.py) only the sets it names as candidates are parsed.

`matches` (a Python regex) and anything else the planner does not push stays
in Python.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timezone
from itertools import repeat
from operator import attrgetter, methodcaller
from typing import TYPE_CHECKING

from ...language import ast, fields as _fields
from ...plan.evaluate import tag_alternatives
from ...plan.values import is_number
from . import schema as S
from .schema import FALSE_SQL, TRUE_SQL, Sql, paren

if TYPE_CHECKING:
    from .reader import Query

UTC = timezone.utc
TEXT_FIELDS = ("reason", "outcome", "main_file", "version", "user", "script_arguments",
               "stdout_stderr")
# Row fields the main statement can fetch, beyond label and timestamp.
OPTIONAL_FIELDS = TEXT_FIELDS + ("duration", "executable", "repository", "tags", "outputpath",
                                 "params")
ALL_FIELDS = frozenset(("label", "timestamp") + OPTIONAL_FIELDS)
# Read after the main statement, per chunk of its rows, keyed by their ids.
BATCHED_FIELDS = ("tags", "outputpath", "params")
_ORDER_OPS = ("<", "<=", ">", ">=")
# A literal holding U+0000 against text that cannot (PostgreSQL): decided
# without asking; orders (<, >=, …) are left to Python.
_NO_NUL_TEXT = {"=": Sql(FALSE_SQL), "!=": Sql(TRUE_SQL), "contains": Sql(FALSE_SQL),
                "startswith": Sql(FALSE_SQL), "endswith": Sql(FALSE_SQL)}
_MAX_EXACT_INT = 2 ** 53


def is_param_atom(f) -> bool:
    return isinstance(f, (ast.Compare, ast.Exists)) and isinstance(f.key, ast.Param)


def decode_ts(value) -> datetime:
    """A stored timestamp as an aware UTC datetime (naive ones are UTC).
    Anything else (SQLite keeps whatever was written) raises ValueError."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError(f"{type(value).__name__} {str(value)[:40]!r} is not a timestamp")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def decode_duration(value):
    """A stored duration: a finite number of seconds, or null. SQLite keeps
    whatever was written (text, blobs, 9e999 as infinity); anything else is
    refused."""
    if value is None or type(value) is int or (type(value) is float and math.isfinite(value)):
        return value
    raise ValueError(f"{type(value).__name__} {str(value)[:40]!r} is not a number of seconds")


# A chunk's columns decoded at C speed (map, no Python frame per value):
# at 10^5 rows decode_ts alone is a third of the Python time of a query.
_TZINFO = attrgetter("tzinfo")
_AS_UTC = methodcaller("astimezone", UTC)
_NUMBER_TYPES = frozenset((int, float, type(None)))


def decode_ts_column(values: list) -> list | None:
    """decode_ts of every value (Django's text on SQLite, datetimes from
    the servers), or None when some value needs decode_ts's own look (it
    raises, or the column mixes kinds): the caller then decodes one by one."""
    kinds = set(map(type, values))
    if kinds == {str}:
        try:
            values = list(map(datetime.fromisoformat, values))
        except ValueError:
            return None
    elif kinds and kinds != {datetime}:
        return None
    zones = set(map(_TZINFO, values))
    if zones == {None}:  # value.replace(tzinfo=UTC), without keyword arguments (5x faster)
        return list(map(datetime.combine, map(datetime.date, values), map(datetime.time, values),
                        repeat(UTC, len(values))))
    if None in zones:
        return None
    return list(map(_AS_UTC, values))


def durations_fine(values: list) -> bool:
    """Whether decode_duration keeps every value as it is."""
    return set(map(type, values)) <= _NUMBER_TYPES and all(map(math.isfinite, filter(None, values)))


class Compiler:
    """Filters and column lists of one store, as SQL of its dialect."""

    def __init__(self, store):
        self.store = store
        self.dialect = store.dialect
        self.names = store.layout  # the generation's table names (generations.py)
        self.per_record = False  # how tag tests are written: see `for_few_records`

    def for_few_records(self) -> "Compiler":
        """This compiler, writing each tag test for one record at a time
        (`EXISTS`, through the object_id index): for a statement whose
        records are few already (the newest of a window), where the usual
        test, keyed by tag, would list every record with the tag."""
        few = copy.copy(self)
        few.per_record = True
        return few

    # -- the split: what SQL decides exactly
    def pushable(self, atom) -> bool:
        if isinstance(atom, (ast.HasTags, ast.TagLike, ast.Status)):
            return True
        if isinstance(atom, ast.TimeRange):
            return True
        if isinstance(atom, (ast.Compare, ast.Exists)) and isinstance(atom.key, ast.Param):
            return True
        if isinstance(atom, ast.Compare):
            return self.compare_sql(atom, None) is not None
        return False

    # -- WHERE
    def where(self, qy: Query, pre, unindexed_project: bool = False) -> Sql:
        qy.tag_tests = []  # `tagged` lists this filter's tag tests there
        cond = self._cond(qy, pre)
        if self.store.only_project_records:
            return cond
        return self.in_project(unindexed_project) + (
            "" if cond.text == TRUE_SQL else Sql(" AND ") + paren(cond))

    def in_project(self, unindexed: bool = False) -> Sql:
        """`r` is a record of the project. In a store of one project the
        index on project_id matches every record, yet SQLite without
        statistics prefers it to the primary key: records found by their
        tags are then each looked up twice (the top 20 of 76,000 finished
        records: 65 ms, not 35). Written unindexed there."""
        column = "r.project_id"
        if unindexed or self.store.sole_project:
            column = self.dialect.unindexed_text(column)
        return Sql(f"{column} = ?", [self.store.project])

    def _cond(self, qy: Query, f) -> Sql:
        if isinstance(f, ast.All):
            return Sql(TRUE_SQL)
        if isinstance(f, ast.Not):
            if isinstance(f.item, ast.All):
                return Sql(FALSE_SQL)
            return "NOT " + paren(self._cond(qy, f.item))
        if isinstance(f, (ast.And, ast.Or)):
            items, parts = f.items, []
            if isinstance(f, ast.Or):
                items, parts = self._prefixes(items)
            params = [i for i in items if is_param_atom(i)]
            parts += [self._cond(qy, i) for i in items if not is_param_atom(i)]
            if params:
                group = params[0] if len(params) == 1 else type(f)(tuple(params))
                parts.append(self._params_in(qy, group))
            word = " AND " if isinstance(f, ast.And) else " OR "
            return Sql.join_balanced(word, [paren(p) for p in parts])
        if is_param_atom(f):
            return self._params_in(qy, f)
        if isinstance(f, ast.HasTags):
            return Sql.join_balanced(" AND ", [self.tagged(qy, qy.tag_ids(tag_alternatives(t)))
                                               for t in f.tags])
        if isinstance(f, ast.Status):
            return self.tagged(qy, qy.tag_ids([_fields.status_tag(f.word)]))
        if isinstance(f, ast.TagLike):
            return self.tagged(qy, qy.tag_ids_like(f.pattern))
        if isinstance(f, ast.TimeRange):
            p = f.date.value
            if f.op == ">=":
                return self._ts(">=", p.start)
            if f.op == "<":
                return self._ts("<", p.start)
            return self._ts(">=", p.start) + " AND " + self._ts("<", p.end)
        if isinstance(f, ast.Compare):
            sql = self.compare_sql(f, qy)
            if sql is None:
                raise AssertionError(f"not pushable: {f}")
            return sql
        raise AssertionError(f"not pushable: {f}")

    def _prefixes(self, items) -> tuple[list, list[Sql]]:
        """The operands of an `or` less its `FIELD startswith "…"` on text
        fields, and one condition per such field: its prefixes grouped by
        length, each group one `IN` (`substr(reason, 1, 2) IN (…)`), so
        10,000 prefixes are a few conditions for the database to plan, not
        10,000 (nor 20,000 bound parameters)."""
        groups: dict[str, list] = {}
        rest = []
        for item in items:
            if (isinstance(item, ast.Compare) and item.op == "startswith"
                    and isinstance(item.key, ast.Field) and isinstance(item.value.value, str)
                    and _fields.FIELDS[item.key.name].kind == _fields.TEXT):
                groups.setdefault(item.key.name, []).append(item)
            else:
                rest.append(item)
        parts = []
        for name, group in groups.items():
            if len(group) == 1:
                rest.append(group[0])
                continue
            expr = self._field_expr(name)
            cond = self.dialect.startswith_any(expr, [i.value.value for i in group])
            if _fields.FIELDS[name].nullable:
                cond = Sql(f"({expr} IS NOT NULL AND ") + cond + ")"
            parts.append(cond)
        return rest, parts

    def _params_in(self, qy: Query, f) -> Sql:
        """`parameters_id IN (the sets satisfying f)`, exact: the parameter
        index narrows which sets are parsed and answers only where it is
        certain (Query.param_ids), in the statement itself where the index
        is ATTACHed (Query.param_sql)."""
        attached = qy.param_sql(f)
        if attached is not None:
            return attached
        ids = qy.param_ids(f)
        total, universe = qy.paramset_universe()
        if len(ids) > total / 2:  # the shorter list: its complement
            others = set(universe()) - set(ids)
            if not others:
                return Sql(TRUE_SQL)
            return "NOT " + paren(self.dialect.in_ints("r.parameters_id", others))
        return self.dialect.in_ints("r.parameters_id", ids)

    def tagged(self, qy: Query, tag_ids) -> Sql:
        """The record carries one of these tags (through the tag tables)."""
        ctype = qy.content_type_id()
        if not tag_ids or ctype is None:
            return Sql(FALSE_SQL)
        qy.tag_tests.append(tuple(tag_ids))
        if self.per_record:  # only the object_id index can serve it, once per record
            return (Sql(f"EXISTS (SELECT 1 FROM {self.names.taggeditem.name} ti "
                        f"WHERE ti.object_id = r.db_id AND ") + self.record_items(ctype) + " AND "
                    + self.dialect.in_ints(self.dialect.unindexed("ti.tag_id"), tag_ids)
                    + self.dialect.kept_apart + ")")
        # Uncorrelated, keyed by tag: the (tag_id, …) indexes find the items.
        # The content type is tested unindexed (see `record_items`).
        return (Sql(f"r.db_id IN (SELECT ti.object_id FROM {self.names.taggeditem.name} ti "
                    f"WHERE ") + self.record_items(ctype) + " AND "
                + self.dialect.in_ints("ti.tag_id", tag_ids) + ")")

    def tag_present(self, qy: Query, tag_ids) -> Sql:
        """Some record of the project carries one of these tags: the tag's
        items joined to their records, stopping at the first (`tagged`
        would list every record with the tag first)."""
        ctype = qy.content_type_id()
        if not tag_ids or ctype is None:
            return Sql(FALSE_SQL)
        return (Sql(f"EXISTS (SELECT 1 FROM {self.names.taggeditem.name} ti "
                    f"JOIN {S.RECORD.name} r ON r.db_id = ti.object_id WHERE ")
                + self.dialect.in_ints("ti.tag_id", tag_ids) + " AND "
                + self.record_items(ctype) + Sql(" AND r.project_id = ?)", [self.store.project]))

    def record_items(self, ctype) -> Sql:
        """`ti` is a tag item of a record. Every tagged item of a Sumatra
        store is a record's, so an index on content_type_id matches them
        all; without statistics SQLite and PostgreSQL still choose it over
        the object_id or tag_id index (a scan of every tag item, per record
        in a correlated subquery). Written so no index can serve it, it is
        checked on the rows the right index found."""
        return Sql(f"{self.dialect.unindexed('ti.content_type_id')} = ?",
                   [ctype if ctype is not None else -1])

    # -- what the main statement leaves out: read per chunk of its rows
    def tags_of(self, qy: Query, ids) -> Sql:
        """(object_id, tag name) of these records' tags: one statement keyed
        by their ids, through the object_id index (each tag by its key)."""
        return (Sql(f"SELECT ti.object_id, t.name FROM {self.names.taggeditem.name} ti "
                    f"JOIN {self.names.tag.name} t ON t.id = ti.tag_id WHERE ")
                + self.dialect.in_ints("ti.object_id", ids) + " AND "
                + self.record_items(qy.content_type_id()))

    def tag_lists_of(self, qy: Query, ids) -> Sql:
        """(object_id, list of tag names) of these records, as `tags_of`
        but one row per record: few distinct lists, decoded once each."""
        return (Sql(f"SELECT ti.object_id, {self.dialect.list_agg('t.name')} "
                    f"FROM {self.names.taggeditem.name} ti "
                    f"JOIN {self.names.tag.name} t ON t.id = ti.tag_id WHERE ")
                + self.dialect.in_ints("ti.object_id", ids) + " AND "
                + self.record_items(qy.content_type_id()) + " GROUP BY ti.object_id")

    def outputs_of(self, ids) -> Sql:
        """(record id, path) of these records' output files, through the
        output_from_record_id index (before 0.7: the output table's record_id)."""
        owner = self.names.output_owner  # the generation's link (generations.py)
        return (Sql(f"SELECT {owner}, k.path FROM {self.names.outputs_from} WHERE ")
                + self.dialect.in_ints(owner, ids))

    def paramsets_of(self, ids) -> Sql:
        """(id, type, content) of these parameter sets, by primary key."""
        q = self.dialect.q
        return (Sql(f"SELECT p.id, p.{q('type')}, p.content FROM {S.PARAMETERSET.name} p WHERE ")
                + self.dialect.in_ints("p.id", ids))

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
            return f"(SELECT COUNT(*) {self.names.outputs_of('r.db_id')})"
        raise KeyError(name)

    def compare_sql(self, f: ast.Compare, qy: Query | None) -> Sql | None:
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
            exists = (Sql(f"EXISTS (SELECT 1 {self.names.outputs_of('r.db_id')} AND ")
                      + cond + ")")
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
        from ...language.dates import Period
        periods = lit if op == "in" else (lit,)
        if not all(isinstance(p, Period) for p in periods):
            return None

        def within(p):
            if p.is_instant:  # a moment (`3 days ago`, a Python datetime)
                return self._ts("=", p.start)
            return paren(self._ts(">=", p.start) + " AND " + self._ts("<", p.end))
        if op == "in":
            return Sql.join_balanced(" OR ", [within(p) for p in periods]) if periods \
                else Sql(FALSE_SQL)
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
        if not d.text_holds_nul and op != "in" and isinstance(lit, str) and "\0" in lit:
            return _NO_NUL_TEXT.get(op)
        if op == "in":
            if not isinstance(lit, tuple):
                return None
            items = list(dict.fromkeys(v for v in lit if isinstance(v, str)
                                       and (d.text_holds_nul or "\0" not in v)))
            if not items:
                return Sql(FALSE_SQL)
            return d.in_texts(expr, items)
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
            return self.dialect.in_numbers(expr, items)
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

    def _tags_field_sql(self, op, lit, qy: Query | None) -> Sql | None:
        if op == "contains":
            if not isinstance(lit, str):
                return None
            return self.tagged(qy, qy.tag_ids([lit])) if qy else Sql(TRUE_SQL)
        if op not in ("=", "!="):
            return None
        wanted = lit if isinstance(lit, tuple) else (lit,)
        if not all(isinstance(t, str) for t in wanted):
            return None
        if qy is None:
            return Sql(TRUE_SQL)
        wanted = set(wanted)
        ctype = qy.content_type_id()
        parts = [self.tagged(qy, qy.tag_ids([t])) for t in sorted(wanted)]
        n_tags = (Sql(f"(SELECT COUNT(*) FROM {self.names.taggeditem.name} ti "
                      f"WHERE ti.object_id = r.db_id "
                      f"AND ") + self.record_items(ctype) + Sql(") = ?", [len(wanted)]))
        same = Sql.join(" AND ", [paren(p) for p in parts] + [n_tags])
        return same if op == "=" else "NOT " + paren(same)

    # -- ORDER BY a field (`order by FIELD … limit N` in the store)
    def order_terms(self, name: str, descending: bool) -> list[str] | None:
        """ORDER BY terms sorting on a record field exactly as the executor
        does (selection.sort_rows: a null or unreadable value after every
        other, ascending or not; numbers by value; text by code point, null
        text as ''), or None when SQL cannot. Executable, repository,
        outputs and tags are sorted in Python."""
        way = " DESC" if descending else ""
        if name == "timestamp":  # as `latest N` orders (a record without one is never a row)
            return ["r.timestamp" + way]
        if name == "duration":
            # decode_duration reads anything but a finite number as null
            known = self.dialect.finite_number("r.duration")
            return [f"CASE WHEN {known} THEN 0 ELSE 1 END", "r.duration" + way]
        if name in TEXT_FIELDS or name == "label":
            expr = self.dialect.selected_text(self._field_expr(name))
            return [self.dialect.text_order(expr) + way]
        return None

    # -- timestamps a scan would not read as SQL does
    def timestamp_check(self, qy: Query) -> list[Sql]:
        """Where a timestamp column may hold anything (SQLite), two columns:
        the store's data_version (it changes whenever another connection
        changed the store), and how many of the store's records have a
        timestamp not surely readable: counted only when the store may have
        changed since none had (the store's `sure_at`), 0 otherwise (no
        scan). A scan leaves out and reports those that do not read, and
        reads the others its own way: a statement that reads timestamps as
        SQL does stands only when there are none. [] elsewhere. A new
        connection to a store file unchanged since no timestamp was unsure
        knows it first (the store's recall_sure_timestamps: no scan)."""
        readable = self.dialect.surely_readable_timestamp("t.timestamp")
        if readable is None:
            return []
        self.store.recall_sure_timestamps(qy)
        version = "(SELECT data_version FROM pragma_data_version)"
        # (a CASE test stops at the first OR term true)
        unsure = (f"(SELECT COUNT(*) FROM {S.RECORD.name} t "
                  f"WHERE CASE WHEN {readable} THEN 0 ELSE 1 END)")
        return [Sql(version), Sql(f"CASE WHEN {version} = ? THEN 0 ELSE {unsure} END",
                                  [self.store.sure_at])]

    # -- GROUP BY (see `groupable` below)
    def _group_parts(self, qy: Query, keys, aggregates, coded=None):
        """(select list, GROUP BY list, joins, how to read each selected column):
        a column's reader is ("key", key), ("newest", None) (a parameter
        key's newest record), ("agg", aggregate, part), or the two columns
        of `timestamp_check`: ("version", None) and ("unsure", None).
        `coded`: parameter key path -> its values coded by the parameter
        index (ParamIndex.value_codes), grouped by code, not by set."""
        d = self.dialect
        selected, grouped, joins, readers = [], [], [], []
        status_joined = False
        for key in keys:
            if isinstance(key, ast.PeriodKey):
                expr = d.period("r.timestamp", key.unit)
            elif isinstance(key, ast.Param) and coded and key.path in coded:
                expr, join = self._coded_key(coded[key.path], f"pv{len(joins)}")
                if join is not None:
                    joins.append(join)
                selected.append(expr)
                grouped.append(str(len(selected)))  # by position: its parameters once
                readers.append(("key", key))
                continue
            elif isinstance(key, ast.Param):
                expr = "r.parameters_id"
            elif isinstance(key, ast.StatusKey):
                expr = "st.name"
                if not status_joined:
                    joins.append(self._status_join(qy))
                    status_joined = True
            else:
                expr = d.text_expr(self._field_expr(key.name))
            selected.append(Sql(expr))
            grouped.append(expr)
            readers.append(("key", key))
        if any(isinstance(k, ast.Param) for k in keys):
            selected.append(Sql("MAX(r.timestamp)"))  # which set's value a group shows
            readers.append(("newest", None))
        for agg in aggregates:
            name = agg.arg.name if agg.arg is not None else None
            column = {"duration": "r.duration", "timestamp": "r.timestamp"}.get(name, "*")
            parts = {"count": ("n",), "sum": ("sum", "n", "all"), "mean": ("sum", "n", "all"),
                     "min": ("min", "n", "all"), "max": ("max", "n", "all")}[agg.func]
            for part in parts:
                sql = {"n": f"COUNT({column})", "all": "COUNT(*)", "sum": f"SUM({column})",
                       "min": f"MIN({column})", "max": f"MAX({column})"}[part]
                selected.append(Sql(sql))
                readers.append(("agg", agg, part))
        check = self.timestamp_check(qy)
        selected += check
        readers += [("version", None), ("unsure", None)][:len(check)]
        return selected, grouped, joins, readers


    @staticmethod
    def _coded_key(codes, alias: str) -> tuple[Sql, Sql | None]:
        """(the GROUP BY expression of a parameter key whose values the index
        coded (paramindex.ValueCodes), a join it needs or None). Few
        values: one `= ANY(array)` per value (PostgreSQL hashes a constant
        array), no join; many: the (set id, code) arrays unnested and
        joined once, by hash, on the set id. Sets the index has not seen
        (newer than it) are grouped one by one, as the doubtful ones."""
        newer = f"WHEN r.parameters_id > {int(codes.newest)} THEN -2 - r.parameters_id "
        if len(codes.values) <= FEW_VALUES and len(codes.doubtful) <= FEW_DOUBTFUL:
            whens = [Sql("WHEN r.parameters_id = ANY(CAST(? AS integer[])) THEN " + str(k) + " ",
                         [codes.sets_of(k)]) for k in range(len(codes.values))]
            if codes.doubtful:
                whens.append(Sql("WHEN r.parameters_id = ANY(CAST(? AS integer[])) "
                                 "THEN -2 - r.parameters_id ", [
                                     "{" + ",".join(map(str, codes.doubtful)) + "}"]))
            return "CASE " + Sql.join("", whens) + newer + "ELSE -1 END", None
        ids, code_list = codes.arrays()
        join = Sql(f" LEFT JOIN unnest(CAST(? AS integer[]), CAST(? AS integer[])) "
                   f"AS {alias}(set_id, code) ON {alias}.set_id = r.parameters_id",
                   [ids, code_list])
        return Sql(f"COALESCE({alias}.code, CASE {newer}ELSE -1 END)"), join

    def _status_join(self, qy: Query) -> Sql:
        """Each record's status tags (none: one row of NULL)."""
        ctype = qy.content_type_id()
        ids = qy.tag_ids([_fields.status_tag(w) for w in _fields.STATUS_WORDS])
        if ctype is None or not ids:
            return Sql(" LEFT JOIN (SELECT NULL AS object_id, NULL AS name) st ON 1 = 0")
        return (Sql(f" LEFT JOIN (SELECT ti.object_id, t.name FROM {self.names.taggeditem.name} ti "
                    f"JOIN {self.names.tag.name} t ON t.id = ti.tag_id WHERE ")
                + self.record_items(ctype) + " AND " + self.dialect.in_ints("ti.tag_id", ids)
                + ") st ON st.object_id = r.db_id")


    def group_statement(self, qy: Query, pre, keys, aggregates, coded=None):
        """The one GROUP BY statement of a group-by, and its column readers
        (`coded`: see _group_parts)."""
        selected, grouped, joins, readers = self._group_parts(qy, keys, aggregates, coded)
        # Every record of the group is read: SQLite, without statistics,
        # would find each candidate through the project index (twice the
        # work of its primary key); the project is checked on the row.
        sql = ("SELECT " + Sql.join(", ", selected) + Sql(f" FROM {S.RECORD.name} r")
               + Sql.join("", joins) + " WHERE " + self.where(qy, pre, unindexed_project=True))
        if grouped:
            sql = sql + Sql(" GROUP BY " + ", ".join(grouped))
        return sql, readers

    # -- SELECT list
    def select_list(self, fields) -> tuple[Sql, list]:
        """The main statement's columns and the Row attributes the first of
        them fill (`handle`, `label`, `timestamp`, then the wanted fields);
        when parameters are wanted, one more column ends the list: the
        parameter set's id. Tags, output paths and parameter sets are not
        among them: they are read afterwards, keyed by the ids of the rows
        (`tag_lists_of`, `outputs_of`, `paramsets_of`)."""
        text = self.dialect.selected_text
        cols = [Sql("r.db_id"), Sql(text("r.label")), Sql("r.timestamp")]
        names = ["handle", "label", "timestamp"]
        for name in OPTIONAL_FIELDS:
            if name not in fields or name in BATCHED_FIELDS:
                continue
            # text fields COALESCEd (never null); executable and repository
            # scalar subqueries on a primary key
            cols.append(Sql(self._field_expr(name) if name == "duration"
                            else text(self._field_expr(name))))
            names.append(name)
        if "params" in fields:
            cols.append(Sql("r.parameters_id"))
        return Sql.join(", ", cols), names


# ------------------------------------------------------------------ GROUP BY (§9)
#
# A group-by runs as one statement when its filter is all pre-filter and
# every key and aggregate is one of these. Keys: text fields and labels
# (grouped on exact text: MySQL's bytes), periods (each dialect's date
# functions, UTC), `status` (a record's status tag, through the tag tables),
# and parameters (grouped by parameter set in SQL, the sets' values merged
# in Python, where structural equality is decided). Aggregates: count, and
# count/sum/mean/min/max of `duration`, count/min/max of `timestamp`, count
# of a text field. The rest (median, std, first, last, labels, `tag` keys,
# other arguments) streams in Python.

GROUP_TEXT_KEYS = TEXT_FIELDS + ("label",)
FEW_VALUES = 16  # a parameter key's coded values tested one by one, not joined (_coded_key)
FEW_DOUBTFUL = 100_000  # … when its doubtful sets are no more than these (one more array)
_GROUP_AGGREGATES = {
    None: ("count",),
    "duration": ("count", "sum", "mean", "min", "max"),
    "timestamp": ("count", "min", "max"),
    **{name: ("count",) for name in GROUP_TEXT_KEYS},
}


def groupable(keys, aggregates) -> bool:
    def key_ok(k):
        return (isinstance(k, (ast.PeriodKey, ast.StatusKey, ast.Param))
                or isinstance(k, ast.Field) and k.name in GROUP_TEXT_KEYS)

    def agg_ok(a):
        if a.arg is not None and not isinstance(a.arg, ast.Field):
            return False
        return a.func in _GROUP_AGGREGATES.get(a.arg.name if a.arg else None, ())
    return all(map(key_ok, keys)) and all(map(agg_ok, aggregates))
