"""Opening the demo's record store (SQLite, shelve, PostgreSQL, MariaDB) and
saving records into it with Sumatra's own RecordStore.save, in one
transaction."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any, Iterable, Iterator

if TYPE_CHECKING:  # pragma: no cover
    import sumatra.records
    import sumatra.recordstore

from .common import DemoError

# --------------------------------------------------------------------------
# Stores
# --------------------------------------------------------------------------

def _store_kind(uri: str | None) -> str:
    if uri is None:
        return "default"
    if uri.startswith("postgres"):
        return "postgres"
    if uri.startswith(("mysql", "mariadb")):
        return "mysql"
    if uri.startswith(("http://", "https://")):
        raise DemoError("the demo cannot be built on an HTTP record store: %s" % uri)
    if uri.endswith(".shelf") or any(os.path.exists(uri + ext) for ext in (".dat", ".db")):
        return "shelve"
    return "sqlite"


def _normalise_store(uri) -> str | None:
    if uri is None:
        return None
    uri = os.fspath(uri)
    if _store_kind(uri) in ("sqlite", "shelve"):
        return os.path.abspath(os.path.expanduser(uri))
    return uri


def _install_mysql_driver() -> None:
    """Django's MySQL backend wants MySQLdb (mysqlclient); PyMySQL can stand in for it."""
    try:
        import MySQLdb  # noqa: F401
        return
    except ImportError:
        pass
    try:
        import pymysql
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DemoError("a MySQL/MariaDB store needs mysqlclient or PyMySQL (pip install pymysql)") from exc
    if getattr(pymysql, "version_info", (0,)) < (2, 2, 1):  # Django 5.2 asks for mysqlclient >= 2.2.1
        pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()


def _open_store(store_uri_or_path) -> "sumatra.recordstore.RecordStore":
    from sumatra.recordstore.base import RecordStore

    if isinstance(store_uri_or_path, RecordStore):
        return store_uri_or_path
    uri = _normalise_store(store_uri_or_path)
    kind = _store_kind(uri)
    if kind == "shelve":
        from sumatra.recordstore.shelve_store import ShelveRecordStore
        return ShelveRecordStore(uri)
    if kind == "mysql":
        _install_mysql_driver()
    if kind == "default":
        raise DemoError("save_records needs a store URI or path")
    _check_first_database(uri)
    _quiet_django()
    from sumatra.recordstore.django_store import DjangoRecordStore
    return DjangoRecordStore(uri)


def _quiet_django() -> None:
    """Sumatra configures Django with DEBUG=True, which logs every query in memory; turn that off."""
    from sumatra.recordstore.django_store import db_config
    if not db_config.configured:
        db_config.update_settings(DEBUG=False)


def _check_first_database(store_uri: str) -> None:
    """Refuse, before changing anything, to build into a Django store that could
    not be this process's first Django database."""
    if _store_kind(store_uri) == "shelve":
        return
    from sumatra.recordstore.django_store import db_config, db_id

    default = db_config._settings["DATABASES"].get("default")
    if default is not None and db_id(default) != db_id(db_config.uri_to_db(store_uri)):
        raise DemoError(
            "this process already uses another Sumatra Django record store (%s); Sumatra's "
            "Django store keeps tags right only as the process's first database, so use "
            "%s from a separate process (build_project(..., in_process=False) or "
            "python -m smtql.demo build ... do that)" % (default.get("NAME"), store_uri))


def _require_first_database(store) -> None:
    label = getattr(store, "_db_label", None)
    if label is not None and label != "default":
        raise DemoError(
            "this process already uses another Sumatra Django record store; Sumatra's Django "
            "store keeps tags right only as the process's first database, so build or save "
            "into %s in a separate process (python -m smtql.demo build ...)" % store)


@contextlib.contextmanager
def _sorted_tags(record) -> Iterator[None]:
    """Sumatra writes ",".join(record.tags) from a set; sort it so the tags column is deterministic."""
    tags = record.tags
    record.tags = sorted(tags)
    try:
        yield
    finally:
        record.tags = tags


PROGRESS_EVERY = 250  # records saved between two progress reports


