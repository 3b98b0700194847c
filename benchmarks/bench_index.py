"""The parameter index (issue 10, item 3): first build, a parameter count in
a fresh process once the index exists, bringing it up to date after new
records, and peak memory, against the in-memory path (--no-index).

    python -m benchmarks.bench_index [--backend sqlite|postgres] [--size N] [--work DIR]

Stores are grown by benchmarks.run.build (benchmarks/grow.py: one parameter
set per record, never ANALYZEd) and cached in --work. Each figure is one
fresh `smtql` process, timed from outside; peak memory is its VmHWM. The
index lives in a directory of its own under --work (SMTQL_INDEX_DIR).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .run import _count, build, env
from .grow import grow

COUNT = 'count optimizer.lr = 0.01 and optimizer.model.kind = "gru"'
_PEAK = ("import resource, runpy, sys; sys.argv = ['smtql'] + sys.argv[1:]\n"
         "try:\n    runpy.run_module('smtql', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "u = resource.getrusage(resource.RUSAGE_SELF)\n"
         "print(u.ru_utime + u.ru_stime, file=sys.stderr)\n"
         "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0],"
         " file=sys.stderr)")


def smtql(uri: str, *args: str, index_dir: Path) -> tuple[float, float, float, str]:
    """(seconds, CPU seconds, peak MB, stdout) of one fresh process. CPU
    seconds (user + system) do not depend on what else the machine runs."""
    e = dict(env(), SMTQL_INDEX_DIR=str(index_dir))
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _PEAK, "--store", uri, *args], env=e,
                       capture_output=True, text=True, check=True)
    took = time.perf_counter() - t
    cpu, peak = p.stderr.strip().splitlines()[-2:]
    return took, float(cpu), int(peak) / 1024, p.stdout.strip()


# The refresh alone (ParamIndex.refresh, within the first read transaction),
# timed inside a fresh process: what the target "the index brought up to
# date after 1,000 new records" is about, without start-up and the query.
_REFRESH = ("import sys, time\n"
            "from smtql.stores.registry import open_store\n"
            "from smtql.stores.django.reader import Query\n"
            "store = open_store(store=sys.argv[1], index=True)\n"
            "w, c = time.perf_counter(), time.process_time()\n"
            "with Query(store) as qy:\n"
            "    index = qy.param_index()\n"
            "print(time.perf_counter() - w, time.process_time() - c, index.built_now)\n")


def refresh_alone(uri: str, index_dir: Path) -> tuple[float, float, int]:
    """(seconds, CPU seconds, sets added) of bringing the index up to date."""
    e = dict(env(), SMTQL_INDEX_DIR=str(index_dir))
    p = subprocess.run([sys.executable, "-c", _REFRESH, uri], env=e, capture_output=True,
                       text=True, check=True)
    took, cpu, added = p.stdout.split()
    return float(took), float(cpu), int(added)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--work", default="/tmp/smtql-bench")
    ap.add_argument("--store", help="a store grown already (benchmarks/grow.py) to --size "
                    "records, instead of the one cached in --work")
    ap.add_argument("--skip-no-index", action="store_true",
                    help="leave out the run without the index (minutes at 10^6)")
    args = ap.parse_args(argv)
    work = Path(args.work)
    uri = args.store or build(args.backend, args.size, work)
    index_dir = work / f"index-{args.backend}-{args.size}"
    shutil.rmtree(index_dir, ignore_errors=True)
    rows = [("python + smtql, no parameters (count all)",) +
            smtql(uri, "--no-index", "count all", index_dir=index_dir)[:3]]
    answers = []
    if not args.skip_no_index:
        no_index = smtql(uri, "--no-index", COUNT, index_dir=index_dir)
        rows.append(("parameter count, --no-index",) + no_index[:3])
        answers.append(no_index[3])
    first = smtql(uri, COUNT, index_dir=index_dir)
    rows.append(("parameter count, first build of the index",) + first[:3])
    again = smtql(uri, COUNT, index_dir=index_dir)
    rows.append(("parameter count, index exists",) + again[:3])
    answers += [first[3], again[3]]
    assert len(set(answers)) == 1, answers
    grow(uri, _count(uri) + 1000, seed=99)  # 1,000 new records, each with its own set
    update = smtql(uri, COUNT, index_dir=index_dir)
    rows.append(("parameter count after 1,000 new records (index brought up to date)",)
                + update[:3])
    grow(uri, _count(uri) + 1000, seed=98)
    took, cpu, added = refresh_alone(uri, index_dir)
    assert added == 1000, added
    rows.append(("bringing the index up to date after 1,000 more, alone", took, cpu, math.nan))
    size = sum(f.stat().st_size for f in index_dir.iterdir())
    load = os.getloadavg()[0]
    print(f"| {args.backend} {args.size:,} records (load {load:.1f}) | seconds | CPU seconds "
          f"| peak MB |\n|---|--:|--:|--:|")
    for name, t, cpu, mb in rows:
        print(f"| {name} | {t:.2f} | {cpu:.2f} | {'—' if mb != mb else f'{mb:.0f}'} |")
    print(f"\nindex on disk: {size / 1e6:.0f} MB; answer {again[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
