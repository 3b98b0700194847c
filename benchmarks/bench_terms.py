"""Cost per term: long flat programs (issue 15) at 10^2, 10^3, 10^4 terms.

    python -m benchmarks.bench_terms [--work DIR] [--sizes 100,1000,10000]

On the demo project (`python -m smtql.demo build`, 120 records, SQLite),
each shape of program is timed stage by stage: parse (text → AST), bind,
plan (normalise, fold, split), SQL (the statement's text and parameters)
and the whole run through the Python API (all stages, the query and
rendering as JSON). The table gives microseconds per term; linear cost
keeps each row flat from 10^2 to 10^4. Target: a 10,000-term `or` of
equalities, or a 10,000-label `in`, in about a second.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SHAPES = {
    "or of equalities (reason)": lambda n: "count " + " or ".join(
        f'reason = "r{i}"' for i in range(n)),
    "or of parameter equalities": lambda n: "count " + " or ".join(
        f"seed = {i}" for i in range(n)),
    "or over many keys": lambda n: "count " + " or ".join(
        f'{("reason", "outcome", "user", "version")[i % 4]} startswith "r{i}"' for i in range(n)),
    "and of comparisons": lambda n: "count " + " and ".join(
        f"duration > {i}" for i in range(n)),
    "label in [...]": lambda n: "count label in [" + ", ".join(
        f'"l{i}"' for i in range(n)) + "]",
    "tag list": lambda n: "count tag " + ", ".join(f"t{i}" for i in range(n)),
    "show columns (unknown keys)": lambda n: "find all latest 5 show " + ", ".join(f"k{i}" for i in range(n)),
}


def build(work: Path) -> Path:
    project = work / "project"
    if not (project / ".smt" / "project").exists():
        subprocess.run([sys.executable, "-m", "smtql.demo", "build", str(project), "--records",
                        "120", "--no-runs", "--quiet"], check=True, cwd=ROOT)
    return project


def stages(conn, program: str) -> dict:
    from smtql.language import ast, bind, parser
    from smtql.plan import planner
    out = {}
    t = time.perf_counter()
    parsed = parser.parse(program)
    out["parse"] = time.perf_counter() - t
    stmt = parsed.statements[0]
    t = time.perf_counter()
    ctx = bind.Context(now=datetime.now(timezone.utc), source=program)
    bound = bind.bind_statement(stmt, ctx)
    out["bind"] = time.perf_counter() - t
    t = time.perf_counter()
    plan = planner.plan(bound.filter, conn.store, fields=())
    out["plan"] = time.perf_counter() - t
    t = time.perf_counter()
    store = conn.store
    if hasattr(store, "explain"):
        store.explain(plan)
    out["sql"] = time.perf_counter() - t
    from smtql.errors import QueryError
    t = time.perf_counter()
    try:
        for result in conn.run(program):
            result.render("json")
    except QueryError:
        pass  # `show k0, …`: the demo has no such keys; the check of every column is timed
    out["run"] = time.perf_counter() - t
    assert isinstance(stmt, (ast.Count, ast.Find))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--sizes", default="100,1000,10000")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="smtql-terms-"))
    import smtql
    conn = smtql.connect(build(work))
    header = f"{'shape':<30} {'terms':>6} " + " ".join(
        f"{s:>8}" for s in ("parse", "bind", "plan", "sql", "run")) + "   µs/term (run)"
    print(header)
    print("-" * len(header))
    for name, make in SHAPES.items():
        for n in sizes:
            try:
                cost = stages(conn, make(n))
            except Exception as err:  # noqa: BLE001 - a failing shape is reported, not fatal
                print(f"{name:<30} {n:>6} failed: {type(err).__name__}: {err}"[:160])
                continue
            print(f"{name:<30} {n:>6} " + " ".join(f"{cost[s] * 1000:>6.1f}ms" for s in
                                                    ("parse", "bind", "plan", "sql", "run"))
                  + f"   {cost['run'] / n * 1e6:>8.1f}")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