def save_records(store_uri_or_path, project_name: str, records: Iterable["sumatra.records.Record"],
                 progress=None) -> None:
    """Save ``records`` with Sumatra's own ``RecordStore.save``, fast.

    ``store_uri_or_path``: an SQLite path, ``postgres://…``, ``mysql://…``, a
    ``*.shelf`` path, or a Sumatra ``RecordStore``. For a Django store the
    saves run in one transaction (``django.db.transaction.atomic``), with the
    lookups of shared rows memoised, get_or_create's savepoints off and, on
    SQLite, two lookup indexes that exist only inside that transaction; the
    store must be the process's first Django database (``DemoError``
    otherwise). Measured: about 6-8 ms of CPU per record (2500 records: 15-21 s
    on a loaded 2-core machine), three quarters of it Django's ORM.
    For a shelve store, Sumatra's ``save`` runs against an in-memory copy of
    the project's entry, written back once (saving one by one rewrites the
    whole project entry per record).
    ``progress(done, total)``, if given, is called every few hundred records.
    """
    from sumatra.recordstore.shelve_store import ShelveRecordStore

    store = _open_store(store_uri_or_path)
    records = list(records)
    if isinstance(store, ShelveRecordStore):
        shelf = store.shelf
        cache = {project_name: shelf[project_name]} if project_name in shelf else {}
        store.shelf = cache
        try:
            for record in records:
                store.save(project_name, record)
        finally:
            store.shelf = shelf
        if project_name in cache:
            shelf[project_name] = cache[project_name]
        shelf.sync()
        return
    _require_first_database(store)
    if not hasattr(store, "_get_models"):  # some other RecordStore: plain saves
        for record in records:
            store.save(project_name, record)
        return
    _quiet_django()
    store._get_models()  # configures Django (and migrates) on first use
    from django.db import connections, transaction

    using = store._db_label
    connection = connections[using]
    with _memoised_lookups(store) as prime_tag:
        # Tag rows are the only ones with a unique key that another writer of a
        # shared server may create at the same time as we do: make them first,
        # each in its own small transaction, where get_or_create's savepoint
        # recovers from such a race. In the big transaction below every tag
        # lookup is then answered from memory, and no statement can hit a
        # unique-key conflict, so get_or_create's savepoints (two extra
        # statements per created row) are switched off there.
        for name in sorted({tag for record in records for tag in record.tags}):
            prime_tag(name)
        with transaction.atomic(using=using), _no_savepoints(connection), _gc_paused():
            lookup_indexes = _create_lookup_indexes(connection)
            for i, record in enumerate(records):
                if progress and i and i % PROGRESS_EVERY == 0:
                    progress(i, len(records))
                with _sorted_tags(record):
                    store.save(project_name, record)
            _drop_lookup_indexes(connection, lookup_indexes)


def _sumatra_object_key(db_class: str, obj) -> tuple:
    """What Sumatra's get_or_create_from_sumatra_object would look the object up by."""
    if db_class == "ParameterSet":
        own = getattr(obj, "__dict__", {})
        return (db_class, type(obj).__name__, own.get("type"), own.get("content"), str(obj))
    state = obj.__getstate__() if callable(getattr(obj, "__getstate__", None)) else None
    if state is None:
        state = vars(obj)
    return (db_class, type(obj).__name__, repr(sorted(state.items())))


@contextlib.contextmanager
def _memoised_lookups(store) -> Iterator[Any]:
    """Look each shared object (executable, repository, launch mode, data store,
    parameter set, project, tag) up once per transaction instead of once per record.

    Sumatra's ``save`` runs unchanged; only the answers of its ``_get_db_obj``,
    ``_get_db_project`` and (tagging) ``Tag.objects.get_or_create`` are
    remembered. Data keys belong to one record each and are never memoised.
    Yields a function that looks a tag name up (creating the tag if needed).
    """
    from sumatra.recordstore.django_store.tagging import Tag

    get_obj, get_project = store._get_db_obj, store._get_db_project
    tag_manager = Tag.objects
    get_tag = tag_manager.get_or_create
    objects: dict[tuple, Any] = {}
    projects: dict[str, Any] = {}
    tags: dict[str, Any] = {}

    def memo_obj(db_class, obj):
        if db_class == "DataKey" or obj is None:
            return get_obj(db_class, obj)
        key = _sumatra_object_key(db_class, obj)
        if key not in objects:
            objects[key] = get_obj(db_class, obj)
        return objects[key]

    def memo_project(project_name):
        if project_name not in projects:
            projects[project_name] = get_project(project_name)
        return projects[project_name]

    def memo_tag(**kwargs):  # TagManager.update_tags calls self.get_or_create(name=...)
        if set(kwargs) != {"name"}:
            return get_tag(**kwargs)
        name = kwargs["name"]
        if name in tags:
            return tags[name], False
        tag, created = get_tag(name=name)
        tags[name] = tag
        return tag, created

    store._get_db_obj, store._get_db_project = memo_obj, memo_project
    tag_manager.get_or_create = memo_tag
    try:
        yield lambda name: memo_tag(name=name)
    finally:
        del store._get_db_obj, store._get_db_project
        del tag_manager.get_or_create


