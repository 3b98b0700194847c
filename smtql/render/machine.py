"""Machine formats, stable interfaces for scripts: JSON (an array of objects
for a table, an object otherwise), CSV and bare labels."""

from __future__ import annotations

import csv
import io
import json

from ..result import CountResult, RecordResult, Table, TextResult
from .cells import jsonable


def as_data(result):
    if isinstance(result, Table):
        return [{c: jsonable(row.get(c)) for c in result.columns} for row in result.rows]
    if isinstance(result, CountResult):
        return {"count": result.count}
    if isinstance(result, RecordResult):
        return {k: jsonable(v) for k, v in result.fields.items()}
    if isinstance(result, TextResult):
        return result.data or {"text": result.text}
    raise TypeError(result)


def render_json(result, **options) -> str:
    return json.dumps(as_data(result), ensure_ascii=False, indent=2)


def render_csv(result, **options) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    data = as_data(result)
    if isinstance(result, Table):
        writer.writerow(result.columns)
        for row in data:
            writer.writerow([_csv_cell(row[c]) for c in result.columns])
    else:
        writer.writerow(list(data))
        writer.writerow([_csv_cell(v) for v in data.values()])
    return out.getvalue().rstrip("\n")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return value


def render_labels(result, **options) -> str:
    if isinstance(result, CountResult):
        return str(result.count)
    if isinstance(result, TextResult):
        return result.text
    return "\n".join(result.labels)
