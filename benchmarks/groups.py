"""Group-bys (issue 14): smtql against hand-written SQL GROUP BY, one run.

    python -m benchmarks.groups --store URI [--timeout 120]

URI: a grown store (benchmarks/grow.py; `python -m benchmarks.run` builds
and caches them: an SQLite file, or postgres://…/smtql_bench_1000000).
Each figure is taken in a child process of its own: smtql's Python API in a
fresh process (import, connect, the query: "fresh") and the median of 3 in
that process ("warm"), with the child's peak memory; the hand-written SQL
(the same groups and counts, checked equal) with the database's own driver.
The table ends with the targets of issue 14 and whether each is met.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# query -> hand-written SQL per dialect, giving (group key, count[, mean]).
TAG = ("(SELECT ti.object_id FROM django_store_taggeditem ti JOIN django_store_tag t "
       "ON t.id = ti.tag_id WHERE t.name IN ({names}))")
WEEK = {
    "sqlite": "printf('%s-W%02d', strftime('%Y', date(timestamp, '-3 days', 'weekday 4')), "
              "(CAST(strftime('%j', date(timestamp, '-3 days', 'weekday 4')) AS INTEGER) - 1) / 7 + 1)",
    "postgresql": "to_char(timestamp AT TIME ZONE 'UTC', 'IYYY-\"W\"IW')",
}
CASES = {
    "status failed group by week show count": (
        "SELECT {week}, COUNT(*) FROM django_store_record WHERE db_id IN "
        + TAG.format(names="'_failed_'") + " GROUP BY 1"),
    "tag finished group by main_file show count, mean(duration)": (
        "SELECT main_file, COUNT(*), AVG(duration) FROM django_store_record WHERE db_id IN "
        + TAG.format(names="'finished', '_finished_'") + " GROUP BY main_file"),
    "tag finished group by optimizer.model.kind show count, mean(duration)": None,
}
TARGETS = {  # (query, dialect) -> what the issue asks
    ("status failed group by week show count", "sqlite"): ("ratio", 2.0),
    ("tag finished group by main_file show count, mean(duration)", "sqlite"): ("ratio", 2.0),
    ("tag finished group by optimizer.model.kind show count, mean(duration)", "postgresql"):
        ("seconds", 2.0),
}

_SMTQL = textwrap.dedent("""\
    import json, resource, statistics, sys, time
    t0 = time.perf_counter()
    import smtql
    conn = smtql.connect(store=sys.argv[1])
    res = conn.query(sys.argv[2])
    fresh = time.perf_counter() - t0
    warm = []
    for _ in range(3):
        t = time.perf_counter(); conn.query(sys.argv[2]); warm.append(time.perf_counter() - t)
    groups = {str(r[res.columns[0]]): r["count"] for r in res.rows}
    print(json.dumps({"fresh": fresh, "warm": statistics.median(warm), "groups": groups,
                      "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""")

_SQL = textwrap.dedent("""\
    import json, statistics, sys, time
    uri, sql = sys.argv[1], sys.argv[2]
    if uri.startswith("postgres"):
        import psycopg
        conn = psycopg.connect(uri)
    else:
        import sqlite3
        conn = sqlite3.connect(uri)
    times = []
    for _ in range(3):
        t = time.perf_counter(); rows = conn.execute(sql).fetchall()
        times.append(time.perf_counter() - t)
    print(json.dumps({"seconds": statistics.median(times),
                      "groups": {str(r[0] if r[0] is not None else "—"): r[1] for r in rows}}))
""")


def child(script: str, *args: str, timeout: int) -> dict | None:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    import os
    env = dict(os.environ, **env)
    try:
        proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                              text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args(argv)
    dialect = "postgresql" if args.store.startswith("postgres") else "sqlite"
    print(f"store: {args.store} ({dialect})")
    print(f"{'query':<72} {'smtql fresh':>11} {'warm':>7} {'MB':>5} {'SQL':>7} {'ratio':>6}")
    verdicts = []
    for query, sql in CASES.items():
        got = child(_SMTQL, args.store, query, timeout=args.timeout)
        hand = (child(_SQL, args.store, sql.format(week=WEEK[dialect]), timeout=args.timeout)
                if sql else None)
        if got is None:
            print(f"{query:<72} {'timeout':>11}")
            continue
        if hand is not None and hand["groups"] != got["groups"]:
            raise SystemExit(f"{query}: smtql and the SQL disagree:\n{got['groups']}\n"
                             f"{hand['groups']}")
        ratio = got["warm"] / hand["seconds"] if hand else None
        print(f"{query:<72} {got['fresh']:>10.3f}s {got['warm']:>6.3f}s {got['mb']:>5.0f} "
              + (f"{hand['seconds']:>6.3f}s {ratio:>6.2f}" if hand else f"{'—':>7} {'—':>6}"))
        target = TARGETS.get((query, dialect))
        if target:
            kind, bound = target
            value = ratio if kind == "ratio" else got["fresh"]
            verdicts.append(f"{query}: {kind} {value:.2f} (target ≤ {bound}) "
                            f"{'met' if value is not None and value <= bound else 'MISSED'}")
    print("\ntargets (issue 14):")
    for line in verdicts:
        print("  " + line)


if __name__ == "__main__":
    main()
