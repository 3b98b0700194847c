"""Sumatra 0.8's Django schema, declared statically, and a small SQL builder.

The tables are the ones Sumatra's migrations 0001 and 0002 create
(`sumatra/recordstore/django_store/migrations`), plus Django's
`django_content_type`, through which the tag tables hang off records
(a generic relation: `taggeditem.content_type_id` names the `record` model,
`taggeditem.object_id` is `record.db_id`). Nothing here reflects on the
database at start-up and nothing ever alters it.

SQL is built as `Sql` fragments: text written in this package (table and
column names from the declarations below, keywords, functions) plus bound
parameters. User text never becomes SQL text; it only ever travels as a
parameter. The builder is a few dozen lines rather than SQLAlchemy Core
because importing SQLAlchemy costs 250-400 ms, which alone breaks the
start-up budget of `smtql --store S 'count …'` (10x `python -c pass`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

# ------------------------------------------------------------------ tables


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]


def _t(name: str, *columns: str) -> Table:
    return Table(name, columns)


# Columns as the migrations create them (foreign keys as `<name>_id`).
PROJECT = _t("django_store_project", "id", "name", "description")
EXECUTABLE = _t("django_store_executable", "id", "path", "name", "version", "options")
REPOSITORY = _t("django_store_repository", "id", "type", "url", "upstream")
LAUNCHMODE = _t("django_store_launchmode", "id", "type", "parameters")
DATASTORE = _t("django_store_datastore", "id", "type", "parameters")
PARAMETERSET = _t("django_store_parameterset", "id", "type", "content")
DEPENDENCY = _t("django_store_dependency", "id", "name", "path", "version", "diff", "source", "module")
PLATFORM = _t("django_store_platforminformation", "id", "architecture_bits",
              "architecture_linkage", "machine", "network_name", "ip_addr", "processor",
              "release", "system_name", "version")
DATAKEY = _t("django_store_datakey", "id", "path", "digest", "creation", "metadata",
             "output_from_record_id")
RECORD = _t("django_store_record", "label", "db_id", "reason", "duration", "main_file",
            "version", "outcome", "timestamp", "tags", "diff", "user", "script_arguments",
            "stdout_stderr", "repeats", "datastore_id", "executable_id", "input_datastore_id",
            "launch_mode_id", "parameters_id", "project_id", "repository_id")
RECORD_INPUT_DATA = _t("django_store_record_input_data", "id", "record_id", "datakey_id")
RECORD_DEPENDENCIES = _t("django_store_record_dependencies", "id", "record_id", "dependency_id")
RECORD_PLATFORMS = _t("django_store_record_platforms", "id", "record_id",
                      "platforminformation_id")
TAG = _t("django_store_tag", "id", "name")
TAGGEDITEM = _t("django_store_taggeditem", "id", "object_id", "content_type_id", "tag_id")
CONTENT_TYPE = _t("django_content_type", "id", "app_label", "model")

TABLES = (PROJECT, EXECUTABLE, REPOSITORY, LAUNCHMODE, DATASTORE, PARAMETERSET, DEPENDENCY,
          PLATFORM, DATAKEY, RECORD, RECORD_INPUT_DATA, RECORD_DEPENDENCIES, RECORD_PLATFORMS,
          TAG, TAGGEDITEM, CONTENT_TYPE)

# The generic relation of Sumatra's tagging: ContentType of the Record model.
RECORD_CONTENT_TYPE = ("django_store", "record")
TAGS_COLUMN_LENGTH = 255  # django_store_record.tags: TagField(max_length=255)
TAG_NAME_LENGTH = 50  # django_store_tag.name: CharField(max_length=50)


# ------------------------------------------------------------------ SQL fragments

class Sql:
    """SQL text with `?` placeholders and their parameters. The text only
    ever comes from this package; values only ever travel as parameters."""

    __slots__ = ("text", "params")

    def __init__(self, text: str = "", params: Sequence = ()):
        self.text = text
        self.params = list(params)

    def __add__(self, other: "Sql | str") -> "Sql":
        if isinstance(other, str):
            return Sql(self.text + other, self.params)
        return Sql(self.text + other.text, self.params + other.params)

    def __radd__(self, other: str) -> "Sql":
        return Sql(other + self.text, self.params)

    def __repr__(self) -> str:
        return f"Sql({self.text!r}, {self.params!r})"

    @staticmethod
    def join(sep: str, parts: Iterable["Sql | str"]) -> "Sql":
        # One pass, not `out = out + part`: that copies the text and the
        # parameters so far at every part, quadratic in a 10,000-term `or`.
        texts, params = [], []
        for part in parts:
            if isinstance(part, Sql):
                texts.append(part.text)
                params.extend(part.params)
            else:
                texts.append(part)
        return Sql(sep.join(texts), params)

    @staticmethod
    def join_balanced(sep: str, parts: Sequence["Sql"]) -> "Sql":
        """`a OR b OR c OR d` as `((a OR b) OR (c OR d))`: databases parse a
        chain of n operators as a tree n deep, and SQLite refuses one past
        1000 (SQLITE_MAX_EXPR_DEPTH); balanced, the depth is log2(n)."""
        parts = list(parts)
        if len(parts) <= 8:
            return Sql.join(sep, parts)
        half = len(parts) // 2
        return Sql.join(sep, [paren(Sql.join_balanced(sep, parts[:half])),
                              paren(Sql.join_balanced(sep, parts[half:]))])


def bind(value) -> Sql:
    return Sql("?", [value])


def paren(s: Sql) -> Sql:
    return "(" + s + ")"


TRUE_SQL, FALSE_SQL = "(1=1)", "(1=0)"


# ------------------------------------------------------------------ dialects

class Dialect:
    """What differs between SQLite, PostgreSQL and MariaDB/MySQL."""

    name = "?"
    placeholder = "?"
    # Up to this many values go inline as `IN (?, ?, …)`; more use an array.
    max_inline = 500
    # Whether a text column can hold U+0000 (PostgreSQL's cannot, and refuses
    # it as a parameter).
    text_holds_nul = True
    # Whether `latest N` is looked for among the newest records first
    # (reader._newest_in_window): where a planner without statistics loops
    # over every tagged item for `tag finished latest 20`.
    newest_in_window = False
    # What ends a correlated subquery so that the planner runs it per row
    # as written, instead of turning it into a join of its own choosing.
    kept_apart = ""
    # Settings for one transaction that reads many records, where the
    # planner must be told (reader: _plan_for_breadth, a coded group-by).
    hash_join_settings: dict | None = None

    def q(self, identifier: str) -> str:
        return f'"{identifier}"'

    def surely_readable_timestamp(self, expr: str) -> str | None:
        """A condition true only of stored timestamps that decode
        (compile.decode_ts), for a COUNT that must leave out what a scan
        leaves out; None where the column's type guarantees it (a server's
        datetime column)."""
        return None

    def render(self, s: Sql) -> tuple[str, list]:
        """Text and parameters in the driver's own paramstyle."""
        if self.placeholder == "?":
            return s.text, s.params
        return s.text.replace("%", "%%").replace("?", self.placeholder), s.params

    # text: exact, case-sensitive, by code point, never padded
    def text_expr(self, expr: str) -> str:
        """A text expression as compared (MySQL: its bytes)."""
        return expr

    def text_param(self, value: str) -> Sql:
        return bind(value)

    def selected_text(self, expr: str) -> str:
        """A text column as selected: text whatever the stored value (only
        SQLite lets a text column hold numbers and blobs)."""
        return expr

    def text_order(self, expr: str) -> str:
        """An expression whose <, > order is code-point order."""
        return self.text_expr(expr)

    def contains(self, expr: str, value: str) -> Sql:
        raise NotImplementedError

    def startswith(self, expr: str, value: str) -> Sql:
        raise NotImplementedError

    def endswith(self, expr: str, value: str) -> Sql:
        raise NotImplementedError

    def in_ints(self, expr: str, ids: Sequence[int]) -> Sql:
        """`expr IN ids` for a possibly long list of integers."""
        ids = sorted(set(map(int, ids)))
        if not ids:
            return Sql(FALSE_SQL)
        if len(ids) <= self.max_inline:
            return Sql(f"{expr} IN (" + ", ".join("?" * len(ids)) + ")", ids)
        return self.in_int_array(expr, ids)

    def in_int_array(self, expr: str, ids: list[int]) -> Sql:
        return Sql(f"{expr} IN (" + ", ".join("?" * len(ids)) + ")", ids)

    # A `label in [...]` of 10,000 labels (or an `or` of as many equalities,
    # folded into one `in` by the planner) must not bind 10,000 parameters:
    # SQLite before 3.32 takes 999, later ones 32766. Past `max_inline`
    # values, the list travels as one parameter (an array or JSON text).
    def startswith_any(self, expr: str, prefixes: Sequence[str]) -> Sql:
        """`expr` starts with one of `prefixes`: one `IN` per prefix length."""
        by_length: dict[int, list[str]] = {}
        for p in dict.fromkeys(prefixes):
            by_length.setdefault(self.prefix_length(p), []).append(p)
        return Sql.join_balanced(" OR ", [
            "(" + self.in_texts(self.prefix(expr, n), group) + ")"
            for n, group in sorted(by_length.items())])

    def prefix_length(self, value: str) -> int:
        return len(value)  # characters

    def prefix(self, expr: str, n: int) -> str:
        return f"substr({expr}, 1, {int(n)})"

    def in_texts(self, expr: str, items: Sequence[str]) -> Sql:
        """`expr IN items` for text, compared as `text_expr` compares."""
        if len(items) <= self.max_inline:
            return (Sql(f"{self.text_expr(expr)} IN (")
                    + Sql.join(", ", (self.text_param(v) for v in items)) + ")")
        return self.in_text_array(expr, list(items))

    def in_text_array(self, expr: str, items: list[str]) -> Sql:
        return (Sql(f"{self.text_expr(expr)} IN (")
                + Sql.join(", ", (self.text_param(v) for v in items)) + ")")

    def in_numbers(self, expr: str, items: Sequence[float]) -> Sql:
        """`expr IN items` for finite numbers."""
        if len(items) <= self.max_inline:
            return Sql(f"{expr} IN (" + ", ".join("?" * len(items)) + ")", items)
        return self.in_number_array(expr, list(items))

    def in_number_array(self, expr: str, items: list[float]) -> Sql:
        return Sql(f"{expr} IN (" + ", ".join("?" * len(items)) + ")", items)

    def list_agg(self, column: str) -> str:
        """An aggregate of `column` as one list value (JSON text, or an
        array the driver returns as a list)."""
        raise NotImplementedError

    def unindexed(self, expr: str) -> str:
        """`expr` as a value no index can serve (a column compared through
        it is checked on the rows another index found)."""
        return f"({expr} + 0)"

    def finite_number(self, expr: str) -> str:
        """A condition: `expr` holds a finite number (MariaDB stores no
        other)."""
        return f"{expr} IS NOT NULL"

    def unindexed_text(self, expr: str) -> str:
        """`expr`, a text column, as a value no index can serve, where a
        planner without statistics picks an index matching every row
        (SQLite, PostgreSQL; MariaDB keeps statistics of its own)."""
        return expr

    def nan_guard(self, expr: str) -> str | None:
        """A condition excluding NaN, where the database orders NaN above
        every number (PostgreSQL); None where NaN cannot be stored."""
        return None

    def period(self, expr: str, unit: str) -> str:
        """The label of the UTC period of `unit` (hour, day, week, month,
        year) a timestamp column falls in, as smtql.language.dates.period_label
        writes it (`2020-11-19 10:00`, `2020-11-19`, `2020-W47`, `2020-11`,
        `2020`)."""
        raise NotImplementedError