# Sumatra looks each record up by label and each data key by all its columns
# before saving it, and its schema indexes neither: on SQLite these full scans
# make a bulk save quadratic. These indexes live only inside the saving
# transaction (created after BEGIN, dropped before COMMIT), so the store ends
# with exactly Sumatra's schema. Not on servers: other writers would wait on
# the DDL's table locks, and MySQL commits implicitly around DDL.
_LOOKUP_INDEXES = (
    ("smtql_demo_tmp_record_label", "django_store_record", ("label", "project_id")),
    ("smtql_demo_tmp_datakey_path", "django_store_datakey", ("path",)),
)


def _create_lookup_indexes(connection) -> list[str]:
    if connection.vendor != "sqlite":
        return []
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name, table, columns in _LOOKUP_INDEXES:
            cursor.execute("CREATE INDEX %s ON %s (%s)" % (qn(name), qn(table), ", ".join(map(qn, columns))))
    return [name for name, _, _ in _LOOKUP_INDEXES]


def _drop_lookup_indexes(connection, names: list[str]) -> None:
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute("DROP INDEX %s" % connection.ops.quote_name(name))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Django allocates many short-lived objects per statement; pausing the cyclic
    collector for the duration of the saves makes them about 10 % cheaper."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def _no_savepoints(connection) -> Iterator[None]:
    """Make Django's nested ``atomic`` blocks (get_or_create's) skip their savepoints.

    The public switch is ``features.uses_savepoints``; the SQLite backend
    ignores it (its ``_savepoint_allowed`` only asks whether a transaction is
    open), hence the instance override as well.
    """
    saved = connection.features.uses_savepoints
    connection.features.uses_savepoints = False
    connection._savepoint_allowed = lambda: False
    try:
        yield
    finally:
        connection.features.uses_savepoints = saved
        del connection._savepoint_allowed


def _clear_project(store_uri: str, project_name: str) -> int:
    """Delete an earlier demo's records of ``project_name`` from an existing store; returns how many."""
    kind = _store_kind(store_uri)
    if kind == "shelve":
        if not (os.path.exists(store_uri) or os.path.exists(store_uri + ".dat")
                or os.path.exists(store_uri + ".db")):
            return 0
        store = _open_store(store_uri)
        n = len(store.shelf.get(project_name, {})) if project_name in store.shelf else 0
        if project_name in store.shelf:
            del store.shelf[project_name]
            store.shelf.sync()
        store.shelf.close()
        return n
    if kind == "sqlite" and not os.path.exists(store_uri):
        return 0
    store = _open_store(store_uri)
    _require_first_database(store)
    models = store._get_models()
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from sumatra.recordstore.django_store.tagging import TaggedItem

    using = store._db_label
    with transaction.atomic(using=using):
        records = models.Record.objects.using(using).filter(project__id=project_name)
        ids = list(records.values_list("db_id", flat=True))
        ctype = ContentType.objects.db_manager(using).get_for_model(models.Record)
        # Tags hang off a generic relation: Django's cascade does not reach them, and a
        # later record that reuses a db_id would inherit them.
        for i in range(0, len(ids), 500):
            TaggedItem.objects.using(using).filter(content_type=ctype, object_id__in=ids[i:i + 500]).delete()
        records.delete()  # cascades to output DataKeys and the many-to-many rows
        models.Project.objects.using(using).filter(id=project_name).delete()
    return len(ids)
