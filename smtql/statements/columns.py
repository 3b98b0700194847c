"""Columns of a table: which `show` names, their headers, and each
record's cell (merged groups joined)."""

from __future__ import annotations

import operator

from ..language import ast, fields
from ..language.unparse import key_text
from ..plan.values import MISSING


def column_name(col) -> str:
    if isinstance(col, ast.Field):
        return col.name
    return key_text(col)  # `params` for the whole set


def expand_columns(show) -> list:
    if show is None:
        show = ("default",)
    columns = []
    for col in show:
        if col == "default":
            columns.extend(ast.Field(n) for n in fields.DEFAULT_COLUMNS)
        else:
            columns.append(col)
    return list({column_name(c): c for c in columns}.values())


def cell(row, col):
    return cell_getter(col)(row)


def cell_getter(col):
    """`lambda row: cell(row, col)`, decided once per column."""
    if isinstance(col, ast.Field):
        if col.name == "tags":
            return lambda row: tuple(sorted(row.tags))
        return operator.attrgetter(col.name)
    if isinstance(col, ast.Output):
        glob, path = col.glob, col.path
        return lambda row: row.output_value(glob, path)
    if col.path == ():
        return operator.attrgetter("params")  # the whole set; renderers show a digest
    path = col.path
    return lambda row: row.param(path)


def key_value(row, key):
    """The value an `order by` key sorts on; None for a null field."""
    value = cell(row, key)
    return MISSING if value is None and isinstance(key, ast.Field) else value
