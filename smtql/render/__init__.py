"""Renderers: results → text in one of the output formats. One function per
format; `render` picks it."""

from __future__ import annotations

from .machine import render_csv, render_json, render_labels
from .text import render_html, render_markdown, render_table

FORMATS = {
    "table": render_table,
    "csv": render_csv,
    "json": render_json,
    "markdown": render_markdown,
    "labels": render_labels,
    "html": render_html,
}


def render(result, fmt: str = "table", **options) -> str:
    return FORMATS[fmt](result, **options)
