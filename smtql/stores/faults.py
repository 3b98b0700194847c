"""The write-fault test hook (SMTQL_FAULT), shared by every writer."""

from __future__ import annotations

import os
import time


class Interrupted(Exception):
    """Raised by the test hook SMTQL_FAULT=raise inside the transaction."""


def fault_point(at: str = "transaction") -> None:
    """Test hooks, inside the open transaction after the first changes:
    SMTQL_FAULT=sleep:SECONDS sleeps (a test can SIGKILL the writer there),
    SMTQL_FAULT=raise raises. A suffix `@PLACE` moves the hook to another
    point: `@rename` is the shelve writer between renaming the new data file
    over the old one and the new index file (sumatra_api._apply_shelve);
    `@journal-begin`, `@journal-commit`, `@journal-abort` are the middle of
    writing that undo journal entry (half of it is in the file). Several
    hooks are separated by `;` and run in order (`sleep:2;raise`: a test
    can act while the writer waits, then the write fails)."""
    for fault in filter(None, os.environ.get("SMTQL_FAULT", "").split(";")):
        fault, _, place = fault.partition("@")
        if (place or "transaction") == at:
            _fire(fault, "inside the transaction" if at == "transaction" else f"at {at}")


def _fire(fault: str, where: str) -> None:
    if fault == "raise":
        raise Interrupted(f"SMTQL_FAULT=raise: interrupted {where}")
    if fault.startswith("sleep:"):
        import sys
        print(f"smtql: fault hook: sleeping {where}", file=sys.stderr, flush=True)
        time.sleep(float(fault.split(":", 1)[1]))
