"""Tagging 10^4 records: smtql's `tag` statement against Sumatra's API one
record at a time, as `smt tag` does it, in one run.

    python -m benchmarks.bench_tag [--size 10000] [--api-sample 200] [--work DIR]

The store: a Sumatra project (`python -m smtql.demo build`, 300 records
saved with RecordStore.save) grown to --size records the way real projects
grow (benchmarks/grow.py: a parameter set per record, tags in the tag tables
and the tags column, never analysed), on SQLite. Then

- smtql: `tag bench-smtql where all` through smtql's Python API (one
  transaction, journalled; the statement is the confirmation), timed whole;
  and its `undo`;
- Sumatra: for a sample of --api-sample records, in a child process (one
  Django store per process), what `smt tag` does per record:
  `record = store.get(project, label)`, `record.tags.add(tag)`,
  `store.save(project, record)`; extrapolated linearly to --size (the
  table says so).

Both results are checked with Sumatra's API afterwards (the tagged labels
from `RecordStore.list(tags=[…])`). Targets: smtql at most 1 s for 10^4
records (5 s for 10^5), at least 100x faster than the API.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_QUIET = """\
from sumatra.recordstore.django_store import db_config
if not db_config.configured:
    db_config.update_settings(DEBUG=False)
"""

_API_CHILD = _QUIET + textwrap.dedent("""\
    import json, sys, time
    from sumatra.recordstore.django_store import DjangoRecordStore
    uri, project, tag, labels = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    store = DjangoRecordStore(uri)
    store.get(project, labels[0])  # Django set up before the clock starts
    t = time.perf_counter()
    for label in labels:  # sumatra.commands.tag: get, add, save, per record
        record = store.get(project, label)
        record.tags.add(tag)
        store.save(project, record)
    elapsed = time.perf_counter() - t
    tagged = sorted(r.label for r in store.list(project, tags=[tag]))
    print(json.dumps({"elapsed": elapsed, "n": len(labels), "tagged": tagged}))
""")

_CHECK_CHILD = _QUIET + textwrap.dedent("""\
    import json, sys
    from sumatra.recordstore.django_store import DjangoRecordStore
    store = DjangoRecordStore(sys.argv[1])
    print(json.dumps(len(store.list(sys.argv[2], tags=[sys.argv[3]]))))
""")


def child(code: str, *args) -> object:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("SMTQL_FAULT", None)
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout)


def build(size: int, work: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from benchmarks.grow import grow
    directory = work / f"sqlite-{size}"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "smtql.demo", "build", str(directory), "--records",
                    str(min(300, size)), "--seed", "11", "--no-runs", "--quiet"],
                   check=True, env=env)
    uri = str(directory / ".smt" / "records")
    t = time.perf_counter()
    grow(uri, size, seed=3)
    print(f"built {size:,} records in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return uri


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_tag",
                                description=__doc__.split("\n")[0])
    p.add_argument("--size", type=float, default=1e4)
    p.add_argument("--api-sample", type=int, default=200)
    p.add_argument("--work", type=Path, default=None)
    args = p.parse_args(argv)
    size = int(args.size)
    work = args.work or Path(tempfile.mkdtemp(prefix="smtql-bench-tag-"))
    os.environ.setdefault("SMTQL_JOURNAL_DIR", str(work / "journals"))
    uri = build(size, work)

    import smtql
    conn = smtql.connect(store=uri)
    labels = conn.query("all").labels
    assert len(labels) == size, len(labels)

    t = time.perf_counter()
    res = conn.query("tag bench-smtql where all")
    smtql_tag = time.perf_counter() - t
    assert res.data["changed"] == size, res.text
    t = time.perf_counter()
    undo = conn.query("undo")
    smtql_undo = time.perf_counter() - t
    assert undo.data["changed"] == size, undo.text
    t = time.perf_counter()
    res = conn.query("tag bench-smtql where all")
    smtql_again = time.perf_counter() - t
    conn.close()
    checked = child(_CHECK_CHILD, uri, "demo", "bench-smtql")
    assert checked == size, f"Sumatra reads {checked} records tagged, not {size}"

    sample = labels[:: max(1, size // args.api_sample)][:args.api_sample]
    api = child(_API_CHILD, uri, "demo", "bench-api", json.dumps(sample))
    assert api["tagged"] == sorted(sample), "Sumatra's own tagging lost records"
    per_record = api["elapsed"] / api["n"]
    api_total = per_record * size

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
          f"SQLite store {uri}")
    rows = [
        ("smtql `tag bench-smtql where all`", size, smtql_tag, ""),
        ("smtql `undo` of it", size, smtql_undo, ""),
        ("smtql `tag` again (after undo)", size, smtql_again, ""),
        ("Sumatra API get + tags.add + save (as `smt tag`)", size, api_total,
         f"* {api['n']} records timed ({api['elapsed']:.2f} s, "
         f"{per_record * 1000:.1f} ms each), extrapolated"),
    ]
    print("| how | records | time | note |")
    print("|---|--:|--:|---|")
    for what, n, t, note in rows:
        print(f"| {what} | {n:,} | {t:.2f} s | {note} |")
    ratio = api_total / smtql_tag
    limit = 1.0 if size <= 10_000 else 5.0
    print(f"\nsmtql tag: {smtql_tag:.2f} s for {size:,} records (target <= {limit:g} s: "
          f"{'met' if smtql_tag <= limit else 'MISSED'}); Sumatra's API, extrapolated: "
          f"{api_total:.0f} s; ratio {ratio:.0f}x (target >= 100x: "
          f"{'met' if ratio >= 100 else 'MISSED'})")
    print("Both checked with Sumatra's RecordStore.list(tags=[...]) afterwards.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
