"""How `diff where` and `keys` scale: 10^4 records (by default) with
distinct parameter sets, nested and partly task-described, in memory, so the
figure is the cost of comparing, not of reading a store. Prints seconds.

    python benchmarks/bench_diff.py [N]

Cost is meant to grow with records × keys; the second line (2N records)
should take about twice as long as the first, not four times.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone

from smtql.language import parser
from smtql.executor import Executor
from smtql.stores.rows import Row
from smtql.stores.base import Store


def make_rows(n: int, seed: int = 0) -> list[Row]:
    rng = random.Random(seed)
    start = datetime(2020, 9, 1, tzinfo=timezone.utc)
    rows = []
    for i in range(n):
        params = {
            "seed": i,
            "n_epochs": rng.choice((10, 20, 50)),
            "data": {"dataset": rng.choice(("sine", "lorenz")), "batch_size": rng.choice((32, 64)),
                     "subset": rng.choice((None, 1000))},
            "optimizer": {"lr": rng.choice((0.1, 0.01, 0.001)), "betas": [0.9, 0.999],
                          "model": {"kind": rng.choice(("lstm", "gru")),
                                    "layers": [{"size": rng.choice((64, 128)), "dropout": 0.1}
                                               for _ in range(rng.randint(1, 3))]}},
        }
        if i % 3 == 0:  # smttask task descriptions, folded away by diff and keys
            params = {"taskname": "Train", "module": "tasks", "inputs": params}
        label = (start + timedelta(minutes=7 * i)).strftime("%Y%m%d-%H%M%S") + f"_{i:06x}"
        rows.append(Row(label=label, timestamp=start + timedelta(minutes=7 * i),
                        tags=frozenset({"_finished_", "figure1"} if i % 2 else {"_finished_"}),
                        reason=rng.choice(("sweep lr", "rerun")), main_file="main.py",
                        version="abc", params=params))
    return rows


class MemoryStore(Store):
    project, location = "bench", "memory"

    def __init__(self, rows):
        self.rows = rows

    def scan(self, plan):
        return iter(self.rows)

    def records(self, rows):
        raise NotImplementedError


def timed(store, program: str) -> tuple[float, object]:
    start = time.perf_counter()
    result = list(Executor(store).run(parser.parse(program)))[-1]
    result.render("json")
    return time.perf_counter() - start, result


def main(argv) -> None:
    n = int(argv[1]) if len(argv) > 1 else 10_000
    for size in (n, 2 * n):
        store = MemoryStore(make_rows(size))
        for program in ("diff where all", "diff where tag figure1 depth 2", "keys all"):
            seconds, result = timed(store, program)
            what = (f"{len(result.labels)} records × {len(result.params)} columns"
                    if hasattr(result, "params") else f"{len(result.rows)} keys")
            print(f"{size:>7} records  {program:<32} {seconds:6.2f} s   ({what})")


if __name__ == "__main__":
    main(sys.argv)
