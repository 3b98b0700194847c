"""The whole pipeline fuzzed (issue 15): programs generated from the grammar,
mutated, and random, through the Python API on a Sumatra SQLite store, the
same rows decided in Python only, and a shelve store, and some through the
command line (tests/support/pipeline.py says what must hold). The corpus
of programs that once failed (tests/data/fuzz/corpus.jsonl) runs every time.

Default profile: SMTQL_FUZZ_EXAMPLES (default 100) examples, about half a
minute on two busy cores; benchmarks/fuzz.py runs the slow profile.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

import smtql
from support import pipeline, programs
from support.store_support import demo_store

RECORDS, SEED = 150, 7  # the differential tests' stores: built once per session
EXAMPLES = int(os.environ.get("SMTQL_FUZZ_EXAMPLES", "100"))


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    sqlite_dir, _ = demo_store("sqlite", tmp_path_factory, RECORDS, SEED)
    shelve_dir, _ = demo_store("shelve", tmp_path_factory, RECORDS, SEED)
    sql, shelf = smtql.connect(sqlite_dir), smtql.connect(shelve_dir)
    yield pipeline.Stores(sql, pipeline.python_twin(sql), shelf, str(sqlite_dir))
    sql.close()
    shelf.close()


@pytest.fixture(scope="module")
def tags_before(stores):
    return pipeline.tags_of(stores.sql), pipeline.tags_of(stores.shelve)


@pytest.mark.parametrize("case", programs.corpus(), ids=lambda c: c.get("class", "?")[:40])
def test_corpus(case, stores, tags_before):
    pipeline.check(case["program"], stores, cli=True)
    kind = pipeline.outcome(stores.sql, case["program"])[0]
    if "expect" in case:
        assert kind == case["expect"], case


def test_generated_programs(stores, tags_before):
    seen = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(program=programs.programs)
    def check(program):
        seen.append(program)
        # the command line on one program in ten: it costs a store opening
        pipeline.check(program, stores, cli=len(seen) % 10 == 0)

    check()
    assert len(seen) >= min(EXAMPLES, 100)


def test_nothing_was_written(stores, tags_before):
    """Writes were refused (no confirmation, no --yes): every store holds
    the tags it held before the fuzzing."""
    assert (pipeline.tags_of(stores.sql), pipeline.tags_of(stores.shelve)) == tags_before


def test_an_unknown_store_scheme_is_named(tmp_path):
    """Issue 12 item 16: `--store foo://bar` says the scheme is unsupported
    and lists the supported ones (exit 3), not "no such file"."""
    from smtql.errors import StoreError
    with pytest.raises(StoreError) as info:
        smtql.connect(store="foo://bar")
    assert "'foo://' is not supported" in info.value.message
    assert "postgres://" in info.value.message and "mysql://" in info.value.message


def test_deep_and_long_programs_parse(stores):
    """Issue 15 / issue 12 item 14: 600 chained `not`s and 600 nested
    parentheses work; a 3,000-term `or` is one IN on SQLite."""
    assert pipeline.outcome(stores.sql, "count " + "not " * 600 + "all")[0] == "ok"
    assert pipeline.outcome(stores.sql, "count " + "(" * 600 + "all" + ")" * 600)[0] == "ok"
    ors = "count " + " or ".join(f'reason = "r{i}"' for i in range(3000))
    assert pipeline.outcome(stores.sql, ors) == pipeline.outcome(stores.python, ors)


def test_a_matches_pattern_is_compiled_once_per_query(stores, monkeypatch):
    """Issue 15, item 4: the check before the program runs and the test of
    every row share one compiled pattern, whatever the number of rows."""
    import re
    from smtql.language import literals
    literals.regex.cache_clear()
    compiled = []
    real = re.compile
    monkeypatch.setattr(re, "compile", lambda p, *a: compiled.append(p) or real(p, *a))
    program = 'count reason matches "o+n" or not outcome matches "o+n"'
    for conn in (stores.sql, stores.shelve):  # the shelve store decides every row in Python
        compiled.clear()
        literals.regex.cache_clear()
        assert pipeline.outcome(conn, program)[0] == "ok"
        assert compiled.count("o+n") == 1, compiled


def test_long_ands_of_bounds_and_ors_of_prefixes_are_folded(stores):
    """Issue 15, item 2: a 3,000-term `and` of bounds on one field is its
    strongest bound; a 3,000-term `or` of prefixes is one IN per prefix
    length, not 3,000 conditions for SQLite to plan."""
    from smtql.plan import planner
    from smtql.language import parser
    f = parser.parse("count " + " and ".join(f"duration > {i}" for i in range(3000))
                     + " and duration >= 2999 and duration < 5 and duration <= 5").statements[0].filter
    folded = planner.normalize(f)
    assert sorted((c.op, c.value.value) for c in folded.items) == [("<", 5), (">", 2999)]
    explained = stores.sql.run("explain count " + " or ".join(
        f'{("reason", "outcome")[i % 2]} startswith "r{i}"' for i in range(3000)))[0]
    sql = explained.data["sql"][0]  # the COUNT
    # prefixes "r0".."r2999" have 2 to 5 characters: 4 lengths on 2 fields
    filter_sql = sql.replace("length(t.timestamp)", "")  # (the readable-timestamp test's)
    assert sql.count(" IN ") == 8 and "length(" not in filter_sql, sql[:2000]
