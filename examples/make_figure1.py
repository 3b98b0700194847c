"""Figure 1, rebuilt from its saved query.

    python examples/make_figure1.py [-C PROJECT_DIR] [--since DATE] [-o figure1.png]

The records are the answer of examples/figure1.smtql (run with
`smtql.load`, so the figure and `smtql run figure1.smtql` always agree);
the figure is drawn from their parameters with matplotlib
(`pip install 'smtql[figures]'`). The PNG's metadata names the query and
the records behind it.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import smtql
from smtql.params.model import lookup, plain  # task-folded lookup: keys read as queries write them

HERE = Path(__file__).resolve().parent
QUERY = HERE / "figure1.smtql"


def param(record, key: str):
    """A parameter of a Sumatra record by its smtql key (`optimizer.model.kind`)."""
    path = tuple(int(s) if s.isdigit() else s for s in key.split("."))
    return lookup(plain(record.parameters), path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-C", dest="directory", default=str(HERE / "demo"),
                   help="the Sumatra project (default: examples/demo, made by `smtql demo`)")
    p.add_argument("--since", default="2020-09-12", help="the first day of the runs (default: %(default)s)")
    p.add_argument("-o", "--output", default="figure1.png", help="the PNG to write")
    args = p.parse_args(argv)

    try:
        result = smtql.load(QUERY, directory=args.directory, since=args.since)
    except smtql.SmtqlError as err:
        print(f"make_figure1: {err.render()}", file=sys.stderr)
        return 1
    records = result.records  # sumatra.records.Record objects
    if not records:
        print(f"make_figure1: {QUERY.name} selects no records", file=sys.stderr)
        return 1

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = defaultdict(list)  # model kind -> (epochs, minutes, hidden size)
    for record in records:
        series[param(record, "optimizer.model.kind")].append(
            (param(record, "n_epochs"), record.duration / 60,
             param(record, "optimizer.model.layers.0.size")))

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for kind, points in sorted(series.items()):
        epochs, minutes, size = zip(*points)
        ax.scatter(epochs, minutes, s=[s / 2 for s in size], alpha=0.75,
                   label=f"{kind.upper()} ({len(points)} runs)")
    ax.set_yscale("log")
    ax.set_xlabel("epochs")
    ax.set_ylabel("run time (minutes)")
    ax.set_title(f"Figure 1: training time, runs since {args.since}")
    ax.legend(title="marker area: hidden size")
    labels = ", ".join(r.label for r in records)
    fig.savefig(args.output, dpi=120, metadata={
        "Title": "Figure 1", "Source": f"smtql {QUERY.name} since={args.since}",
        "Description": f"records: {labels}"})
    print(f"wrote {args.output} from {len(records)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
