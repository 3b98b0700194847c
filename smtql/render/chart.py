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


def y_axes(result, series=None) -> list[tuple[str, str, list]]:
    """The y axes a chart needs: (unit, label, series) for each unit its
    series have, in the order first met. The label names the columns drawn
    on the axis (the x column for a chart of one column)."""
    groups: dict[str, list] = {}
    for s in result.series if series is None else series:
        groups.setdefault(s.y_unit, []).append(s)
    out = []
    for unit, members in groups.items():
        names = list(dict.fromkeys(s.column for s in members if s.column))
        out.append((unit, ", ".join(names) or ", ".join(result.ys) or result.x, members))
    return out


# How far right each y axis after the twin is set (in axes widths).
_AXIS_OFFSET = 0.14


def _axis(ax, j: int):
    """The j-th y axis: the first is `ax`, the next share its x axis and
    have their ticks and label on the right."""
    if j == 0:
        return ax
    twin = ax.twinx()
    if j > 1:
        twin.spines.right.set_position(("axes", 1 + _AXIS_OFFSET * (j - 1)))
    return twin


def figure(result):
    """A matplotlib Figure of the chart (no window: the Agg canvas)."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    series = [s for s in result.series if s.x or s.y]
    xs = [v for s in series for v in s.x]
    if result.kind == "hist":
        x_label, xsize = axis_label(result.x, result.x_unit, [v for s in series for v in s.y])
        for s in series:
            ax.hist(_scaled(s.y, xsize), bins="auto", alpha=0.7, label=s.name)
        ax.set_xlabel(x_label)
        ax.set_ylabel("records")
    else:
        x_label, xsize = axis_label(result.x, result.x_unit, xs if result.x_unit == "duration"
                                    else ())
        categories = sorted({str(v) for v in xs}) if result.kind in ("bar", "box") else []
        width = 0.8 / max(1, len(series))
        place = {id(s): i for i, s in enumerate(series)}  # one color and bar slot each
        for j, (unit, names, members) in enumerate(y_axes(result, series)):
            on = _axis(ax, j)
            y_label, ysize = axis_label(names, unit, [v for s in members for v in s.y])
            for s in members:
                _draw(on, result.kind, s, place[id(s)], len(series), categories, width,
                      _scaled(s.x, xsize) if result.x_unit == "duration" else s.x,
                      _scaled(s.y, ysize))
            on.set_ylabel(y_label)
        if categories:
            ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right")
        ax.set_xlabel(x_label)
        if result.x_unit == "time":
            fig.autofmt_xdate()
    axes = fig.axes
    if result.color is not None or len(series) > 1:
        handles, labels = [], []
        for a in axes:
            h, l = a.get_legend_handles_labels()
            handles += h
            labels += l
        # on the top axes, so no twin's lines are drawn over it
        axes[-1].legend(handles, labels, title=result.color)
    ax.set_title(result.title)
    return fig


def _draw(ax, kind: str, s, i: int, n: int, categories: list, width: float, x, y) -> None:
    """Series `s` (the i-th of n, its values scaled: x, y) on `ax`. The
    color is the series' place among all, as twin axes each restart the
    color cycle."""
    color = f"C{i % 10}"
    if kind == "line":
        ax.plot(x, y, marker="o", label=s.name, color=color)
    elif kind == "scatter":
        ax.scatter(x, y, label=s.name, color=color)
    elif kind == "bar":
        where = [categories.index(str(v)) + (i - (n - 1) / 2) * width for v in s.x]
        ax.bar(where, y, width=width, label=s.name, color=color)
    elif kind == "box":
        groups = [[yv for xv, yv in zip(s.x, y) if str(xv) == c] for c in categories]
        ax.boxplot(groups, positions=[j + (i - (n - 1) / 2) * width
                                      for j in range(len(categories))],
                   widths=width * 0.9)


def save(result, path) -> Path:
    """Write the chart to PATH (PNG, SVG or PDF by its extension)."""
    from ..errors import QueryError
    path = Path(os.path.expanduser(path))
    if path.suffix.lower() not in FILE_FORMATS:
        raise QueryError(f"cannot write a chart to {path}: the file must end in "
                         + ", ".join(FILE_FORMATS))
    result.figure.savefig(path, format=path.suffix[1:].lower(), bbox_inches="tight")
    return path


# The y axes of a terminal chart: plotext has a left and a right one.
_SIDES = ("left", "right")


def terminal(result, width: int | None = None, height: int | None = None) -> str:
    """The chart drawn in text (plotext), for a terminal."""
    import plotext as plt
    plt.clear_figure()
    plt.plotsize(width or 80, height or 20)
    plt.theme("clear")
    left_out = []
    if result.kind == "hist":
        ys = [v for s in result.series for v in s.y]
        label, size = axis_label(result.x, result.x_unit, ys)
        for s in result.series:
            plt.hist(_scaled(s.y, size), label=s.name if len(result.series) > 1 else None)
        plt.xlabel(label)
    else:
        dates = result.x_unit == "time"
        if dates:
            plt.date_form("Y-m-d")
        axes = y_axes(result)
        for side, (unit, names, members) in zip(_SIDES, axes):
            y_label, size = axis_label(names, unit, [v for s in members for v in s.y])
            for s in members:
                x = [plt.datetime_to_string(v) if isinstance(v, datetime) else v for v in s.x] \
                    if dates else [str(v) if isinstance(v, str) else v for v in s.x]
                label = s.name if len(result.series) > 1 else None
                if label is not None and len(axes) > 1:
                    label += f" ({side})"  # which axis to read it against
                draw = {"line": plt.plot, "scatter": plt.scatter, "bar": plt.bar,
                        "box": plt.scatter}[result.kind]
                draw(x, _scaled(s.y, size), label=label, yside=side)
            plt.ylabel(y_label, yside=side)
        left_out = [names for _, names, _ in axes[len(_SIDES):]]
        plt.xlabel(result.x)
    plt.title(result.title)
    text = plt.build()
    if left_out:
        text += ("\nnot drawn: " + "; ".join(left_out) + " (a terminal chart has two y axes, "
                 'one per unit; plot … to "chart.png" draws every one)')
    return text


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
