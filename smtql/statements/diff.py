"""`diff`: what differs between records (LANGUAGE.md §1).

Two records are compared the way `smt diff` compares them: the record
fields (code, executable, repository, launch mode, dependencies, input and
output data, read from Sumatra Record objects) and every parameter key,
flattened and task-folded unless `raw`. More records are compared on what a
Row holds (reason, main file, version, script arguments, executable,
repository) and on their parameters, without building Record objects.

The cost is one pass over each record's leaves and one pass over each key's
values: records × keys, never pairs of records. Parameter sets that are the
same object (stores share parsed sets) are flattened once.
"""

from __future__ import annotations

import os
import re

from ..language import ast
from .describe import executable_text, launch_mode_text, text
from ..errors import QueryError
from ..params.model import Unreadable, folded, leaves
from ..result import DiffResult, Folded
from ..language.unparse import key_text
from ..plan.values import MISSING, equal
from .selection import refs_rows

# The fields compared, in the order they are shown. Two records: what
# `smt diff` compares, plus the reason (why each run was made); more
# records: what every Row holds.
PAIR_FIELDS = ("reason", "main_file", "version", "diff", "script_arguments", "executable",
               "repository", "launch_mode", "dependencies", "input_data", "output_data")
ROW_FIELDS = ("reason", "main_file", "version", "script_arguments", "executable", "repository")

# Data files Sumatra's RecordDifference leaves out of the comparison.
_IGNORED_DATA_NAMES = (re.compile(r"\.log"), re.compile(r"^log"))


def run(stmt: ast.Diff, ctx) -> DiffResult:
    rows, notes, what = refs_rows(stmt, ctx)  # a record named twice is compared once
    if len(rows) < 2:
        raise ctx.located(QueryError(
            f"diff compares at least two records; {what} {len(rows)}"), stmt)
    # Two records are compared as `smt diff` does, on their Record objects.
    records = ctx.store.records(rows) if len(rows) == 2 else None
    result = diff_rows(rows, records, depth=stmt.depth, ignore=stmt.ignore, raw=stmt.raw)
    result.store = ctx.store
    result.notes[:0] = notes
    return result


def diff_rows(rows: list, records: list | None = None, *, depth: int | None = None,
              ignore=(), raw: bool = False) -> DiffResult:
    """Compare `rows` (at least two). `records` are their Sumatra Records,
    given for a two-record diff only."""
    if len(rows) < 2:
        raise QueryError(f"diff needs at least two records; it got {len(rows)}")
    ignored_fields, ignored_paths = _split_ignore(ignore)
    labels = [r.label for r in rows]
    if records is not None:
        per_record = [_record_fields(row, rec) for row, rec in zip(rows, records)]
        field_names = PAIR_FIELDS
    else:
        per_record = [{name: _row_field(row, name) for name in ROW_FIELDS} for row in rows]
        field_names = ROW_FIELDS
    if records is not None:
        _data_differences(per_record)
    fields = []
    for name in field_names:
        if name in ignored_fields:
            continue
        cells = tuple(f[name] for f in per_record)
        if _differ(cells):
            fields.append((name, cells))

    notes = [f"the parameters of {row.label} could not be read"
             for row in rows if isinstance(row.params, Unreadable)]
    flats = _flatten_all(rows, raw, ignored_paths)
    params, folded_names, compared = _parameter_columns(flats, depth)
    # Without `depth`, more records keep every key here; a renderer folds
    # them to what its page holds (the terminal's width, a notebook's
    # columns), as smttask's ParameterComparison folds by default.
    folds = Folds(flats) if depth is None and len(rows) > 2 else None
    return DiffResult(labels, fields, params, folded=folded_names, compared=compared,
                      depth=depth, raw=raw, folds=folds,
                      ignored=[_ignore_text(k) for k in ignore], source_rows=list(rows),
                      notes=notes)


class Folds:
    """The flattened parameters of a diff asked without `depth`, so the
    parameter columns can be drawn again folded to any depth (each depth
    computed once)."""

    def __init__(self, flats: list[dict]):
        self._flats = flats
        self._at: dict[int, tuple] = {}
        self.deepest = max((len(path) for flat in flats for path in flat), default=0)

    def at(self, depth: int) -> tuple[list, list]:
        """The parameter columns and the names of the folded ones at `depth`."""
        if depth not in self._at:
            params, folded_names, _ = _parameter_columns(self._flats, depth)
            self._at[depth] = (params, folded_names)
        return self._at[depth]

    def depths(self) -> range:
        """The depths below the deepest key, deepest first (each may fold
        something; at 0 all the parameters are one column)."""
        return range(self.deepest - 1, -1, -1)


# ------------------------------------------------------------------ ignore

def _split_ignore(ignore) -> tuple[set, list]:
    """Fields to drop (by name) and parameter paths to drop at any level.
    A one-segment key that names a compared field (`ignore launch_mode`)
    drops the field as well as any parameter of that name."""
    names, paths = set(), []
    for key in ignore:
        if isinstance(key, ast.Field):
            names.add(key.name)
        else:
            paths.append(tuple(str(s) for s in key.path))
            if len(key.path) == 1:
                names.add(str(key.path[0]))
    return names, paths


