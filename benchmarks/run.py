"""smtql against Sumatra's API and hand-written SQL, in one run.

    python -m benchmarks.run --sizes 1e4 1e5 [--backends sqlite postgres]
                             [--api-sample 1000] [--work DIR] [--keep]

For each backend and size: a store made by Sumatra (`python -m smtql.demo
build`, 300 records saved with RecordStore.save) grown to the size with
benchmarks/bulk.py; then each query

    Q1  tag finished and after 2020-09-12        (also as a count: Q1#)
    Q2  status crashed or stdout contains "Traceback"
    Q3  optimizer.lr = 0.01 and optimizer.model.kind = "gru"   (cold / warm parameter cache)
    Q4  (outcome = "converged" or reason contains "lr") and duration > 1h and not tag figure1
    Q5  tag finished latest 20

timed (median of 3) through smtql's Python API, through Sumatra's API the
smttask way (RecordStore.list + the reference evaluator; timed in a child
process on a sample of --api-sample records and extrapolated linearly to the
size: the table says so), and as hand-written SQL returning the same labels
(checked). Also the cold command line `smtql --store S 'count tag finished'`
against `python -c pass` (best of 7), and the peak memory of a count.
PostgreSQL stores go to databases smtql_bench_<size> on
postgres://root@127.0.0.1 (created, and dropped unless --keep).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("SMTQL_BENCH_POSTGRES", "postgres://root@127.0.0.1")

QUERIES = {
    "Q1": "tag finished and after 2020-09-12",
    "Q1#": "count tag finished and after 2020-09-12",
    "Q2": 'status crashed or stdout contains "Traceback"',
    "Q3": 'optimizer.lr = 0.01 and optimizer.model.kind = "gru"',
    "Q4": '(outcome = "converged" or reason contains "lr") and duration > 1h and not tag figure1',
    "Q5": "tag finished latest 20",
}

_TAGGED = ("EXISTS (SELECT 1 FROM django_store_taggeditem ti JOIN django_store_tag t ON "
           "t.id = ti.tag_id WHERE ti.object_id = r.db_id AND ti.content_type_id = {ct} "
           "AND t.name IN ({names}))")


def hand_sql(dialect: str, ct: int) -> dict[str, str]:
    """Hand-written SQL giving the same labels and the columns of smtql's
    default table (Q3 needs the parameter sets parsed: no SQL can say it)."""
    fin = _TAGGED.format(ct=ct, names="'finished', '_finished_'")
    crashed = _TAGGED.format(ct=ct, names="'_crashed_'")
    fig1 = _TAGGED.format(ct=ct, names="'figure1'")
    after = "'2020-09-12 00:00:00'" if dialect == "sqlite" else "'2020-09-12 00:00:00+00'"
    contains = (lambda col, s: f"instr({col}, '{s}') > 0") if dialect == "sqlite" else (
        lambda col, s: f"strpos({col}, '{s}') > 0")
    base = "FROM django_store_record r WHERE r.project_id = 'demo' AND "
    agg = "group_concat(t.name)" if dialect == "sqlite" else "string_agg(t.name, ',')"
    # the columns of smtql's default table, tags as one string
    cols = (f"r.label, r.timestamp, (SELECT {agg} FROM django_store_taggeditem ti JOIN "
            f"django_store_tag t ON t.id = ti.tag_id WHERE ti.object_id = r.db_id AND "
            f"ti.content_type_id = {ct}), r.reason, r.outcome, r.main_file, r.duration")
    return {
        "Q1": f"SELECT {cols} {base}{fin} AND r.timestamp >= {after}",
        "Q1#": f"SELECT COUNT(*) {base}{fin} AND r.timestamp >= {after}",
        "Q2": f"SELECT {cols} {base}({crashed} OR {contains('r.stdout_stderr', 'Traceback')})",
        "Q4": f"SELECT {cols} {base}(r.outcome = 'converged' OR {contains('r.reason', 'lr')}) "
              f"AND r.duration > 3600 AND NOT {fig1}",
        "Q5": f"SELECT {cols} {base}{fin} ORDER BY r.timestamp DESC LIMIT 20",
    }


def median_time(fn, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def build(backend: str, size: int, work: Path) -> tuple[Path, str]:
    from benchmarks.bulk import grow
    directory = work / f"{backend}-{size}"
    uri = None
    if backend == "postgres":
        import psycopg
        name = f"smtql_bench_{size}"
        with psycopg.connect(PG_BASE + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        uri = f"{PG_BASE}/{name}"
    cmd = [sys.executable, "-m", "smtql.demo", "build", str(directory), "--records",
           str(min(300, size)), "--seed", "11", "--no-runs", "--quiet"]
    if uri:
        cmd += ["--store", uri]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run(cmd, check=True, env=env)
    uri = uri or str(directory / ".smt" / "records")
    t = time.perf_counter()
    grow(uri, "demo", size, seed=3)
    print(f"  built {backend} {size:,} records in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return directory, uri


_API_CHILD = textwrap.dedent("""\
    import json, sys, time
    from smtql.demo import build as demo
    from smtql.language import parser
    from smtql.language.bind import Context, bind_filter
    from smtql.plan.evaluate import compile_filter
    from smtql.stores.rows import from_record
    uri, sample, queries = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    demo._quiet_django()
    from sumatra.recordstore.django_store import DjangoRecordStore
    store = DjangoRecordStore(uri)
    manager = store._manager
    t = time.perf_counter()
    records = [r.to_sumatra() for r in manager.filter(project__id="demo").select_related()[:sample]]
    rows = [from_record(r) for r in records]
    load = time.perf_counter() - t
    out = {"load": load, "n": len(rows), "eval": {}}
    for name, text in queries.items():
        program = parser.parse(text)
        stmt = program.statements[0]
        f = bind_filter(stmt.filter, Context(source=program.source))
        keep = compile_filter(f)
        t = time.perf_counter()
        hits = [r for r in rows if keep(r)]
        out["eval"][name] = time.perf_counter() - t
    print(json.dumps(out))
