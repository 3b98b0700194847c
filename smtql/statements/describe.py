"""`describe REF`: every field of one record as plain data (LANGUAGE.md §1).

What `smt list -l` shows, read from the Sumatra Record, with the data files,
dependencies and platforms kept as small objects rather than joined text, so
the JSON form is useful to scripts and every renderer lays them out its own
way. The parameters stay as stored (not task-folded): this is the record.
"""

from __future__ import annotations

from ..errors import QueryError
from ..language import ast
from ..language.dates import as_utc
from ..result import RecordResult
from .selection import sort_rows


def run(stmt: ast.Describe, ctx) -> RecordResult:
    row, notes = (ctx.resolve(stmt.ref), []) if stmt.where is None else _selected(stmt, ctx)
    # the parameters shown are the Row's (parsed once); Sumatra's parameter
    # set object would be built for nothing, in seconds for a large set
    record = ctx.store.records_without_parameters([row])[0]
    # the store's notes: the record's parts it could not read
    return RecordResult(row.label, describe_record(record, row), row=row, store=ctx.store,
                        notes=notes + ctx.store.statement_notes())


SHOWN_LABELS = 3  # labels named when a selection holds several records


def _selected(stmt: ast.Describe, ctx):
    """The one record `describe where FILTER` selects (and the filter's
    notes); a selection of none or several is an error that says so."""
    rows = sort_rows(ctx.select(stmt.where))
    if len(rows) == 1:
        return rows[0], ctx.notes(stmt.where)
    if not rows:
        raise ctx.located(QueryError("describe shows one record; the filter selects none"),
                          stmt)
    n = len(rows)
    labels = ", ".join(r.label for r in rows[:SHOWN_LABELS]) + (", …" if n > SHOWN_LABELS else "")
    raise ctx.located(QueryError(
        f"describe shows one record; the filter selects {n} ({labels}): narrow it, "
        "or use `find` for a table, `diff where` to compare them"), stmt)


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
