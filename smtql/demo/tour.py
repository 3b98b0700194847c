"""`smtql demo`: build the demo project, then run a tour of queries over it
and print each with its answer."""

from __future__ import annotations

import sys
import time
from pathlib import Path

# (what the query shows, the query)
TOUR = [
    ("How many records, and how many finished?", "count all; count tag finished"),
    ("The five newest finished runs", "tag finished latest 5"),
    ("Finished after 12 September 2020 with this μtilde",
     "tag finished and after 2020-09-12 and "
     "optimizer.model.params.μtilde = [-3.4729471730413772, -0.13678844546243388] latest 5"),
    ("Crashed, or a traceback in the output", "status crashed or stdout contains \"Traceback\" "
     "show label, timestamp, tags, outcome latest 5"),
    ("Long GRU runs at lr 0.01, by duration",
     "optimizer.lr = 0.01 and optimizer.model.kind = \"gru\" and duration > 1h "
     "show label, duration, optimizer.model.layers.0.size order by duration desc limit 5"),
    ("November 2020, merged by timestamp", "on 2020-11 and tag finished merged latest 5"),
    ("What can be queried", "keys tag finished"),
    ("A named filter, reused", "let good = tag finished and outcome = \"converged\"; "
     "count $good; $good and before 2020-10 show label, outcome earliest 3"),
    ("How smtql runs a query", "explain tag finished and after 2020-09-12 and optimizer.lr < 0.05"),
    ("One record in full", "describe latest"),
]


def run_demo(directory: str, args) -> int:
    from ..api import connect, parse_program
    from ..frontends.options import answers, emit, is_terminal
    from .build import _check_directory, build_project

    _check_directory(Path(directory).absolute())  # a wrong directory, before anything is said
    started = time.perf_counter()
    print(f"Building the demo project in {directory} …", flush=True)
    progress = Progress(sys.stderr, live=is_terminal(sys.stderr))
    path = build_project(directory, progress=progress)
    progress.done()
    print(f"… built in {time.perf_counter() - started:.1f} s. "
          f"Try: smtql -C {directory} 'tag finished latest 5'\n")
    conn = connect(path)
    for title, query in TOUR:
        print(f"── {title}")
        print(f"$ smtql -C {directory} '{query}'")
        program = parse_program(query)
        labelled, shown = answers(program) > 1, 0
        for result in conn.stream(program):
            emit(result, args, labelled=labelled, first=shown == 0)
            shown += not result.silent
        print()
    sys.stdout.flush()
    return 0


class Progress:
    """The build's steps on stderr: at a terminal one line, rewritten as
    each step ends; elsewhere (a pipe, a log) a line per step, without the
    lines that only count records saved so far."""

    def __init__(self, stream, live: bool):
        self.stream, self.live = stream, live

    def __call__(self, line: str) -> None:
        from .build import TRANSIENT
        if self.live:
            self.stream.write(f"\r\x1b[K  {line}")
        elif not line.startswith(TRANSIENT):
            self.stream.write(f"  {line}\n")
        self.stream.flush()

    def done(self) -> None:
        if self.live:  # the last step's line gives way to the tour
            self.stream.write("\r\x1b[K")
            self.stream.flush()
