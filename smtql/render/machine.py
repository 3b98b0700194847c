"""Machine formats, stable interfaces for scripts (docs/formats.md): JSON
(an array of objects for a table, an object otherwise), CSV and bare
labels. Nothing here imports rich or pandas."""

from __future__ import annotations

import csv
import io
import json

from ..plan.values import MISSING
from .cells import jsonable


def as_data(result):
    """The result as JSON data. A parameter a record lacks is left out of
    its object (a stored null is `null`)."""
    if result.shape == 'table':
        return [{c: jsonable(row[c]) for c in result.columns
                 if row.get(c, MISSING) is not MISSING} for row in result.rows]
    if result.shape == 'count':
        return {"count": result.count}
    if result.shape == 'record':
        return {k: jsonable(v) for k, v in result.fields.items()}
    if result.shape == 'records':  # whole: render_json streams it instead
        return [as_data(r) for r in result.described()]
    if result.shape == 'diff':
        def by_label(part):
            return {name: {label: jsonable(c) for label, c in zip(result.labels, cells)
                           if c is not MISSING} for name, cells in part}
        return {"records": list(result.labels), "fields": by_label(result.fields),
                "parameters": by_label(result.params), "folded": list(result.folded),
                "compared": result.compared, "depth": result.depth, "raw": result.raw,
                "ignore": list(result.ignored)}
    if result.shape == 'text':
        return result.data or {"text": result.text}
    raise TypeError(result)


def render_json(result, **options) -> str:
    if result.shape == 'text' and result.verbatim:
        return result.text
    return json.dumps(jsonable(as_data(result)), ensure_ascii=False, indent=2, allow_nan=False)


def json_pieces(result, one_line=False, **options):
    """A describe of several records as a JSON array, one record a piece
    (`one_line`: the array on one line, as a labelled answer is)."""
    indent, sep = (None, ", ") if one_line else (2, ",\n")
    yield "["
    for i, record in enumerate(result.described()):
        text = json.dumps(jsonable(as_data(record)), ensure_ascii=False, indent=indent,
                          allow_nan=False)
        if not one_line:
            text = "\n".join("  " + line for line in text.splitlines())
        yield (sep if i else ("" if one_line else "\n")) + text
    yield "]" if one_line or not result.rows else "\n]"


def csv_pieces(result, **options):
    """A describe of several records as CSV: the field names, then a line per
    record (as `describe REF` writes its one line)."""
    yield _csv_line(result.columns)
    for record in result.described():
        data = as_data(record)
        yield "\n" + _csv_line([_csv_cell(data.get(c)) for c in result.columns])


def labels_pieces(result, **options):
    for i, label in enumerate(result.labels):
        yield ("\n" if i else "") + label


def _csv_line(cells) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue().rstrip("\n")


def render_csv(result, **options) -> str:
    """A header line, then one line per row (per record for a diff; one
    line for `describe` and `count`). Lists and objects are JSON text;
    null and missing are both empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if result.shape == 'table':
        writer.writerow(result.columns)
        for row in as_data(result):
            writer.writerow([_csv_cell(row.get(c)) for c in result.columns])
    elif result.shape == 'diff':
        writer.writerow(["label"] + [name for name, _ in result.columns])
        for i, label in enumerate(result.labels):
            writer.writerow([label] + [_csv_cell(jsonable(cells[i])) for _, cells in result.columns])
    else:
        data = as_data(result)
        writer.writerow(list(data))
        writer.writerow([_csv_cell(v) for v in data.values()])
    return out.getvalue().rstrip("\n")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def render_labels(result, **options) -> str:
    if result.shape == 'count':
        return str(result.count)
    if result.shape == 'text':
        return result.text
    return "\n".join(result.labels)
