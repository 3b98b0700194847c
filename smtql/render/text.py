"""Formats people read: a plain text table, Markdown and HTML."""

from __future__ import annotations

import html

from ..result import CountResult, RecordResult, Table, TextResult
from .cells import cut, display

DEFAULT_MAX_CHARS = 40
DEFAULT_MAX_LINES = 1


def _cells(result: Table, max_chars, max_lines) -> list[list[str]]:
    rows = []
    for row in result.rows:
        line = []
        for col in result.columns:
            text = display(row.get(col), col)
            if col != "tags":  # tags are never cut
                text = cut(text, max_chars, max_lines, from_left=col == "main_file")
            line.append(text.replace("\n", " ⏎ "))
        rows.append(line)
    return rows


def _footer(result: Table) -> str:
    noun = "key" if result.kind == "keys" else ("row" if "# records" in result.columns else "record")
    n = len(result.rows)
    text = f"({n} {noun}{'' if n == 1 else 's'}"
    if result.hidden:
        text += f", {result.hidden} more not shown"
    return text + ")"


def render_table(result, max_chars=DEFAULT_MAX_CHARS, max_lines=DEFAULT_MAX_LINES, **options) -> str:
    if isinstance(result, Table):
        cells = _cells(result, max_chars, max_lines)
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
        def line(items):
            return "  ".join(s.ljust(w) for s, w in zip(items, widths)).rstrip()
        out = [line(result.columns), line(["-" * w for w in widths])]
        out += [line(r) for r in cells]
        out.append(_footer(result))
        return "\n".join(out)
    if isinstance(result, CountResult):
        return str(result.count)
    if isinstance(result, RecordResult):
        return _vertical(result)
    if isinstance(result, TextResult):
        return result.text
    raise TypeError(result)


def _vertical(result: RecordResult) -> str:
    width = max(len(k) for k in result.fields)
    out = []
    for name, value in result.fields.items():
        if name == "parameters":
            out.append(f"{name}:")
            out.extend("  " + l for l in tree_lines(value))
            continue
        if isinstance(value, list):
            text = "\n".join(value) if value else ""
        else:
            text = display(value, name)
        lines = text.splitlines() or [""]
        out.append(f"{name.ljust(width)}  {lines[0]}")
        out.extend(" " * (width + 2) + l for l in lines[1:])
    return "\n".join(out)


def tree_lines(value, indent: int = 0) -> list[str]:
    """A parameter set as an indented tree."""
    pad = "  " * indent
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if isinstance(v, dict) and v:
                out.append(f"{pad}{k}:")
                out.extend(tree_lines(v, indent + 1))
            else:
                out.append(f"{pad}{k}: {display(v)}")
        return out
    return [pad + display(value)]


def render_markdown(result, max_chars=None, max_lines=None, **options) -> str:
    if not isinstance(result, Table):
        return render_table(result)
    cells = _cells(result, max_chars, max_lines)
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(esc(c) for c in result.columns) + " |",
           "|" + "|".join("---" for _ in result.columns) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in cells]
    return "\n".join(out)


def render_html(result, max_chars=None, max_lines=None, **options) -> str:
    if isinstance(result, Table):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in result.columns)
        body = []
        for row in result.rows:
            tds = "".join(
                "<td>" + html.escape(cut(display(row.get(c), c), max_chars, max_lines)).replace("\n", "<br>") + "</td>"
                for c in result.columns)
            body.append(f"<tr>{tds}</tr>")
        notes = "".join(f"<p><em>{html.escape(n)}</em></p>" for n in result.notes)
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
                f"<p>{html.escape(_footer(result))}</p>{notes}")
    return "<pre>" + html.escape(render_table(result)) + "</pre>"
