"""The language's semantics table (tests/data/semantics/filters.yaml, the
one tests/plan/test_evaluate.py checks on Rows) run through stores of every
schema generation on SQLite, PostgreSQL and MariaDB (issue 11, item 3):
each section's records are written the way Sumatra of that generation
stores them (support.generations) and every case's filter, planned and
pushed down to that store's SQL, must select exactly the case's records.

The differential counterpart (planned engine against the reference
evaluation over the same rows) is in test_generation_differential.py."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from support import store_support
from support.generations import (BACKENDS, GENERATIONS, DataFile, Executable, Record,
                                 Repository, build_store)

TABLE = yaml.safe_load((Path(__file__).parents[1] / "data" / "semantics" / "filters.yaml")
                       .read_text("utf-8"))
NOW = TABLE["now"]
DEFAULT_TS = datetime(2020, 11, 10, 12, 0, tzinfo=timezone.utc)
TEXT = ("reason", "outcome", "main_file", "version", "user", "script_arguments", "stdout_stderr")


def as_record(name: str, spec: dict | None) -> Record:
    """A section's record as Sumatra would have saved it: null text stored as
    '' (the columns are NOT NULL; null text reads as '' anyway)."""
    spec = spec or {}
    ts = spec.get("timestamp", DEFAULT_TS).astimezone(timezone.utc).replace(tzinfo=None)
    return Record(
        spec.get("label", name), ts, tags=tuple(spec.get("tags", ())),
        parameters=spec.get("params", {}), format="yaml" if "params" in spec else "nt",
        duration=spec.get("duration"),
        outputs=[DataFile(p) for p in spec.get("outputpath", ())],
        executable=Executable(path=spec["executable"]) if spec.get("executable") else None,
        repository=Repository(url=spec["repository"]) if spec.get("repository") else None,
        **{f: spec.get(f) or "" for f in TEXT})


_stores: dict = {}


def section_store(generation, backend, section, tmp_path_factory):
    key = (generation, backend, section["name"])
    if key not in _stores:
        store_support.require_server(backend)
        records = [as_record(n, s) for n, s in section["records"].items()]
        built = build_store(generation, backend, records,
                            target=tmp_path_factory.mktemp(f"sem-{generation}-{section['name']}"))
        from smtql.stores.registry import open_store
        labels = {r.label: n for n, r in zip(section["records"], records)}
        _stores[key] = (open_store(store=built.uri), labels)
    return _stores[key]


def selected(store, text: str) -> list[str]:
    from smtql.executor import Executor
    from smtql.language.parser import parse
    results = list(Executor(store, now=NOW).run(parse(text)))
    return results[-1].labels


# Every generation on SQLite; on the servers one of each layout family
# (django-tagging + output table; django-tagging + output key) beside 0.8.1,
# which the rest of the suite covers there.
SERVER_GENERATIONS = ("0.5", "0.7-0.8dev")


def _params():
    for g in GENERATIONS:
        for b in BACKENDS:
            if b != "sqlite" and g not in SERVER_GENERATIONS:
                continue
            for section in TABLE["sections"]:
                if b not in section.get("backends", BACKENDS):
                    continue  # stored values this database cannot hold (U+0000 on PostgreSQL)
                yield pytest.param(g, b, section, id=f"{g}-{b}-{section['name']}")


@pytest.mark.parametrize("generation, backend, section", list(_params()))
def test_semantics_table_through_the_store(generation, backend, section, tmp_path_factory):
    store, names = section_store(generation, backend, section, tmp_path_factory)
    wrong = []
    for case in section["cases"]:
        got = sorted(names[label] for label in selected(store, case["filter"]))
        if got != sorted(case["match"]):
            wrong.append((case["filter"], got, sorted(case["match"])))
    assert not wrong, "\n".join(f"{f!r}: got {g}, want {w}" for f, g, w in wrong)
