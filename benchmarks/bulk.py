"""Grow a Sumatra Django store to N records fast, with SQL.

The store is first made by Sumatra itself (`python -m smtql.demo build`,
a few hundred records saved with RecordStore.save); `grow` then adds copies
of those records with new labels and timestamps: each copy has its
template's fields, parameter set (shared, as Sumatra shares identical sets),
executable, repository, launch mode, data stores, tags (through the tag
tables and the tags column) and output files (new datakey rows). Sumatra's
RecordStore.get reads them back like any other record
(tests/stores/test_bulk_store.py checks that).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from smtql.stores.django.reader import DjangoSqlStore

UTC = timezone.utc
RECORD_COLS = ("label", "reason", "duration", "main_file", "version", "outcome", "timestamp",
               "tags", "diff", "user", "script_arguments", "stdout_stderr", "repeats",
               "datastore_id", "executable_id", "input_datastore_id", "launch_mode_id",
               "parameters_id", "project_id", "repository_id")
START = datetime(2020, 9, 1, tzinfo=UTC)
SPAN = timedelta(days=395)


def _writer(uri: str):
    """A writable DB-API connection and its placeholder."""
    if uri.startswith(("postgres://", "postgresql://")):
        import psycopg
        return psycopg.connect(uri), "%s", "postgresql"
    if uri.startswith(("mysql://", "mariadb://")):
        import pymysql
        from urllib.parse import urlparse
        u = urlparse(uri)
        return (pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root",
                                password=u.password or "", database=u.path.lstrip("/"),
                                charset="utf8mb4"), "%s", "mysql")
    import sqlite3
    return sqlite3.connect(uri), "?", "sqlite"


def grow(uri: str, project: str, total: int, seed: int = 0, batch: int = 20000) -> list[tuple]:
    """Add copies of the project's records until it holds `total`; returns
    (new label, template label, timestamp) for every copy."""
    conn, ph, kind = _writer(uri)
    q = (lambda c: f"`{c}`") if kind == "mysql" else (lambda c: f'"{c}"')
    cur = conn.cursor()
    cur.execute(f"SELECT db_id, {', '.join(q(c) for c in RECORD_COLS)} FROM django_store_record "
                f"WHERE project_id = {ph}", [project])
    templates = cur.fetchall()
    if not templates or len(templates) >= total:
        return []
    cur.execute("SELECT id FROM django_content_type WHERE app_label = 'django_store' "
                "AND model = 'record'")
    ctype = cur.fetchone()[0]
    cur.execute("SELECT object_id, tag_id FROM django_store_taggeditem WHERE content_type_id = "
                + ph, [ctype])
    tags: dict = {}
    for object_id, tag_id in cur.fetchall():
        tags.setdefault(object_id, []).append(tag_id)
    cur.execute("SELECT output_from_record_id, path, digest, creation, metadata "
                "FROM django_store_datakey WHERE output_from_record_id IS NOT NULL")
    outputs: dict = {}
    for rid, *rest in cur.fetchall():
        outputs.setdefault(rid, []).append(rest)
    cur.execute("SELECT MAX(db_id) FROM django_store_record")
    next_id = (cur.fetchone()[0] or 0) + 1
    rng = random.Random(seed)
    made = []
    insert_rec = (f"INSERT INTO django_store_record (db_id, {', '.join(q(c) for c in RECORD_COLS)}) "
                  f"VALUES ({', '.join([ph] * (len(RECORD_COLS) + 1))})")
    insert_tag = (f"INSERT INTO django_store_taggeditem (object_id, content_type_id, tag_id) "
                  f"VALUES ({ph}, {ph}, {ph})")
    insert_key = (f"INSERT INTO django_store_datakey (path, digest, creation, metadata, "
                  f"output_from_record_id) VALUES ({ph}, {ph}, {ph}, {ph}, {ph})")
    todo = total - len(templates)
    labels = set()
    while todo > 0:
        recs, tag_rows, key_rows = [], [], []
        for _ in range(min(batch, todo)):
            t = rng.choice(templates)
            ts = START + timedelta(microseconds=rng.randrange(int(SPAN.total_seconds() * 1e6)))
            label = ts.strftime("%Y%m%d-%H%M%S") + "_%06x" % rng.getrandbits(24)
            while label in labels:
                label = ts.strftime("%Y%m%d-%H%M%S") + "_%06x" % rng.getrandbits(24)
            labels.add(label)
            values = dict(zip(RECORD_COLS, t[1:]))
            values["label"] = label
            values["timestamp"] = (ts.replace(tzinfo=None).isoformat(" ") if kind == "sqlite"
                                   else ts.replace(tzinfo=None) if kind == "mysql" else ts)
            recs.append([next_id] + [values[c] for c in RECORD_COLS])
            tag_rows += [(next_id, ctype, tag_id) for tag_id in tags.get(t[0], ())]
            key_rows += [(path.replace(t[1], label), digest, creation, metadata, next_id)
                         for path, digest, creation, metadata in outputs.get(t[0], ())]
            made.append((label, t[1], ts))
            next_id += 1
        if kind == "postgresql":  # COPY: an order of magnitude faster than INSERTs
            for table, cols, rows in (
                    ("django_store_record", ("db_id",) + RECORD_COLS, recs),
                    ("django_store_taggeditem", ("object_id", "content_type_id", "tag_id"), tag_rows),
                    ("django_store_datakey", ("path", "digest", "creation", "metadata",
                                              "output_from_record_id"), key_rows)):
                with cur.copy(f"COPY {table} ({', '.join(q(c) for c in cols)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
        else:
            cur.executemany(insert_rec, recs)
            cur.executemany(insert_tag, tag_rows)
            cur.executemany(insert_key, key_rows)
        conn.commit()
        todo -= len(recs)
    if kind == "postgresql":  # keep Django's sequences ahead of the ids used here
        cur.execute("SELECT setval(pg_get_serial_sequence('django_store_record', 'db_id'), "
                    "(SELECT MAX(db_id) FROM django_store_record))")
        conn.commit()
    if kind in ("postgresql", "sqlite"):
        cur.execute("ANALYZE")
        conn.commit()
    conn.close()
    return made


def project_of(uri: str) -> str:
    store = DjangoSqlStore(uri)
    try:
        return store.projects()[0]
    finally:
        store.close()
