"""Renderers: results → text in one of the output formats. One function per
format; `render` picks it.

    table     the terminal (rich; imported only when this format is drawn)
    csv, json, labels   machine formats, stable (docs/formats.md)
    markdown, html      for lab notebooks and Jupyter
"""

from __future__ import annotations

from .machine import csv_pieces, json_pieces, labels_pieces, render_csv, render_json, render_labels
from .markup import html_pieces, markdown_pieces, render_html, render_markdown
from .terminal import render_table, table_pieces

FORMATS = {
    "table": render_table,
    "csv": render_csv,
    "json": render_json,
    "markdown": render_markdown,
    "labels": render_labels,
    "html": render_html,
}

# A result drawn record by record (shape "records": a describe of several),
# so the text is written as it is made, never held whole.
PIECES = {
    "table": table_pieces,
    "csv": csv_pieces,
    "json": json_pieces,
    "markdown": markdown_pieces,
    "labels": labels_pieces,
    "html": html_pieces,
}


def render_pieces(result, fmt: str = "table", **options):
    """The text `render` gives, in pieces to write one after another (one
    piece unless the result is drawn record by record)."""
    if result.shape == "records":
        yield from PIECES[fmt](result, **options)
    else:
        yield render(result, fmt, **options)


def render(result, fmt: str = "table", **options) -> str:
    """`options`: max_chars, max_lines (cutting text), and for the table
    format width, color and vertical."""
    if result.shape == "records":
        return "".join(PIECES[fmt](result, **options))
    if result.shape == "plot":
        from .chart import render_chart
        return render_chart(result, fmt, **options)
    return FORMATS[fmt](result, **options)