""")


def api_times(uri: str, size: int, sample: int) -> tuple[dict, bool]:
    queries = {k: v.replace("count ", "").replace(" latest 20", "") for k, v in QUERIES.items()}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _API_CHILD, uri, str(sample), json.dumps(queries)],
                          capture_output=True, text=True, env=env, check=True)
    got = json.loads(proc.stdout)
    scale = size / got["n"]
    return ({k: (got["load"] + got["eval"][k]) * scale for k in QUERIES}, got["n"] < size)


def cold_cli(uri: str) -> tuple[float, float]:
    def best(cmd, n=7):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times.append(time.perf_counter() - t)
        return min(times)
    base = best([sys.executable, "-c", "pass"])
    smtql = best([sys.executable, "-m", "smtql", "--store", uri, "count tag finished"])
    return base, smtql


def peak_count_memory(uri: str) -> float:
    code = ("import smtql; c = smtql.connect(store=%r); "
            "c.query('count tag finished and after 2020-09-12'); "
            "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
            % uri)  # VmHWM: ru_maxrss would count the parent's pages from before exec
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return int(out.stdout.strip()) / 1024  # MB


def connect_raw(uri: str):
    if uri.startswith("postgres"):
        import psycopg
        return psycopg.connect(uri), "postgresql"
    import sqlite3
    return sqlite3.connect(uri), "sqlite"


def bench(backend: str, size: int, work: Path, sample: int, keep: bool) -> list[dict]:
    import smtql
    from smtql.params import cache as paramcache
    directory, uri = build(backend, size, work)
    conn = smtql.connect(store=uri)
    raw, dialect = connect_raw(uri)
    ct = raw.execute("SELECT id FROM django_content_type WHERE app_label = 'django_store' "
                     "AND model = 'record'").fetchone()[0]
    hand = hand_sql(dialect, ct)
    api, sampled = api_times(uri, size, sample)
    rows = []
    for name, text in QUERIES.items():
        def run():
            res = conn.query(text)
            return res.count if hasattr(res, "count") and not hasattr(res, "labels") else sorted(res.labels)
        cold = None
        if name == "Q3":
            def cold_run():
                paramcache.clear()
                return run()
            cold, _ = median_time(cold_run)
        warm, answer = median_time(run)
        hand_t = same = None
        if name in hand:
            hand_t, hand_rows = median_time(lambda: raw.execute(hand[name]).fetchall())
            hand_answer = hand_rows[0][0] if name == "Q1#" else sorted(r[0] for r in hand_rows)
            same = hand_answer == answer
        rows.append({"backend": backend, "size": size, "query": name, "smtql": warm,
                     "smtql_cold": cold, "api": api[name], "api_sampled": sampled,
                     "sql": hand_t, "same": same,
                     "answer": answer if isinstance(answer, int) else len(answer)})
    base, cli = cold_cli(uri)
    rows.append({"backend": backend, "size": size, "query": "CLI count (cold)", "smtql": cli,
                 "python": base})
    rows.append({"backend": backend, "size": size, "query": "count peak MB",
                 "mem": peak_count_memory(uri)})
    conn.close()
    raw.close()
    if backend == "postgres" and not keep:
        import psycopg
        with psycopg.connect(PG_BASE + "/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "smtql_bench_{size}" WITH (FORCE)')
    return rows


def fmt(t):
    if t is None:
        return "—"
    return f"{t * 1000:.1f} ms" if t < 10 else f"{t:.0f} s"


def table(rows: list[dict]) -> str:
    lines = ["| backend | records | query | answer | smtql | Sumatra API | × API | hand SQL | × SQL | same |",
             "|---|--:|---|--:|--:|--:|--:|--:|--:|---|"]
    for r in rows:
        if r["query"] == "CLI count (cold)":
            lines.append(f"| {r['backend']} | {r['size']:,} | {r['query']} | | {fmt(r['smtql'])} | "
                         f"python -c pass {fmt(r['python'])} | {r['smtql'] / r['python']:.1f}× "
                         f"python | | | |")
            continue
        if r["query"] == "count peak MB":
            lines.append(f"| {r['backend']} | {r['size']:,} | peak memory of Q1# | | "
                         f"{r['mem']:.0f} MB | | | | | |")
            continue
        smt = fmt(r["smtql"]) + (f" (cold {fmt(r['smtql_cold'])})" if r["smtql_cold"] else "")
        api = fmt(r["api"]) + ("*" if r["api_sampled"] else "")
        x_api = f"{r['api'] / r['smtql']:.0f}×" + (
            f" (cold {r['api'] / r['smtql_cold']:.0f}×)" if r["smtql_cold"] else "")
        x_sql = f"{r['smtql'] / r['sql']:.2f}" if r["sql"] else "—"
        same = {True: "yes", False: "NO", None: "—"}[r["same"]]
        lines.append(f"| {r['backend']} | {r['size']:,} | {r['query']} | {r['answer']} | {smt} | "
                     f"{api} | {x_api} | {fmt(r['sql'])} | {x_sql} | {same} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--sizes", nargs="+", default=["1e4", "1e5"])
    p.add_argument("--backends", nargs="+", default=["sqlite"], choices=["sqlite", "postgres"])
    p.add_argument("--api-sample", type=int, default=1000)
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="smtql-bench-"))
    rows = []
    for backend in args.backends:
        for size in (int(float(s)) for s in args.sizes):
            print(f"{backend} {size:,} …", file=sys.stderr)
            rows += bench(backend, size, work, args.api_sample, args.keep)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print(table(rows))
    print("\n* Sumatra API timed on a sample of the records and extrapolated linearly. "
          "× SQL: smtql time / hand-written SQL time. Q3 has no hand-written SQL (parameter "
          "sets must be parsed).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
