"""Which generation of Sumatra's Django schema a store has, and the table
and column names to use on it (../shared/schemas/README.md).

Real stores are mostly older than Sumatra 0.8.1, and the generations differ
in a few names only:

| generation | tag tables | outputs | also |
|---|---|---|---|
| 0.8.1 | `django_store_tag`, `django_store_taggeditem` | `datakey.output_from_record_id` | |
| 0.7-0.8dev | django-tagging's `tagging_tag`, `tagging_taggeditem` | `datakey.output_from_record_id` | |
| 0.6dev | `tagging_*` | many-to-many `django_store_record_output_data` | no `datakey.creation`; `django_content_type.name` |
| 0.5 | `tagging_*` | as 0.6dev | as 0.6dev, and no `record.repeats` |

The layout is read once per connection, from the database's own catalogue
(one statement: SQLite's `pragma_table_info`, the servers'
`information_schema.columns`), and never changes anything. Everything else
(the reader, the compiler, the Record builder, the writer) asks the
`Layout` for names instead of assuming 0.8.1's. A layout that is none of
these (a table or column smtql needs is missing) is a StoreError that names
what is missing, never an SQL error later.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import StoreError
from . import schema as S
from .schema import Sql, Table

NEWEST = "0.8.1"

# Tables every generation has, with the columns smtql reads; columns that
# some generations lack are in OPTIONAL and read as NULL where absent.
_COMMON = (S.PROJECT, S.EXECUTABLE, S.REPOSITORY, S.LAUNCHMODE, S.DATASTORE, S.PARAMETERSET,
           S.DEPENDENCY, S.PLATFORM, S.DATAKEY, S.RECORD, S.RECORD_INPUT_DATA,
           S.RECORD_DEPENDENCIES, S.RECORD_PLATFORMS, S.CONTENT_TYPE)
OPTIONAL = {
    S.RECORD.name: {"repeats"},                                # 0.6dev on
    S.DATAKEY.name: {"creation", "output_from_record_id"},     # 0.7 on
}
TAG_TABLES = (("django_store_tag", "django_store_taggeditem"),  # 0.8.1 (Sumatra's own copy)
              ("tagging_tag", "tagging_taggeditem"))            # django-tagging, before
OUTPUT_LINK = Table("django_store_record_output_data", ("id", "record_id", "datakey_id"))

# What Sumatra 0.8.1's migrate finds applied on a store it would leave alone.
MIGRATED_081 = {("contenttypes", "0001_initial"), ("contenttypes", "0002_remove_content_type_name"),
                ("django_store", "0001_initial"), ("django_store", "0002_tag_taggeditem")}


@dataclass(frozen=True)
class Layout:
    """The names to use on one store."""

    generation: str                 # "0.8.1", "0.7-0.8dev", "0.6dev", "0.5"
    tag: Table                      # id, name
    taggeditem: Table               # id, object_id, content_type_id, tag_id
    record: Table                   # the columns this store's record table has
    datakey: Table                  # likewise
    outputs_by_key: bool            # datakey.output_from_record_id, else OUTPUT_LINK
    content_type_has_name: bool     # 0.5/0.6dev: django_content_type.name is NOT NULL
    migrations: frozenset | None    # (app, name) in django_migrations; None: no table

    # -- outputs: a record's output datakeys, aliased `k`
    @property
    def outputs_from(self) -> str:
        """FROM-clause text reaching the output datakeys `k`."""
        if self.outputs_by_key:
            return f"{self.datakey.name} k"
        return f"{OUTPUT_LINK.name} o JOIN {self.datakey.name} k ON k.id = o.datakey_id"

    @property
    def output_owner(self) -> str:
        """The expression naming the record (db_id) that output `k` belongs to."""
        return "k.output_from_record_id" if self.outputs_by_key else "o.record_id"

    def outputs_of(self, record_expr: str) -> str:
        """`FROM … WHERE …` of the outputs of the record `record_expr`."""
        return f"FROM {self.outputs_from} WHERE {self.output_owner} = {record_expr}"

    def has(self, table: Table, column: str) -> bool:
        return column in table.columns

    def column_or_null(self, table: Table, alias: str, column: str, q) -> str:
        """`alias.column`, or NULL where this generation has no such column."""
        return f"{alias}.{q(column)}" if column in table.columns else "NULL"

    # -- Sumatra 0.8.1's API on this store
    def api_would_migrate(self) -> str | None:
        """Why opening this store with Sumatra 0.8.1's API would change it
        (its `migrate` runs on every open), or None when it would not."""
        if self.generation != NEWEST:
            return (f"it has Sumatra {self.generation}'s schema, and Sumatra 0.8.1's API "
                    "migrates a store to its own schema when it opens it")
        missing = MIGRATED_081 - (self.migrations or frozenset())
        if missing:
            names = ", ".join(f"{a} {n}" for a, n in sorted(missing))
            return f"Sumatra 0.8.1's API would apply migrations it does not find recorded ({names})"
        return None


def catalogue_sql(dialect) -> Sql:
    """(table, column) of every column of the store's tables."""
    if dialect.name == "sqlite":
        return Sql("SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p "
                   "WHERE m.type = 'table'")
    if dialect.name == "postgresql":
        return Sql("SELECT table_name, column_name FROM information_schema.columns "
                   "WHERE table_schema = ANY(current_schemas(false))")
    return Sql("SELECT table_name, column_name FROM information_schema.columns "
               "WHERE table_schema = DATABASE()")