class SqliteDialect(Dialect):
    name = "sqlite"
    placeholder = "?"

    def surely_readable_timestamp(self, expr):
        # SQLite keeps whatever was written. Django writes `YYYY-MM-DD
        # HH:MM:SS[.ffffff]`: what it wrote is told first, at half the cost
        # of the exhaustive test (the store-wide check of
        # Compiler.timestamp_check pays for this on every record: 75 -> 36
        # ms at 10^5), which then sees only the few values within half a
        # millisecond of the next second.
        return f"({self._as_django_writes(expr)} OR {self._readable_shape(expr)})"

    @staticmethod
    def _as_django_writes(expr):
        # The first 19 characters as SQLite writes back the whole value
        # once normalised by `+0 days` (2020-02-30 would be 03-01, 24:00 the
        # next day): a valid date and time, in that shape; the year not 0;
        # then nothing, or a tail of 7 that SQLite accepted and that ends in
        # a digit: the fraction (a time zone takes 6 characters of its own
        # after at least one digit, and never ends a 7-character tail).
        # `+0 days` rounds the seconds to milliseconds: 59.9996 fails here.
        return (f"(datetime({expr}, '+0 days') = substr({expr}, 1, 19) "
                f"AND {expr} >= '0001-01-01' AND (length({expr}) = 19 "
                f"OR ({expr} LIKE '___________________.______' "
                f"AND substr({expr}, 26) BETWEEN '0' AND '9')))")

    @staticmethod
    def _readable_shape(expr):
        # Django's shape, with a year from 1 (datetime's range), a month
        # 01-12, an hour 00-23, and a day 01-28 or one SQLite gives back
        # unchanged once normalised by `+0 days`: what fromisoformat surely
        # reads. Other values are not all unreadable: the caller decodes
        # those.
        return (f"(typeof({expr}) = 'text' AND (length({expr}) = 19 OR (length({expr}) = 26 "
                f"AND substr({expr}, 20, 1) = '.' AND substr({expr}, 21) GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]')) "
                f"AND {expr} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9]*' "
                f"AND substr({expr}, 1, 4) >= '0001' AND substr({expr}, 6, 2) BETWEEN '01' AND '12' "
                f"AND substr({expr}, 12, 2) <= '23' "
                f"AND (substr({expr}, 9, 2) BETWEEN '01' AND '28' "
                f"OR date(substr({expr}, 1, 10), '+0 days') = substr({expr}, 1, 10)))")

    def selected_text(self, expr):
        # a number reads as its text, a blob as its bytes taken for UTF-8
        return f"CAST({expr} AS TEXT)"

    # SQLite's default BINARY collation compares UTF-8 bytes: code-point
    # order, case-sensitive. LIKE is case-insensitive, so instr() instead.
    # The text functions stop at a NUL (length('a\0b') is 1), so the ends
    # are compared as bytes: a UTF-8 prefix or suffix in bytes is one in
    # characters, and a blob's length counts every byte.
    def contains(self, expr, value):
        return Sql(f"instr(CAST({expr} AS BLOB), CAST(? AS BLOB)) > 0", [value])

    def startswith(self, expr, value):
        return Sql(f"substr(CAST({expr} AS BLOB), 1, length(CAST(? AS BLOB))) = CAST(? AS BLOB)",
                   [value, value])

    def endswith(self, expr, value):
        if value == "":
            return Sql(TRUE_SQL)
        return Sql(f"substr(CAST({expr} AS BLOB), -length(CAST(? AS BLOB))) = CAST(? AS BLOB)",
                   [value, value])

    def list_agg(self, column):
        return f"json_group_array({column})"

    def unindexed(self, expr):
        return f"+{expr}"  # SQLite's documented way to disqualify a term from indexing

    unindexed_text = unindexed  # unary + leaves text as it is

    def finite_number(self, expr):
        # a column keeps whatever was written: text, blobs, 9e999 (no NaN)
        return f"typeof({expr}) IN ('integer', 'real') AND abs({expr}) <= 1.7976931348623157e308"

    def in_int_array(self, expr, ids):
        import json
        return Sql(f"{expr} IN (SELECT value FROM json_each(?))", [json.dumps(ids)])

    def in_text_array(self, expr, items):
        import json
        return Sql(f"{expr} IN (SELECT value FROM json_each(?))", [json.dumps(items)])

    in_number_array = in_int_array

    # Django keeps SQLite timestamps as UTC text; strftime has no ISO week
    # before SQLite 3.46, so the week is counted from its Thursday (whose
    # year is the ISO year), found from the date alone: a modifier rounds
    # the time to milliseconds, and Sunday 23:59:59.9996 would be Monday.
    # (A group-by reads only timestamps surely readable, whose first 10
    # characters are their date: surely_readable_timestamp.)
    _FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}

    def period(self, expr, unit):
        if unit == "week":
            thursday = f"date(substr({expr}, 1, 10), '-3 days', 'weekday 4')"
            return (f"printf('%s-W%02d', strftime('%Y', {thursday}), "
                    f"(CAST(strftime('%j', {thursday}) AS INTEGER) - 1) / 7 + 1)")
        return f"strftime('{self._FORMATS[unit]}', {expr})"


