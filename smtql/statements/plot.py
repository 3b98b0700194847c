"""`plot STATEMENT [as KIND] [color KEY] [to "FILE"]` (LANGUAGE.md §10): the
answer of a find or a group-by as chart data (series of points, axes with
units, a title); drawing is the renderers' (smtql/render/chart.py):
matplotlib for files and notebooks, plotext in a terminal.

What is drawn, where the language is silent: a group-by draws its items
against its first key, one series per item, and per value of a second key
(which `color` names, or the second key itself when there are two); a find
draws its other columns against its first (or its one column's histogram),
one series per value of `color`. Missing values are left out of a series.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from ..errors import QueryError
from ..language import ast
from ..language.dates import period_start
from ..language.unparse import item_text
from ..plan.values import MISSING, is_number, sort_key
from ..render.cells import value_column
from ..result import PlotResult, Series
from .columns import column_name


def run(stmt: ast.Plot, ctx) -> PlotResult:
    from . import handler
    inner = _with_color_column(stmt)
    table = handler(inner)(inner, ctx)
    grouped = isinstance(inner, ast.Group)
    x, ys, color = _roles(stmt, inner, table, ctx)
    kind = stmt.kind or _default_kind(grouped, table, x, ys)
    series = _series(table, x, ys, color, kind, grouped, inner)
    result = PlotResult(kind=kind, x=x, ys=ys, color=color, series=series,
                        title=ctx.binding.source[stmt.statement.span.start:stmt.statement.span.end]
                        if stmt.statement.span else "", x_unit=_unit(x, inner), path=stmt.path,
                        notes=table.notes)
    if stmt.path is not None:
        from ..render.chart import save
        if ctx.dry_run:
            result.text = f"dry run: would write the chart to {stmt.path}; nothing written"
        else:
            result.text = f"wrote the chart to {save(result, stmt.path)}"
    return result


def _with_color_column(stmt: ast.Plot):
    """The inner statement, with a find's `color` key among its columns."""
    inner = stmt.statement
    if isinstance(inner, ast.Find) and stmt.color is not None:
        if isinstance(stmt.color, (ast.Field, ast.Param)):
            shown = inner.show or ("default",)
            if stmt.color not in shown:
                return dataclasses.replace(inner, show=tuple(shown) + (stmt.color,))
    return inner


def _roles(stmt, inner, table, ctx):
    """(x column, y columns, color column or None)."""
    located = lambda msg: ctx.located(QueryError(msg), stmt)  # noqa: E731
    if isinstance(inner, ast.Group):
        keys = [item_text(k) for k in inner.keys]
        color = item_text(stmt.color) if stmt.color is not None else (
            keys[1] if len(keys) == 2 else None)
        if color is not None and color not in keys:
            raise located(f"color {color}: a group-by's chart is colored by one of its keys "
                          f"({', '.join(keys)})")
        if len([k for k in keys if k != color]) > 1:
            raise located("a chart of a group-by takes one key along the x axis and one as "
                          "`color`; this one has " + ", ".join(keys))
        x = next(k for k in keys if k != color)
        ys = [c for c in table.columns if c not in keys and c != "labels"]
        return x, ys, color
    if isinstance(stmt.color, (ast.PeriodKey, ast.TagKey, ast.StatusKey)):
        raise located("a find's chart is colored by a field or parameter")
    color = column_name(stmt.color) if stmt.color is not None else None
    columns = [c for c in table.columns if c != color]
    if not columns:
        raise located("nothing to draw: show names the columns")
    return columns[0], columns[1:], color


def _default_kind(grouped, table, x, ys) -> str:
    values = [r[x] for r in table.rows if r[x] is not MISSING and r[x] is not None]
    numeric = bool(values) and all(is_number(v) or isinstance(v, datetime) for v in values)
    if grouped:
        return "line" if numeric or _is_period(x) else "bar"
    if not ys:
        return "hist"
    return "line" if values and all(isinstance(v, datetime) for v in values) else "scatter"


def _is_period(name: str) -> bool:
    return name in ast.PERIODS


def _unit(column: str, inner) -> str:
    like = value_column(column)
    if like == "duration":
        return "duration"
    if like == "timestamp" or _is_period(column):
        return "time"
    return ""


def _series(table, x, ys, color, kind, grouped, inner) -> list[Series]:
    """One series per y column and color value, points in x order, missing
    values left out."""
    groups: dict = {}
    for row in table.rows:
        key = row[color] if color is not None else None
        groups.setdefault(repr(key), (key, []))[1].append(row)
    out = []
    for y in (ys or [x]):
        for key, rows in sorted(groups.values(), key=lambda g: sort_key(g[0])):
            xs, vs = [], []
            for row in rows:
                xv, yv = _x_value(row[x], x), row[y] if ys else row[x]
                if xv is MISSING or xv is None or yv is MISSING or yv is None:
                    continue
                xs.append(xv)
                vs.append(yv)
            name = y if color is None else (f"{_text(key)}" if len(ys) <= 1 else
                                            f"{y}, {_text(key)}")
            out.append(Series(name=name, x=xs, y=vs, y_unit=_unit(y, inner), column=y))
    return out


def _x_value(value, x):
    if _is_period(x) and isinstance(value, str):
        return period_start(value, x)
    return value


def _text(value) -> str:
    return "—" if value is MISSING else str(value)
