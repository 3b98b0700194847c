"""Charts (`plot`, LANGUAGE.md §10): a PlotResult drawn with matplotlib (a
Figure: files, notebooks, `res.figure`) or with plotext (text, in a
terminal). Both take the same series and axes; durations are drawn in one
readable unit (seconds, minutes, hours or days, by the largest value) and
times as dates."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from .cells import jsonable

FILE_FORMATS = (".png", ".svg", ".pdf")
_UNITS = (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0))


def duration_unit(values) -> tuple[str, float]:
    """The unit a column of seconds reads best in: the largest its values
    reach at least one of."""
    top = max((abs(v) for v in values), default=0)
    return next(((name, size) for name, size in _UNITS if top >= size), ("s", 1.0))


def axis_label(name: str, unit: str, values) -> tuple[str, float]:
    """(the axis label with its unit, the factor its values are divided by)."""
    if unit == "duration":
        u, size = duration_unit(values)
        return f"{name} ({u})", size
    if unit == "time":
        return f"{name} (UTC)", 1.0
    return name, 1.0


def _scaled(values, size):
    return [v / size for v in values] if size != 1.0 else list(values)


def figure(result):
    """A matplotlib Figure of the chart (no window: the Agg canvas)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    series = [s for s in result.series if s.x or s.y]
    xs = [v for s in series for v in s.x]
    ys = [v for s in series for v in s.y]
    y_unit = series[0].y_unit if series else ""
    if result.kind == "hist":
        x_label, xsize = axis_label(result.x, result.x_unit, [v for s in series for v in s.y])
        for s in series:
            ax.hist(_scaled(s.y, xsize), bins="auto", alpha=0.7, label=s.name)
        ax.set_xlabel(x_label)
        ax.set_ylabel("records")
    else:
        x_label, xsize = axis_label(result.x, result.x_unit, xs if result.x_unit == "duration"
                                    else ())
        y_label, ysize = axis_label(", ".join(result.ys) or result.x, y_unit, ys)
        categories = sorted({str(v) for v in xs}) if result.kind in ("bar", "box") else []
        width = 0.8 / max(1, len(series))
        for i, s in enumerate(series):
            x = _scaled(s.x, xsize) if result.x_unit == "duration" else s.x
            y = _scaled(s.y, ysize)
            if result.kind == "line":
                ax.plot(x, y, marker="o", label=s.name)
            elif result.kind == "scatter":
                ax.scatter(x, y, label=s.name)
            elif result.kind == "bar":
                where = [categories.index(str(v)) + (i - (len(series) - 1) / 2) * width
                         for v in s.x]
                ax.bar(where, y, width=width, label=s.name)
            elif result.kind == "box":
                groups = [[yv for xv, yv in zip(s.x, y) if str(xv) == c] for c in categories]
                ax.boxplot(groups, positions=[j + (i - (len(series) - 1) / 2) * width
                                              for j in range(len(categories))],
                           widths=width * 0.9)
        if categories:
            ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right")
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        if result.x_unit == "time":
            fig.autofmt_xdate()
    if result.color is not None or len(series) > 1:
        ax.legend(title=result.color)
    ax.set_title(result.title)
    return fig


def save(result, path) -> Path:
    """Write the chart to PATH (PNG, SVG or PDF by its extension)."""
    from ..errors import QueryError
    path = Path(os.path.expanduser(path))
    if path.suffix.lower() not in FILE_FORMATS:
        raise QueryError(f"cannot write a chart to {path}: the file must end in "
                         + ", ".join(FILE_FORMATS))
    result.figure.savefig(path, format=path.suffix[1:].lower(), bbox_inches="tight")
    return path


def terminal(result, width: int | None = None, height: int | None = None) -> str:
    """The chart drawn in text (plotext), for a terminal."""
    import plotext as plt
    plt.clear_figure()
    plt.plotsize(width or 80, height or 20)
    plt.theme("clear")
    y_unit = result.series[0].y_unit if result.series else ""
    ys = [v for s in result.series for v in s.y]
    if result.kind == "hist":
        label, size = axis_label(result.x, result.x_unit, ys)
        for s in result.series:
            plt.hist(_scaled(s.y, size), label=s.name if len(result.series) > 1 else None)
        plt.xlabel(label)
    else:
        y_label, size = axis_label(", ".join(result.ys) or result.x, y_unit, ys)
        dates = result.x_unit == "time"
        if dates:
            plt.date_form("Y-m-d")
        for s in result.series:
            x = [plt.datetime_to_string(v) if isinstance(v, datetime) else v for v in s.x] \
                if dates else [str(v) if isinstance(v, str) else v for v in s.x]
            y = _scaled(s.y, size)
            label = s.name if len(result.series) > 1 else None
            draw = {"line": plt.plot, "scatter": plt.scatter, "bar": plt.bar,
                    "box": plt.scatter}[result.kind]
            draw(x, y, label=label)
        plt.xlabel(result.x)
        plt.ylabel(y_label)
    plt.title(result.title)
    return plt.build()


def render_chart(result, fmt: str, **options) -> str:
    """A chart in an output format: the terminal drawing (`table`), or its
    series as data (JSON, CSV); written to a file, the message."""
    if result.path is not None:
        return result.text
    if fmt == "json":
        return json.dumps({"kind": result.kind, "x": result.x, "color": result.color,
                           "series": [{"name": s.name, "x": jsonable(s.x), "y": jsonable(s.y)}
                                      for s in result.series]}, ensure_ascii=False, indent=2)
    if fmt == "table":
        return terminal(result, options.get("width"), options.get("height"))
    from ..errors import SmtqlError
    raise SmtqlError(f"a chart has no {fmt} form: draw it in a terminal, or write it with "
                     f'to "FILE.png" (or .svg, .pdf)')
