"""`describe REFS`: every field of each record as plain data (LANGUAGE.md §1).

What `smt list -l` shows, read from the Sumatra Record, with the data files,
dependencies and platforms kept as small objects rather than joined text, so
the JSON form is useful to scripts and every renderer lays them out its own
way. The parameters stay as stored (not task-folded): this is the record.

One ref (`describe latest`) answers one record (a RecordResult: JSON an
object). Several refs or `where SELECTION` answer a RecordsResult whatever
the number selected (JSON a list, also of one or none), so a script reads
one shape per statement. Its Records are built a chunk at a time as the
answer is drawn: `describe where all` on thousands of records streams.
"""

from __future__ import annotations

from functools import partial

from ..language import ast
from ..language.dates import as_utc
from ..result import RecordResult, RecordsResult
from .selection import refs_rows

# Records read (and drawn) at a time by a describe of several.
CHUNK = 50
# A describe of more records than this says how to see fewer. It is not
# refused, nor asked about: the user wrote the selection, the answer
# streams (memory holds one chunk), a pager quits early, and a script
# reading JSON or CSV must get every record it asked for.
MANY = 20


def run(stmt: ast.Describe, ctx):
    if stmt.where is None and len(stmt.refs) == 1:
        return _one(stmt.refs[0], ctx)
    rows, notes, what = refs_rows(stmt, ctx)
    n = len(rows)
    if not rows:
        notes.append(f"{what} no records")
    elif n > MANY:
        notes.append(f"describing {n:,} records, one after another; "
                     "`latest N` or `limit N` after the filter describes fewer")
    result = RecordsResult(rows, partial(described_fields, ctx.store), columns=FIELDS,
                           store=ctx.store, chunk=CHUNK, notes=notes)
    result.read_ahead()
    result.notes += ctx.store.statement_notes()  # the records' parts it could not read
    return result


def _one(ref, ctx) -> RecordResult:
    row = ctx.resolve(ref)
    # the parameters shown are the Row's (parsed once); Sumatra's parameter
    # set object would be built for nothing, in seconds for a large set
    record = ctx.store.records_without_parameters([row])[0]
    # the store's notes: the record's parts it could not read
    return RecordResult(row.label, describe_record(record, row), row=row, store=ctx.store,
                        notes=ctx.store.statement_notes())


def described_fields(store, rows: list) -> list[dict]:
    """The fields of each row's record, read together (one chunk)."""
    if not rows:
        return []
    return [describe_record(rec, row)
            for rec, row in zip(store.records_without_parameters(rows), rows)]


def describe_record(record, row) -> dict:
    """The fields of `record` (its Row is `row`), grouped as people read
    them: what and when, why and what came of it, the code, where it ran,
    the data, the parameters, the captured output."""
    return {
        "label": record.label,
        "timestamp": row.timestamp,
        "tags": tuple(sorted(record.tags or ())),
        "reason": row.reason,
        "outcome": row.outcome,
        "duration": record.duration,
        "user": row.user,
        "main_file": row.main_file,
        "version": row.version,
        "diff": text(getattr(record, "diff", "")),
        "script_arguments": row.script_arguments,
        "executable": executable_text(record.executable),
        "repository": text(getattr(record.repository, "url", None)),
        "launch_mode": launch_mode_text(record.launch_mode),
        "platforms": [_platform(p) for p in record.platforms or ()],
        "dependencies": [{"name": d.name, "version": text(d.version), "path": text(d.path)}
                         for d in record.dependencies or ()],
        "datastore": text(getattr(record.datastore, "root", None) or record.datastore),
        "input_data": [_data_key(k) for k in record.input_data or ()],
        "output_data": [_data_key(k) for k in record.output_data or ()],
        "repeats": record.repeats,
        "parameters": row.params,
        "stdout_stderr": row.stdout_stderr,
    }


# The fields, in the order describe_record gives them (a CSV's header).
FIELDS = ("label", "timestamp", "tags", "reason", "outcome", "duration", "user", "main_file",
          "version", "diff", "script_arguments", "executable", "repository", "launch_mode",
          "platforms", "dependencies", "datastore", "input_data", "output_data", "repeats",
          "parameters", "stdout_stderr")


def text(value) -> str:
    return "" if value is None else str(value)


def executable_text(ex) -> str:
    """`Python 3.11.7 (/usr/bin/python3)`."""
    if ex is None:
        return ""
    return " ".join(p for p in (getattr(ex, "name", ""), getattr(ex, "version", ""),
                                f"({ex.path})" if getattr(ex, "path", "") else "") if p)


def launch_mode_text(mode) -> str:
    """`serial in /path/to/project`, with the options when there are any."""
    if mode is None:
        return ""
    out = str(mode)
    if getattr(mode, "working_directory", None):
        out += f" in {mode.working_directory}"
    if getattr(mode, "options", None):
        out += f" ({mode.options})"
    return out


def _data_key(key) -> dict:
    meta = getattr(key, "metadata", None) or {}
    created = getattr(key, "creation", None)
    return {"path": key.path, "digest": key.digest, "size": meta.get("size"),
            "mimetype": meta.get("mimetype"),
            "created": as_utc(created) if created is not None else None}


_PLATFORM_KEYS = ("system_name", "release", "version", "machine", "processor",
                  "architecture_bits", "network_name", "ip_addr")


def _platform(p) -> dict:
    return {k: text(getattr(p, k, None)) for k in _PLATFORM_KEYS}
