"""The figures of docs/tutorial.md §17, made by smtql's own `plot`.

    python docs/figures/make_figures.py [PROJECT] [OUTDIR]

PROJECT: a Sumatra project to draw (default: the demo project, built here
in a temporary directory as `smtql demo` builds it, without real runs);
OUTDIR: where the PNG files go (default: this directory). Each figure is
one smtql program; tests/test_docs.py checks that this script runs.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

FIGURES = {
    # question 10: finished runs per month, one line per model kind
    "finished-per-month.png":
        "plot count status finished group by month, optimizer.model.kind",
    # the duration of finished runs per model kind, in readable units
    "duration-per-kind.png":
        "plot status finished group by optimizer.model.kind "
        "show mean(duration), median(duration) as bar",
}


def make(project: Path, outdir: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT))
    import smtql
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    with smtql.connect(project) as conn:
        for name, program in FIGURES.items():
            path = outdir / name
            conn.query(f'{program} to "{path}"')
            written.append(path)
    return written


def main(argv: list[str]) -> None:
    outdir = Path(argv[1]) if len(argv) > 1 else HERE
    if argv:
        project = Path(argv[0])
        paths = make(project, outdir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            project = Path(tmp) / "demo"
            subprocess.run([sys.executable, "-m", "smtql.demo", "build", str(project),
                            "--no-runs", "--quiet"], check=True, cwd=ROOT)
            paths = make(project, outdir)
    for path in paths:
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