class PostgresDialect(Dialect):
    name = "postgresql"
    placeholder = "%s"
    text_holds_nul = False
    newest_in_window = True
    kept_apart = " OFFSET 0"  # a sublink with OFFSET is never pulled up into a join
    # Hash joins and aggregates, with the memory to hash a filter's ids at
    # once (10^6 ids: ~46 MB; at the default 4 MB, 8 batches through
    # temporary files).
    hash_join_settings = {"enable_nestloop": "off", "enable_sort": "off", "work_mem": "64MB"}

    def unindexed_text(self, expr):
        # Without statistics (autovacuum off, or before its first analyze)
        # `project_id = 'demo'` is taken to match 0.1 % of the records: the
        # index, then every page anyway (the newest 1,000 of 10^6 records:
        # 1.6 s, against 0.7 s for the plain scan).
        return f"({expr} || '')"

    def text_order(self, expr):
        return f'{expr} COLLATE "C"'

    def table_pages(self, table: str) -> str:
        """The table's size in pages, from its file (no statistics needed)."""
        return f"pg_relation_size('{table}') / current_setting('block_size')::int"

    def contains(self, expr, value):
        return Sql(f"strpos({expr}, ?) > 0", [value])

    def startswith(self, expr, value):
        return Sql(f"left({expr}, length(?)) = ?", [value, value])

    def prefix(self, expr, n):
        return f"left({expr}, {int(n)})"

    def endswith(self, expr, value):
        return Sql(f"right({expr}, length(?)) = ?", [value, value])

    def in_int_array(self, expr, ids):
        # Sumatra's ids are `integer` columns. `integer = ANY(bigint[])` is a
        # cross-type test PostgreSQL cannot hash: a filter over 10^6 rows
        # with 10^5 ids compares each row with every id (minutes); as
        # integer[] it is one hash probe per row.
        # The array travels as its text, written here: psycopg's array
        # dumper looks at each element (131 ms for 125,000 ids, more than
        # the statement's own work on them).
        kind = "integer" if not ids or max(ids) < 2 ** 31 and min(ids) >= -2 ** 31 else "bigint"
        text = "{" + ",".join(map(str, map(int, ids))) + "}"
        return Sql(f"{expr} = ANY(CAST(? AS {kind}[]))", [text])

    def in_text_array(self, expr, items):
        return Sql(f"{expr} = ANY(CAST(? AS text[]))", [items])

    def in_number_array(self, expr, items):
        return Sql(f"{expr} = ANY(CAST(? AS double precision[]))", [items])

    def list_agg(self, column):
        return f"array_agg({column})"

    def nan_guard(self, expr):
        return f"{expr} <> CAST('NaN' AS double precision)"

    _FORMATS = {"hour": "YYYY-MM-DD HH24:00", "day": "YYYY-MM-DD", "week": 'IYYY-"W"IW',
                "month": "YYYY-MM", "year": "YYYY"}

    def period(self, expr, unit):  # timestamptz, read in UTC whatever the session's zone
        return f"to_char({expr} AT TIME ZONE 'UTC', '{self._FORMATS[unit]}')"

    def finite_number(self, expr):
        # NaN equals NaN in PostgreSQL, and is above Infinity
        return f"{expr} IS NOT NULL AND abs({expr}) < CAST('Infinity' AS double precision)"


