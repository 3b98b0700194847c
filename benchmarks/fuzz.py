"""The pipeline fuzzer's slow profile (issue 15): many more programs than
the test suite's default, on the same stores, and every failing program
appended to the corpus (tests/data/fuzz/corpus.jsonl) that the suite
replays each time.

    python -m benchmarks.fuzz [--examples 20000] [--work DIR]

It runs tests/test_fuzz.py with SMTQL_FUZZ_EXAMPLES set, through pytest
(the stores are built by the suite's own fixtures); a failure shrinks to a
small program, which is printed and kept in the corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "fuzz" / "corpus.jsonl"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=20000)
    args = ap.parse_args(argv)
    env = dict(os.environ, SMTQL_FUZZ_EXAMPLES=str(args.examples))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           "tests/test_fuzz.py::test_generated_programs"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    print(proc.stdout[-4000:])
    found = re.findall(r"program=('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", proc.stdout)
    if found:
        import ast
        program = ast.literal_eval(found[-1])
        failure = re.search(r"Failure: (.*)", proc.stdout)
        entry = {"class": (failure.group(1) if failure else "found by benchmarks/fuzz.py")[:80],
                 "program": program}
        with open(CORPUS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        print(f"kept in {CORPUS}: {program!r}")
    print(f"{args.examples} programs fuzzed; pytest exit {proc.returncode}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
