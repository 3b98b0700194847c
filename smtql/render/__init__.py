"""Renderers: results → text in one of the output formats. One function per
format; `render` picks it.

    table     the terminal (rich; imported only when this format is drawn)
    csv, json, labels   machine formats, stable (docs/formats.md)
    markdown, html      for lab notebooks and Jupyter
"""

from __future__ import annotations

from .machine import render_csv, render_json, render_labels
from .markup import render_html, render_markdown
from .terminal import render_table

FORMATS = {
    "table": render_table,
    "csv": render_csv,
    "json": render_json,
    "markdown": render_markdown,
    "labels": render_labels,
    "html": render_html,
}


def render(result, fmt: str = "table", **options) -> str:
    """`options`: max_chars, max_lines (cutting text), and for the table
    format width, color and vertical."""
    if result.shape == "plot":
        from .chart import render_chart
        return render_chart(result, fmt, **options)
    return FORMATS[fmt](result, **options)