def _ignore_text(key) -> str:
    return key.name if isinstance(key, ast.Field) else key.dotted


def _is_ignored(path: tuple, ignored: list) -> bool:
    """True when some ignored key is a run of whole segments of `path`
    (`ignore seed` drops `seed` and `run.seed`)."""
    if not ignored:
        return False
    text = tuple(str(s) for s in path)
    for key in ignored:
        n = len(key)
        for i in range(len(text) - n + 1):
            if text[i:i + n] == key:
                return True
    return False


# ------------------------------------------------------------------ parameters

def _flatten_all(rows, raw: bool, ignored: list) -> list[dict]:
    """Each row's parameters as {path: value}, one dict per distinct set."""
    cache: dict[int, dict] = {}
    flats = []
    for row in rows:
        p = row.params
        flat = cache.get(id(p))
        if flat is None:
            flat = {}
            if p is not None and not isinstance(p, Unreadable):
                for path, value in leaves(p if raw else folded(p)):
                    if not _is_ignored(path, ignored):
                        flat[path] = value
            cache[id(p)] = flat
        flats.append(flat)
    return flats


def _differ(cells) -> bool:
    first = cells[0]
    for c in cells[1:]:
        if c is first:
            continue
        if c is MISSING or first is MISSING or not equal(c, first):
            return True
    return False


def _parameter_columns(flats: list[dict], depth: int | None):
    """The keys whose value is not the same in every record, as columns:
    (name, cells) with cells aligned with the records; keys deeper than
    `depth` folded into their prefix; also the names of the folded
    columns and how many keys were compared."""
    distinct = list({id(f): f for f in flats}.values())
    keys: dict[tuple, None] = {}
    for flat in distinct:
        keys.update(dict.fromkeys(flat))
    if len(distinct) == 1:
        return [], [], len(keys)
    differing = [k for k in keys if _differ(tuple(f.get(k, MISSING) for f in distinct))]

    def column_of(path):
        return path[:depth] if depth is not None and len(path) > depth else path

    columns: dict[tuple, bool] = {}  # column path -> folded?
    for path in differing:
        col = column_of(path)
        columns[col] = columns.get(col, False) or col != path
    out, folded_names = [], []
    for col in sorted(columns, key=_path_order):
        name = _dotted(col)
        if columns[col]:
            folded_names.append(name)
            by_set = {id(f): _folded_cell(f, col) for f in distinct}
            cells = tuple(by_set[id(flat)] for flat in flats)
        else:
            cells = tuple(flat.get(col, MISSING) for flat in flats)
        out.append((name, cells))
    return out, folded_names, len(keys)


def _folded_cell(flat: dict, prefix: tuple):
    """A record's sub-tree under `prefix`: its value where the prefix is
    itself a leaf, MISSING where the record has nothing there, else a
    `Folded` digest of the leaves beneath."""
    if prefix in flat:
        return flat[prefix]
    n = len(prefix)
    below = {_dotted(p): v for p, v in flat.items() if p[:n] == prefix}
    return Folded.of(below) if below else MISSING


def _path_order(path: tuple):
    return tuple((0, s, "") if isinstance(s, int) else (1, 0, str(s)) for s in path)


def _dotted(path: tuple) -> str:
    """The key as a query writes it (`params.status` for a key that reads
    as a field or keyword)."""
    if not path:
        return "params"
    return key_text(ast.Param(tuple(path)))


# ------------------------------------------------------------------ record fields

def _row_field(row, name: str):
    return getattr(row, name)


def _record_fields(row, record) -> dict:
    """The fields `smt diff` compares, as comparable plain values."""
    return {
        "reason": row.reason,
        "main_file": row.main_file,
        "version": row.version,
        "diff": text(getattr(record, "diff", "")),
        "script_arguments": row.script_arguments,
        "executable": executable_text(record.executable),
        "repository": text(getattr(record.repository, "url", None)),
        "launch_mode": launch_mode_text(record.launch_mode),
        "dependencies": {t: t for t in (f"{d.name} {d.version}" for d in record.dependencies or ())},
        "input_data": _data_keys(record.input_data),
        "output_data": _data_keys(record.output_data),
    }


def _data_differences(per_record: list[dict]) -> None:
    """Dependencies and data files as in `smt diff`: each side lists what
    the other lacks (files compared by content digest, log files left
    out), so equal sets read as no difference."""
    a, b = per_record
    for name in ("dependencies", "input_data", "output_data"):
        left, right = a[name], b[name]
        a[name] = tuple(sorted(text for k, text in left.items() if k not in right))
        b[name] = tuple(sorted(text for k, text in right.items() if k not in left))


def _data_keys(keys) -> dict:
    out = {}
    for key in keys or ():
        name = os.path.basename(key.path)
        if any(p.search(name) for p in _IGNORED_DATA_NAMES):
            continue
        out[key.digest] = f"{key.path} ({key.digest[:8]})"
    return out