def detect(tx, location: str) -> Layout:
    """The layout of the store `tx` (a read Transaction) reads. Raises a
    StoreError naming what is missing when the store is no generation
    smtql knows."""
    columns: dict[str, set] = {}
    for table, column in tx.run(catalogue_sql(tx.dialect)):
        columns.setdefault(_text(table), set()).add(_text(column))
    layout = layout_of(columns, location)
    if layout.migrations is not None:
        rows = tx.run(Sql(f"SELECT app, {tx.dialect.q('name')} FROM django_migrations"))
        layout = _replace(layout, migrations=frozenset((_text(a), _text(n)) for a, n in rows))
    return layout


def read_layout(uri: str) -> Layout:
    """The layout of the store at `uri`, on a connection of its own
    (read-only, closed after): for those that open no reader, such as the
    writer and the API engine's check."""
    from types import SimpleNamespace
    from .connect import Transaction, connect
    try:
        conn, dialect = connect(uri)
    except StoreError:
        raise
    except Exception as err:  # drivers raise their own kinds
        raise StoreError(f"could not open the record store {uri}: "
                         f"{type(err).__name__}: {err}") from None
    # what a Transaction asks of its store (connect.Transaction)
    probe = SimpleNamespace(conn=conn, dialect=dialect, location=uri, statements_run=0,
                            last_statements=[], statement_log=None, interrupted=False)
    try:
        with Transaction(probe) as tx:
            return detect(tx, uri)
    finally:
        conn.close()


def layout_of(columns: dict[str, set], location: str) -> Layout:
    """The layout from {table: set of column names}."""
    if not any(name.startswith("django_store_") for name in columns):
        raise StoreError(f"{location} is not a Sumatra record store: it has none of the "
                         "tables of Sumatra's Django store (django_store_*)")
    missing = []
    for table in _COMMON:
        have = columns.get(table.name)
        if have is None:
            missing.append(f"table {table.name}")
            continue
        need = [c for c in table.columns if c not in have and c not in OPTIONAL.get(table.name, ())]
        missing += [f"column {table.name}.{c}" for c in need]
    tags = next((pair for pair in TAG_TABLES if all(t in columns for t in pair)), None)
    if tags is None:
        missing.append("the tag tables (django_store_tag and django_store_taggeditem, or "
                       "django-tagging's tagging_tag and tagging_taggeditem)")
    else:
        for name, table in zip(tags, (S.TAG, S.TAGGEDITEM)):
            missing += [f"column {name}.{c}" for c in table.columns if c not in columns[name]]
    datakey = columns.get(S.DATAKEY.name, set())
    by_key = "output_from_record_id" in datakey
    if not by_key and S.DATAKEY.name in columns:
        link = columns.get(OUTPUT_LINK.name)
        if link is None:
            missing.append(f"the outputs (column {S.DATAKEY.name}.output_from_record_id, "
                           f"or table {OUTPUT_LINK.name})")
        else:
            missing += [f"column {OUTPUT_LINK.name}.{c}" for c in OUTPUT_LINK.columns
                        if c not in link]
    if missing:
        raise StoreError(f"{location} is not a Sumatra record store smtql can read: it has no "
                         + "; no ".join(missing))
    record = columns[S.RECORD.name]
    if tags == TAG_TABLES[0]:
        generation = NEWEST
    elif by_key:
        generation = "0.7-0.8dev"
    else:
        generation = "0.6dev" if "repeats" in record else "0.5"
    return Layout(
        generation=generation,
        tag=Table(tags[0], S.TAG.columns),
        taggeditem=Table(tags[1], S.TAGGEDITEM.columns),
        record=Table(S.RECORD.name, tuple(c for c in S.RECORD.columns if c in record)),
        datakey=Table(S.DATAKEY.name, tuple(c for c in S.DATAKEY.columns if c in datakey)),
        outputs_by_key=by_key,
        content_type_has_name="name" in columns[S.CONTENT_TYPE.name],
        migrations=frozenset() if "django_migrations" in columns else None,
    )


def _replace(layout: Layout, **changes) -> Layout:
    from dataclasses import replace
    return replace(layout, **changes)


def _text(value) -> str:
    # MySQL's information_schema may hand back bytes
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