class MysqlDialect(Dialect):
    name = "mysql"
    placeholder = "%s"

    def list_agg(self, column):
        return f"JSON_ARRAYAGG({column})"

    # datetime(6), naive UTC; %x-%v is the ISO year and week (Monday first)
    _FORMATS = {"hour": "%Y-%m-%d %H:00", "day": "%Y-%m-%d", "week": "%x-W%v",
                "month": "%Y-%m", "year": "%Y"}

    def period(self, expr, unit):
        return f"DATE_FORMAT({expr}, '{self._FORMATS[unit]}')"

    # Default collations are case- and accent-insensitive and pad spaces:
    # compare the UTF-8 bytes instead (binary strings never pad).
    def q(self, identifier):
        return f"`{identifier}`"

    def text_expr(self, expr):
        return f"CAST({expr} AS BINARY)"

    def text_param(self, value):
        return Sql("CAST(? AS BINARY)", [value])

    def contains(self, expr, value):
        return Sql(f"INSTR(CAST({expr} AS BINARY), CAST(? AS BINARY)) > 0", [value])

    def startswith(self, expr, value):
        return Sql(f"LEFT(CAST({expr} AS BINARY), LENGTH(CAST(? AS BINARY))) = CAST(? AS BINARY)",
                   [value, value])

    def prefix_length(self, value):
        return len(value.encode("utf-8"))  # bytes, as the comparison is binary

    def prefix(self, expr, n):
        return f"LEFT(CAST({expr} AS BINARY), {int(n)})"

    def endswith(self, expr, value):
        if value == "":
            return Sql(TRUE_SQL)
        return Sql(f"RIGHT(CAST({expr} AS BINARY), LENGTH(CAST(? AS BINARY))) = CAST(? AS BINARY)",
                   [value, value])


DIALECTS = {"sqlite": SqliteDialect(), "postgresql": PostgresDialect(), "mysql": MysqlDialect()}
