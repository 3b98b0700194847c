"""`export FILTER [to "PATH"]`: the matched records as the JSON Sumatra's
`RecordStore.export_records` writes (sumatra.recordstore.serialization reads
it back, `RecordStore.import_` loads it), newest first.

A file is written whole or not at all: to a temporary file in the same
directory, flushed to disk, then renamed over PATH (`os.replace`). A
relative PATH is relative to the current directory. Under `dry_run` nothing
is written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import SmtqlError
from ..language import ast
from ..language.unparse import filter_text
from ..result import TextResult


def export_text(records, store=None) -> str:
    """What `RecordStore.export_records(records)` returns (its JSON
    formatter's text, record by record). A record Sumatra cannot encode
    (its launch mode or data store unreadable, say) is left out and
    reported to the store, so the others are still exported."""
    from sumatra.formatting import record2json
    parts = []
    for record in records:
        try:
            parts.append(record2json(record, indent=2))
        except (AttributeError, TypeError, ValueError, KeyError) as err:
            if store is not None:
                store.report_fault(record.label, "export",
                                   f"Sumatra cannot encode it: {type(err).__name__}: {err}")
    return "[" + ",\n".join(parts) + "]"


def write_atomically(path: Path, text: str) -> None:
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def run(stmt: ast.Export, ctx) -> TextResult:
    return ctx.refusals_located(stmt, _export, stmt, ctx)


def _export(stmt: ast.Export, ctx) -> TextResult:
    rows = ctx.select_where(stmt.filter, stmt.select)
    n = len(rows)
    what = f"{n} record{'s' if n != 1 else ''}"
    if stmt.path is None:
        text = export_text(ctx.store.records(rows) if rows else [], ctx.store)
        return TextResult(text, notes=ctx.notes(stmt.filter), verbatim=True)
    path = Path(os.path.expanduser(stmt.path))
    data = {"op": "export", "records": n, "path": str(path),
            "filter": filter_text(stmt.filter)}
    if ctx.dry_run:
        return TextResult(f"dry run: would export {what} to {path}; nothing written",
                          data=dict(data, dry_run=True), notes=ctx.notes(stmt.filter))
    if path.is_dir():
        raise SmtqlError(f"cannot export to {path}: it is a directory")
    text = export_text(ctx.store.records(rows) if rows else [], ctx.store)
    notes = ctx.notes(stmt.filter)
    try:
        write_atomically(path, text)
    except OSError as err:
        raise SmtqlError(f"cannot write {path}: {err.strerror or err}; nothing written") from None
    return TextResult(f"exported {what} to {path}", data=data, notes=notes)
