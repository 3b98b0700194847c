"""One program through the whole pipeline (parse → bind → plan → SQL →
execute → render, and the command line), with what must hold for any input:

- it ends in the project's own error (an SmtqlError, exit 1) or in results
  that render in every format; never another exception, never exit 4;
- it ends in time (no runaway on a long or deep program);
- the SQL store and the same rows decided wholly in Python agree;
- nothing is written without confirmation (`--yes` on the command line).

Used by tests/test_fuzz.py (the default profile) and benchmarks/fuzz.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from smtql.api import Connection, parse_program
from smtql.errors import EXIT_PROGRAM, EXIT_USAGE, SmtqlError
from smtql.language import ast
from smtql.render import FORMATS

from .store_support import ListStore

NOW = datetime(2021, 10, 1, tzinfo=timezone.utc)
# Seconds one program may take on a store of a few hundred records; the
# fuzzing run of issue 15 called anything past 5 s a runaway.
SECONDS = float(os.environ.get("SMTQL_FUZZ_SECONDS", "5"))
VARIABLES = {"d": "2020-09", "v": 3, "t": "best", "n": 2, "r": "latest"}
# Statements whose answers depend only on the rows (not on Sumatra Records,
# files or the journal): the SQL store and the Python-only one must agree.
_COMPARABLE = (ast.Find, ast.Count, ast.Keys, ast.Let)


class Failure(AssertionError):
    pass


@dataclass
class Stores:
    sql: Connection  # a Sumatra SQLite store, read with SQL
    python: Connection  # the same rows, every predicate decided in Python
    shelve: Connection  # a Sumatra shelve store, through Sumatra's API
    project_dir: str  # the SQLite store's project, for the command line


def refuse(preview) -> bool:
    return False


def outcome(conn: Connection, program: str):
    """("ok", rendered results) or ("error", message); raises Failure on
    anything that is not the project's own error."""
    try:
        results = list(conn.stream(program, variables=dict(VARIABLES), now=NOW, confirm=refuse))
        return "ok", [_render_all(r) for r in results]
    except SmtqlError as err:
        if err.exit_status != EXIT_PROGRAM:
            raise Failure(f"exit {err.exit_status}, not 1: {err.render()}") from err
        err.render()
        return "error", err.message
    except RecursionError as err:  # a Python error of its own, reported as such
        raise Failure(f"RecursionError: {err}") from err
    except Exception as err:
        raise Failure(f"{type(err).__name__}: {err}") from err


def _render_all(result) -> str:
    texts = {fmt: result.render(fmt, width=100, color=False) if fmt == "table"
             else result.render(fmt) for fmt in FORMATS}
    if getattr(result, "kind", None) == "keys":
        # With the parameter index, `keys` takes its examples from the newest
        # sets of each shape (reader.keys_of), not from the first records:
        # other values of the same key. Keys and counts must be equal.
        rows = json.loads(texts["json"])
        return json.dumps([{k: v for k, v in row.items() if k != "examples"} for row in rows])
    return texts["json"]


def _comparable(program: str) -> bool:
    try:
        parsed = parse_program(program)
    except SmtqlError:
        return False
    return all(isinstance(s, _COMPARABLE) for s in parsed.statements)


def tags_of(conn: Connection) -> dict:
    return {r.label: tuple(sorted(r.tags)) for r in conn.store.scan(None)}


def check(program: str, stores: Stores, *, cli: bool = False, shelve: bool = True) -> None:
    start = time.process_time()
    got = outcome(stores.sql, program)
    took = time.process_time() - start
    if took > SECONDS:
        raise Failure(f"took {took:.1f} s on SQLite (more than {SECONDS} s)")
    if _comparable(program):
        want = outcome(stores.python, program)
        if got != want:
            raise Failure(f"SQL and Python disagree:\n  SQL:    {str(got)[:500]}\n"
                          f"  Python: {str(want)[:500]}")
    if shelve:
        start = time.process_time()
        outcome(stores.shelve, program)
        if time.process_time() - start > SECONDS:
            raise Failure(f"took more than {SECONDS} s on the shelve store")
    if cli:
        check_cli(program, stores)


def check_cli(program: str, stores: Stores, fmt: str = "json") -> None:
    """The command line on the same program: exit 0, 1, or 2 for a write it
    refuses (no --yes, no terminal); never 4."""
    from smtql.frontends.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["-C", stores.project_dir, "--format", fmt, "--", program])
    if status not in (0, EXIT_PROGRAM, EXIT_USAGE) or "internal error" in err.getvalue():
        raise Failure(f"the command line exits {status}: {err.getvalue()[:500]}")


def python_twin(sql: Connection) -> Connection:
    """The SQL store's rows in a store that pushes nothing down."""
    return Connection(ListStore(list(sql.store.scan(None)), project=sql.store.project))
