"""smtql against hand-written SQL and Sumatra's API on grown stores, in one run.

    python -m benchmarks.run [--backends sqlite postgres mysql] [--sizes N …]
                             [--work DIR] [--timeout 120] [--api-sample 500]

Stores (benchmarks/grow.py, cached in --work and reused while their marker
says they are whole): a project made by Sumatra (`python -m smtql.demo
build`, 300 records saved with RecordStore.save) grown with batched SQL to
the size, every record with its own parameter set, tags in the tag tables
and the tags column, output keys, never ANALYZEd, no index added, Sumatra's
schema. Default sizes: SQLite 10^4 and 10^5, PostgreSQL 10^6 (database
smtql_bench_1000000), MariaDB 10^5 (smtql_bench_100000); --sizes replaces
them for every backend chosen.

Every smtql figure is taken in a child process (so a slow query hits
--timeout and prints "timeout", and its peak memory is its own):

- the Python API (`smtql.connect(store=…).query(…)`): the first query in a
  fresh process ("fresh", connecting included) and the median of up to 3 in
  that process ("warm");
- the command line, cold (a new interpreter, as a user types it, with
  bytecode as an installed package has it; best of 5):
  `tag finished latest 20`, and the parameter count (first run with an empty
  cache directory: "first build"; then best of 3: "index exists");
- hand-written SQL returning the same rows (labels checked equal) with the
  columns of smtql's default table, or the same count;
- Sumatra's API the smttask way (records loaded, then a Python predicate):
  a sample of --api-sample records timed in a child and extrapolated
  linearly (marked *);
- `tag bench-x where all` on a copy of each SQLite store (journal in --work);
- `smtql --store S 'count tag finished'` against `python -c pass`.

The table ends with the targets of the speed issue and whether each is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.grow import connect, grow  # noqa: E402

PG_BASE = os.environ.get("SMTQL_BENCH_POSTGRES", "postgres://root@127.0.0.1")
MYSQL_BASE = os.environ.get("SMTQL_BENCH_MYSQL", "mysql://root@127.0.0.1")
DEFAULT_SIZES = {"sqlite": [10_000, 100_000], "postgres": [1_000_000], "mysql": [100_000]}
GROW_SEED, DEMO_SEED, DEMO_RECORDS = 3, 11, 300
GROW_VERSION = 2  # bump when grow.py makes different stores
FIRST_BUILD_TIMEOUT = 900.0  # seconds the parameter index's first build may take

QUERIES = {
    "Q1": "tag finished and after 2020-09-12",
    "Q2": 'status crashed or stdout contains "Traceback"',
    "Q4": '(outcome = "converged" or reason contains "lr") and duration > 1h and not tag figure1',
    "Q5": "tag finished latest 20",
    "Q1#": "count tag finished and after 2020-09-12",
    "Q2#": 'count status crashed or stdout contains "Traceback"',
    "Q4#": 'count (outcome = "converged" or reason contains "lr") and duration > 1h '
           'and not tag figure1',
    "Q3#": 'count optimizer.lr = 0.01 and optimizer.model.kind = "gru"',
}


def env(extra: dict | None = None) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in e.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    e.pop("DJANGO_SETTINGS_MODULE", None)
    # As an installed package runs: with bytecode (pip compiles it when it
    # installs). Without it every cold start compiles smtql again (0.1-0.2 s).
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e.update(extra or {})
    return e


# ------------------------------------------------------------------ hand-written SQL

def hand_sql(dialect: str, ct: int, project: str) -> dict[str, str]:
    """SQL a careful person writes for each query, returning smtql's default
    columns (label, timestamp, tags, reason, outcome, main_file, duration),
    or the count. Tag lookups go through the tag name; the content-type test
    is written so that no planner picks the content_type_id index for it
    (DESIGN.md, principle 2)."""
    ct_test = f"+ti.content_type_id = {ct}" if dialect == "sqlite" else (
        f"ti.content_type_id + 0 = {ct}")

    def tagged(*names):
        quoted = ", ".join(f"'{n}'" for n in names)
        return (f"r.db_id IN (SELECT ti.object_id FROM django_store_taggeditem ti JOIN "
                f"django_store_tag t ON t.id = ti.tag_id WHERE t.name IN ({quoted}) AND {ct_test})")

    def contains(col, s):
        if dialect == "sqlite":
            return f"instr({col}, '{s}') > 0"
        if dialect == "postgresql":
            return f"strpos({col}, '{s}') > 0"
        return f"instr({col} COLLATE utf8mb4_bin, '{s}') > 0"

    after = "'2020-09-12 00:00:00+00'" if dialect == "postgresql" else "'2020-09-12 00:00:00'"
    agg = "string_agg(t.name, ',')" if dialect == "postgresql" else "group_concat(t.name)"
    cols = (f"r.label, r.timestamp, (SELECT {agg} FROM django_store_taggeditem ti JOIN "
            f"django_store_tag t ON t.id = ti.tag_id WHERE ti.object_id = r.db_id AND {ct_test}), "
            f"r.reason, r.outcome, r.main_file, r.duration")
    base = f"FROM django_store_record r WHERE r.project_id = '{project}' AND "
    where = {
        "Q1": f"{tagged('finished', '_finished_')} AND r.timestamp >= {after}",
        "Q2": f"({tagged('_crashed_')} OR {contains('r.stdout_stderr', 'Traceback')})",
        "Q4": f"(r.outcome = 'converged' OR {contains('r.reason', 'lr')}) AND r.duration > 3600 "
              f"AND NOT {tagged('figure1')}",
    }
    out = {k: f"SELECT {cols} {base}{w}" for k, w in where.items()}
    out.update({k + "#": f"SELECT COUNT(*) {base}{w}" for k, w in where.items()})
    out["Q5"] = (f"SELECT {cols} {base}{tagged('finished', '_finished_')} "
                 f"ORDER BY r.timestamp DESC, r.label LIMIT 20")
    return out


def timed_sql(conn, dialect: str, sql: str, timeout: float, repeat: int = 3):
    """(median seconds, rows, median CPU seconds of this process: SQLite's
    work, the servers' not), or (None, None, None) when stopped by the
    timeout."""
    cur = conn.cursor()
    deadline = [0.0]
    if dialect == "postgresql":
        cur.execute(f"SET statement_timeout = {int(timeout * 1000)}")
    elif dialect == "mysql":
        cur.execute(f"SET SESSION max_statement_time = {timeout}")
    else:
        conn.set_progress_handler(lambda: 1 if time.perf_counter() > deadline[0] else 0, 10000)
    times, cpu, rows = [], [], None
    try:
        for _ in range(repeat):
            deadline[0] = time.perf_counter() + timeout
            t, c = time.perf_counter(), time.process_time()
            cur.execute(sql)
            rows = cur.fetchall()
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            if times[0] > 5:
                break
    except Exception as err:  # noqa: BLE001 - a cancelled statement
        print(f"    hand SQL stopped: {type(err).__name__}: {err}", file=sys.stderr)
        conn.rollback()
        return None, None, None
    finally:
        if dialect == "sqlite":
            conn.set_progress_handler(None, 0)
    conn.commit()
    return statistics.median(times), rows, statistics.median(cpu)


# ------------------------------------------------------------------ stores

def _server_db(backend: str, name: str, create: bool) -> str:
    if backend == "postgres":
        if create:
            import psycopg
            with psycopg.connect(PG_BASE + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'")
        return f"{PG_BASE}/{name}"
    if create:
        import pymysql
        from urllib.parse import urlparse
        u = urlparse(MYSQL_BASE)
        conn = pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username or "root",
                               password=u.password or "", autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
    return f"{MYSQL_BASE}/{name}"


def _count(uri: str) -> int | None:
    try:
        conn, _, _ = connect(uri)
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM django_store_record")
        n = cur.fetchone()[0]
        conn.close()
        return n
    except Exception:  # noqa: BLE001 - no such store
        return None


def build(backend: str, size: int, work: Path) -> str:
    """The grown store's URI; built unless a whole one is cached in `work`."""
    directory = work / f"{backend}-{size}"
    marker = directory / "grown.json"
    want = {"backend": backend, "size": size, "grow_seed": GROW_SEED, "demo_seed": DEMO_SEED,
            "version": GROW_VERSION}
    name = f"smtql_bench_{size}"
    uri = (str(directory / ".smt" / "records") if backend == "sqlite"
           else _server_db(backend, name, create=False))
    if marker.exists():
        got = json.loads(marker.read_text())
        if {k: got.get(k) for k in want} == want and _count(uri) == size:
            print(f"  reusing {uri} ({size:,} records)", file=sys.stderr)
            return uri
    if directory.exists():
        shutil.rmtree(directory)
    if backend != "sqlite":
        uri = _server_db(backend, name, create=True)
    cmd = [sys.executable, "-m", "smtql.demo", "build", str(directory), "--records",
           str(min(DEMO_RECORDS, size)), "--seed", str(DEMO_SEED), "--no-runs", "--quiet"]
    if backend != "sqlite":
        cmd += ["--store", uri]
    subprocess.run(cmd, check=True, env=env())
    t = time.perf_counter()
    grow(uri, size, seed=GROW_SEED, progress=True)
    took = time.perf_counter() - t
    print(f"  grew {backend} to {size:,} records in {took:.0f} s", file=sys.stderr)
    marker.write_text(json.dumps(dict(want, uri=uri, grow_seconds=round(took, 1))))
    return uri


# ------------------------------------------------------------------ children

_SMTQL_CHILD = textwrap.dedent("""\
    import json, sys, time
    import smtql
    uri, text, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def answer(res):
        if hasattr(res, "labels"):
            return res.labels
        if hasattr(res, "count"):
            return res.count
        return getattr(res, "data", None)
    t0 = time.perf_counter()
    conn = smtql.connect(store=uri)
    times, cpu, got = [], [], None
    for i in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        got = answer(conn.query(text))
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if i == 0:
            fresh = time.perf_counter() - t0
        if times[0] > 5:
            break
    hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
    print(json.dumps({"fresh": fresh, "warm": sorted(times)[len(times) // 2], "runs": len(times),
                      "warm_cpu": sorted(cpu)[len(cpu) // 2], "answer": got,
                      "peak_mb": int(hwm) / 1024}))
""")


def smtql_child(uri: str, text: str, timeout: float, repeat: int = 3, extra_env=None):
    """smtql's Python API in a new process: fresh (first query, connecting
    included), warm (median of up to `repeat`), answer, peak_mb (VmHWM); None
    on timeout."""
    try:
        proc = subprocess.run([sys.executable, "-c", _SMTQL_CHILD, uri, text, str(repeat)],
                              capture_output=True, text=True, env=env(extra_env), timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:  # reported, and counted as no answer
        print(f"    smtql failed on {text!r}:\n{proc.stderr[-1500:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


def cli_prefix() -> list[str]:
    """The `smtql` command as pyproject.toml declares it, run by this
    interpreter with this tree first on the path, wherever the module lives."""
    text = (ROOT / "pyproject.toml").read_text()
    m = re.search(r'^smtql\s*=\s*"([\w.]+):(\w+)"', text, re.M)
    module, func = m.groups() if m else ("smtql.cli", "main")
    return [sys.executable, "-c", f"import sys; from {module} import {func}; sys.exit({func}())"]


def timed_cmd(cmd: list[str], timeout: float, repeat: int = 5, extra_env=None):
    """Best wall time of `repeat` new processes, the peak RSS of the last
    (ru_maxrss through GNU time, MB) and its stdout; None on timeout."""
    gnu_time = os.path.exists("/usr/bin/time")
    full = (["/usr/bin/time", "-f", "%M"] + cmd) if gnu_time else cmd
    best = out = peak = best_cpu = None
    for _ in range(repeat):
        t, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                                  env=env(extra_env))
        except subprocess.TimeoutExpired:
            return None
        elapsed = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
        if proc.returncode != 0:
            print(f"    {cmd[-1]!r} failed:\n{proc.stderr[-1500:]}", file=sys.stderr)
            return None
        if gnu_time:
            peak = int(proc.stderr.strip().splitlines()[-1]) / 1024
        best = elapsed if best is None else min(best, elapsed)
        out = proc.stdout
        if elapsed > 10:
            break
    return {"time": best, "peak_mb": peak, "stdout": out, "cpu": best_cpu}


_API_CHILD = textwrap.dedent("""\
    import json, sys, time
    from datetime import datetime, timezone
    uri, project, sample = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if uri.startswith("mysql"):
        import pymysql
        pymysql.version_info = max(getattr(pymysql, "version_info", (0,)), (2, 2, 1, "final", 0))
        pymysql.install_as_MySQLdb()
    from sumatra.recordstore.django_store import DjangoRecordStore, db_config
    if not db_config.configured:
        db_config.update_settings(DEBUG=False)
    store = DjangoRecordStore(uri)
    t = time.perf_counter()
    # what RecordStore.list(project) does, on the first `sample` records
    records = [r.to_sumatra() for r in
               store._manager.filter(project__id=project).select_related()[:sample]]
    load = time.perf_counter() - t
    after = datetime(2020, 9, 12, tzinfo=timezone.utc)
    def utc(ts):
        return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    def fin(r):
        return "finished" in r.tags or "_finished_" in r.tags
    def param(r, *path):
        node = r.parameters.as_dict() if hasattr(r.parameters, "as_dict") else r.parameters
        for key in path:
            while isinstance(node, dict) and key not in node and "inputs" in node:
                node = node["inputs"]
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node
    q1 = lambda r: fin(r) and utc(r.timestamp) >= after
    q2 = lambda r: "_crashed_" in r.tags or "Traceback" in (r.stdout_stderr or "")
    q4 = lambda r: ((r.outcome == "converged" or "lr" in r.reason)
                    and (r.duration or 0) > 3600 and "figure1" not in r.tags)
    q3 = lambda r: (param(r, "optimizer", "lr") in (0.01, "0.01")
                    and param(r, "optimizer", "model", "kind") == "gru")
    preds = {"Q1": q1, "Q1#": q1, "Q2": q2, "Q2#": q2, "Q4": q4, "Q4#": q4, "Q3#": q3, "Q5": fin}
    out = {"load": load, "n": len(records), "eval": {}}
    for name, keep in preds.items():
        t = time.perf_counter()
        hits = [r for r in records if keep(r)]
        if name == "Q5":
            hits = sorted(hits, key=lambda r: r.timestamp, reverse=True)[:20]
        out["eval"][name] = time.perf_counter() - t
    print(json.dumps(out))
""")


def api_times(uri: str, size: int, sample: int, timeout: float) -> tuple[dict, bool]:
    try:
        proc = subprocess.run([sys.executable, "-c", _API_CHILD, uri, "demo", str(sample)],
                              capture_output=True, text=True, env=env(), timeout=timeout * 3)
    except subprocess.TimeoutExpired:
        return {}, True
    if proc.returncode != 0:
        print(f"  Sumatra API child failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return {}, True
    got = json.loads(proc.stdout)
    scale = size / got["n"]
    return {k: (got["load"] + v) * scale for k, v in got["eval"].items()}, got["n"] < size


def tag_all(uri: str, size: int, work: Path, timeout: float):
    """`tag bench-x where all` through smtql's API, on a copy of an SQLite store."""
    copy = work / f"tagcopy-{size}.sqlite"
    shutil.copyfile(uri, copy)
    journals = work / "journals"
    shutil.rmtree(journals, ignore_errors=True)  # the copy's journal of earlier runs
    try:
        return smtql_child(str(copy), "tag bench-x where all", timeout, repeat=1,
                           extra_env={"SMTQL_JOURNAL_DIR": str(journals)})
    finally:
        copy.unlink(missing_ok=True)


# ------------------------------------------------------------------ one store

def fmt(t):
    if t is None:
        return "timeout"
    return f"{t * 1000:.0f} ms" if t < 1 else f"{t:.2f} s" if t < 100 else f"{t:.0f} s"


def bench(backend: str, size: int, work: Path, sample: int, timeout: float) -> dict:
    print(f"{backend} {size:,} …", file=sys.stderr)
    uri = build(backend, size, work)
    raw, _, dialect = connect(uri)
    cur = raw.cursor()
    cur.execute("SELECT id FROM django_content_type WHERE app_label = 'django_store' "
                "AND model = 'record'")
    ct = cur.fetchone()[0]
    cur.execute("SELECT COUNT(*), COUNT(DISTINCT parameters_id) FROM django_store_record")
    _, n_sets = cur.fetchone()
    raw.commit()
    hand = hand_sql(dialect, ct, "demo")
    out = {"backend": backend, "size": size, "uri": uri, "sets": n_sets, "q": {}}
    print("  Sumatra API sample …", file=sys.stderr)
    api, sampled = api_times(uri, size, sample, timeout)
    for name, text in QUERIES.items():
        print(f"  {name}: {text}", file=sys.stderr)
        row = {"text": text, "api": api.get(name), "api_sampled": sampled}
        if name == "Q3#":  # a fresh process each: first with an empty cache, then again
            cache = work / f"cache-{backend}-{size}"
            shutil.rmtree(cache, ignore_errors=True)
            cache_env = {"XDG_CACHE_HOME": str(cache), "SMTQL_CACHE_DIR": str(cache)}
            cmd = cli_prefix() + ["--store", uri, "--format", "json", text]
            # the first build has a target of its own (≤ 30 s at 10^5, ≤ 5 min at 10^6):
            # it is timed to its end, not stopped at a query's --timeout
            row["cli_first"] = timed_cmd(cmd, max(timeout, FIRST_BUILD_TIMEOUT), repeat=1,
                                         extra_env=cache_env)
            row["cli"] = (timed_cmd(cmd, timeout, repeat=3, extra_env=cache_env)
                          if row["cli_first"] else None)
            row["smtql"] = smtql_child(uri, text, timeout, extra_env=cache_env)
            shutil.rmtree(cache, ignore_errors=True)
        else:
            row["smtql"] = smtql_child(uri, text, timeout)
        if name == "Q5":
            row["cli"] = timed_cmd(cli_prefix() + ["--store", uri, "--format", "labels", text],
                                   timeout)
        if name in hand:
            t, rows, row["sql_cpu"] = timed_sql(raw, dialect, hand[name], timeout)
            row["sql"] = t
            if rows is not None:
                want = rows[0][0] if name.endswith("#") else [r[0] for r in rows]
                row["sql_answer"] = want
                got = row["smtql"]["answer"] if row["smtql"] else None
                if got is not None:
                    row["same"] = (got == want) if name.endswith("#") else (
                        sorted(got) == sorted(want) and (name != "Q5" or got == want))
                if name == "Q5" and row.get("cli"):
                    row["cli_same"] = row["cli"]["stdout"].split() == want
        out["q"][name] = row
        s = row["smtql"]
        print(f"    smtql {fmt(s and s['warm'])}, hand SQL "
              f"{fmt(row['sql']) if 'sql' in row else '—'}", file=sys.stderr)
    raw.close()
    if backend == "sqlite":
        print("  tag x where all …", file=sys.stderr)
        out["tag"] = tag_all(uri, size, work, timeout)
    print("  cold CLI …", file=sys.stderr)
    out["python"] = timed_cmd([sys.executable, "-c", "pass"], timeout, repeat=7)
    out["cli_count"] = timed_cmd(cli_prefix() + ["--store", uri, "count tag finished"], timeout,
                                 repeat=7)
    return out


# ------------------------------------------------------------------ the table

def mb(x) -> str:
    return f"{x['peak_mb']:.0f}" if x and x.get("peak_mb") else "—"


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "—"


def cpu_of(x, key: str) -> str:
    return f" (CPU {fmt(x[key])})" if x and x.get(key) is not None else ""


def cpu_ratio(backend, s, row) -> str:
    """smtql's CPU time over hand SQL's, both in one process: on SQLite the
    database's work is the process's, so the ratio holds on a machine
    others load (wall times there stretch with the load, unevenly)."""
    if backend != "sqlite" or not s or row.get("sql_cpu") is None or "warm_cpu" not in s:
        return "—"
    return ratio(s["warm_cpu"], row["sql_cpu"])


def _le(value, limit):
    return None if value is None and limit is None else (value is not None and value <= limit)


def targets(r: dict) -> list[tuple]:
    """(what, measured, limit, met) for the targets that concern this store."""
    b, n, q = r["backend"], r["size"], r["q"]
    t = []

    def warm(name):
        s = q[name]["smtql"]
        return s["warm"] if s else None

    if (b == "sqlite" and n >= 100_000) or b == "postgres" or b == "mysql":
        lim, names = (2.0, ("Q1", "Q2", "Q4")) if b == "sqlite" else (1.5, ("Q1#", "Q2#", "Q4#"))
        for name in names:
            w, s = warm(name), q[name].get("sql")
            t.append((f"{name} `{q[name]['text']}`: smtql / hand SQL",
                      ratio(w, s) if w is not None else "timeout", f"≤ {lim}×",
                      _le(w / s, lim) if w is not None and s else (False if w is None else None)))
        cli = q["Q5"].get("cli")
        lim = 0.3 if b == "sqlite" else 1.0
        t.append(("Q5 `tag finished latest 20` at the CLI, cold", fmt(cli and cli["time"]),
                  f"≤ {lim} s", _le(cli and cli["time"], lim)))
        first, again = q["Q3#"].get("cli_first"), q["Q3#"].get("cli")
        lim_t, lim_m = (0.2, 200) if b == "sqlite" else (1.0, 300)
        t.append(("Q3# parameter count in a fresh process (CLI), index exists",
                  fmt(again and again["time"]), f"≤ {lim_t} s", _le(again and again["time"], lim_t)))
        if b == "sqlite":
            t.append(("Q3# parameter count, first build (CLI, empty cache)",
                      fmt(first and first["time"]), "≤ 30 s", _le(first and first["time"], 30)))
            peaks = [s["smtql"]["peak_mb"] for s in q.values() if s["smtql"]]
            peaks += [c["peak_mb"] for c in (q["Q5"].get("cli"), first, again) if c and c["peak_mb"]]
            timed_out = any(s["smtql"] is None for s in q.values())
            peak = max(peaks) if peaks else None
            t.append(("peak memory of any of these, fresh process"
                      + (" (of those that finished)" if timed_out else ""),
                      f"{peak:.0f} MB" if peak else "—", f"≤ {lim_m} MB",
                      (peak <= lim_m) if peak else None))
        else:
            s, c = q["Q3#"]["smtql"], again
            peak = max([x["peak_mb"] for x in (s, c) if x and x.get("peak_mb")] or [0]) or None
            t.append(("Q3# parameter count, peak memory", f"{peak:.0f} MB" if peak else "—",
                      f"≤ {lim_m} MB", (peak <= lim_m) if peak else False))
    if b == "sqlite" and n in (10_000, 100_000):
        lim = 1.0 if n == 10_000 else 5.0
        tg = r.get("tag")
        t.append((f"`tag x where all` on {n:,}", fmt(tg and tg["fresh"]), f"≤ {lim:g} s",
                  _le(tg and tg["fresh"], lim)))
    py, cli = r["python"], r["cli_count"]
    t.append(("cold `smtql --store S 'count tag finished'` / `python -c pass`",
              f"{fmt(cli and cli['time'])} / {fmt(py['time'])} = "
              f"{ratio(cli and cli['time'], py['time'])}", "≤ 8×",
              _le(cli and cli["time"] / py["time"], 8)))
    return t


def table(results: list[dict]) -> str:
    lines = ["| backend | records | query | answer | smtql warm | smtql fresh | CLI cold | "
             "peak MB | hand SQL | × SQL | × SQL (CPU) | same | Sumatra API | API / smtql |",
             "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|"]
    for r in results:
        head = f"| {r['backend']} | {r['size']:,} |"
        for name, row in r["q"].items():
            s, cli = row["smtql"], row.get("cli")
            cli_txt = (fmt(cli["time"]) + cpu_of(cli, "cpu")) if cli else (
                "timeout" if "cli" in row else "")
            if name == "Q3#":
                first = row.get("cli_first")
                cli_txt = f"first {fmt(first and first['time'])}, again {cli_txt}"
            if s:
                ans = s["answer"] if isinstance(s["answer"], int) else len(s["answer"])
            else:
                sa = row.get("sql_answer")
                ans = "" if sa is None else (sa if isinstance(sa, int) else len(sa))
            peak = [x["peak_mb"] for x in (s, cli, row.get("cli_first")) if x and x.get("peak_mb")]
            same = {True: "yes", False: "**NO**", None: "—"}[row.get("same")]
            if name == "Q5" and "cli_same" in row:
                same += " (CLI " + ("yes" if row["cli_same"] else "**NO**") + ")"
            api = row.get("api")
            lines.append(
                f"{head} {name} `{row['text']}` | {ans} | {fmt(s and s['warm'])} | "
                f"{fmt(s and s['fresh'])} | {cli_txt} | {f'{max(peak):.0f}' if peak else '—'} | "
                f"{fmt(row['sql']) if 'sql' in row else '—'} | "
                f"{(ratio(s['warm'], row.get('sql')) if s else 'timeout') if 'sql' in row else '—'} | "
                f"{cpu_ratio(r['backend'], s, row)} | "
                f"{same} | {(fmt(api) + ('*' if row['api_sampled'] else '')) if api else '—'} | "
                f"{ratio(api, s['warm']) if s and api else '—'} |")
        if r["backend"] == "sqlite":
            tg = r.get("tag")
            changed = tg["answer"].get("changed") if tg and isinstance(tg["answer"], dict) else ""
            lines.append(f"{head} `tag bench-x where all` (on a copy) | {changed} | | "
                         f"{fmt(tg and tg['fresh'])}{cpu_of(tg, 'warm_cpu')} | | "
                         f"{mb(tg)} "
                         f"| | | | | | |")
        py, cli = r["python"], r["cli_count"]
        lines.append(f"{head} cold CLI `count tag finished` | | | | {fmt(cli and cli['time'])} "
                     f"(python -c pass {fmt(py['time'])}: {ratio(cli and cli['time'], py['time'])}; "
                     f"CPU {fmt(cli and cli.get('cpu'))} / {fmt(py.get('cpu'))}: "
                     f"{ratio(cli and cli.get('cpu'), py.get('cpu'))}) | "
                     f"{mb(cli)} | | | | | | |")
    lines += ["", "| store | target | measured | limit | |", "|---|---|--:|--:|---|"]
    for r in results:
        for what, measured, limit, ok in targets(r):
            lines.append(f"| {r['backend']} {r['size']:,} | {what} | {measured} | {limit} | "
                         f"{ {True: 'met', False: '**MISSED**', None: '—'}[ok] } |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--backends", nargs="+", default=["sqlite"],
                   choices=["sqlite", "postgres", "mysql"])
    p.add_argument("--sizes", nargs="+", default=None,
                   help="sizes for every backend chosen (default: SQLite 1e4 1e5, "
                        "PostgreSQL 1e6, MariaDB 1e5)")
    p.add_argument("--api-sample", type=int, default=500)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per query")
    p.add_argument("--work", type=Path,
                   default=Path(os.environ.get("SMTQL_BENCH_WORK",
                                               Path(tempfile.gettempdir()) / "smtql-bench")),
                   help="where grown stores are cached and reused")
    p.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for backend in args.backends:
        sizes = [int(float(s)) for s in args.sizes] if args.sizes else DEFAULT_SIZES[backend]
        for size in sizes:
            results.append(bench(backend, size, args.work, args.api_sample, args.timeout))
            if args.json:
                args.json.write_text(json.dumps(results, indent=1, default=str))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
          f"timeout {args.timeout:g} s per query")
    for r in results:
        print(f"store: {r['backend']} {r['size']:,} records, {r['sets']:,} distinct parameter "
              f"sets ({r['uri']})")
    print()
    print(table(results))
    print("\nsmtql warm: median of up to 3 queries in one process; fresh: the first query of a "
          "new process, connecting included (not the interpreter's start); CLI cold: a new "
          "interpreter, best of 5 (Q3#: the first run with an empty cache directory, then best "
          "of 3); peak MB: VmHWM (API) or ru_maxrss (CLI) of that process. × SQL: smtql warm / "
          "hand SQL (median of 3); × SQL (CPU): the same of the CPU time of each process (SQLite "
          "only: the database works in the process), which a loaded machine stretches far less; "
          "(CPU …): a process's user + system time. * Sumatra API: the first records of the store "
          "loaded as "
          "RecordStore.list does and filtered in Python, extrapolated linearly. Q3# has no "
          "hand-written SQL (parameter sets must be parsed).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
