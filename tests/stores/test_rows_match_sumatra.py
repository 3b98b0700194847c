"""Every field of every Row the SQL backend builds equals what Sumatra's own
API reads (RecordStore.list, then smtql.stores.rows.from_record), on each backend."""

from __future__ import annotations

import pytest

from smtql.stores.registry import open_store
from support.store_support import demo_store

FIELDS = ("label", "timestamp", "tags", "reason", "outcome", "main_file", "version", "user",
          "script_arguments", "stdout_stderr", "duration", "executable", "repository", "params")


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mysql"])
def test_rows_equal_the_oracle(kind, tmp_path_factory):
    project, oracle = demo_store(kind, tmp_path_factory)
    store = open_store(project)
    try:
        assert type(store).__name__ == "DjangoSqlStore"
        rows = {r.label: r for r in store.scan(None)}
    finally:
        store.close()
    expected = {r.label: r for r in oracle}
    assert rows.keys() == expected.keys()
    for label, want in expected.items():
        got = rows[label]
        for name in FIELDS:
            assert getattr(got, name) == getattr(want, name), (label, name)
            if name == "params":
                assert repr(got.params) == repr(want.params), label  # same types too
        assert sorted(got.outputpath) == sorted(want.outputpath), label
