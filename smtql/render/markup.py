"""Markdown (for lab notebooks and issues) and HTML (for Jupyter's
`_repr_html_`). Both draw the same grids and sections as the terminal;
neither cuts text unless asked, and multi-line text keeps its line breaks
(`<br>`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import html

from .cells import printable
from .layout import Grid, describe_sections, diff_grid, folded_to_columns, table_grid

if TYPE_CHECKING:  # renderers tell results apart by their shape
    from ..result import RecordResult


def _grid(result, max_chars, max_lines) -> Grid | None:
    if result.shape == 'diff':  # no width known: fold to a dozen columns
        return diff_grid(folded_to_columns(result), max_chars, max_lines)
    if result.shape == 'table':
        return table_grid(result, max_chars, max_lines)
    return None


# ------------------------------------------------------------------ Markdown

def _md(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("&", "&amp;")
            .replace("<", "&lt;").replace("\n", "<br>"))


def render_markdown(result, max_chars=None, max_lines=None, **options) -> str:
    if result.shape == 'count':
        return str(result.count)
    if result.shape == 'text':
        return result.text
    if result.shape == 'record':
        return _markdown_describe(result, max_chars, max_lines)
    grid = _grid(result, max_chars, max_lines)
    if grid is None:
        raise TypeError(result)
    out = ["| " + " | ".join(_md(c.name) for c in grid.columns) + " |",
           "|" + "|".join("--:" if c.right else "---" for c in grid.columns) + "|"]
    out += ["| " + " | ".join(_md(t) for t in row) + " |" for row in grid.rows]
    if grid.footer:
        out += ["", "\n".join(f"*{line}*" for line in grid.footer.splitlines())]
    return "\n".join(out)


def _markdown_describe(result: RecordResult, max_chars, max_lines) -> str:
    out = [f"## Record {printable(result.label)}"]
    for title, lines in describe_sections(result, max_chars, max_lines):
        if not lines:
            continue
        out += ["", f"### {title}", ""]
        named = [(n, t) for n, t in lines if n]
        if named:
            out += ["| field | value |", "|---|---|"]
            out += [f"| {_md(n)} | {_md(t)} |" for n, t in named]
        for name, text in lines:
            if not name:
                out += ["```yaml" if title == "Parameters" else "```", text, "```"]
    return "\n".join(out)


def markdown_pieces(result, max_chars=None, max_lines=None, **options):
    """A describe of several records: each as `describe REF` writes it (a
    heading with the label), records set apart by a rule (`---`)."""
    for i, record in enumerate(result.described()):
        yield ("\n\n---\n\n" if i else "") + _markdown_describe(record, max_chars, max_lines)


# ------------------------------------------------------------------ HTML

def _h(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


# Borders and a shaded header in grey with some transparency, so that they
# read on a light and a dark notebook theme alike. The doubled class
# outweighs JupyterLab's own selectors (`:not(.jp-RenderedMarkdown)
# .jp-RenderedHTMLCommon td` aligns every cell right).
_STYLE = ("<style>.smtql table {border-collapse: collapse; margin: 0.3em 0;}"
          " .smtql.smtql table td, .smtql.smtql table th {text-align: left; vertical-align: top;"
          " padding: 0.2em 0.6em; border: 1px solid rgba(128, 128, 128, 0.45);}"
          " .smtql.smtql table thead th {border-bottom: 2px solid rgba(128, 128, 128, 0.8);"
          " background: rgba(128, 128, 128, 0.12);}"
          " .smtql.smtql table td.num, .smtql.smtql table th.num {text-align: right;"
          " font-variant-numeric: tabular-nums;}"
          " .smtql.smtql table th.section {font-style: italic;}</style>")


def render_html(result, max_chars=None, max_lines=None, limit=None, **options) -> str:
    """`limit`: the rows of a table drawn at most (a notebook's first rows);
    the footer says how many more the result holds."""
    if result.shape == 'record':
        body = _html_describe(result, max_chars, max_lines)
    elif result.shape in ('table', 'diff'):
        grid = _grid(result, max_chars, max_lines)
        for column in grid.columns:
            column.right = column.right or column.name in numeric_columns(result)
        if result.shape == 'table' and limit and len(grid.rows) > limit:
            grid = _first_rows(grid, limit)
        body = _html_grid(grid)
    elif result.shape == 'count':
        body = f"<p>{result.count}</p>"
    elif result.shape == 'text':
        body = f"<pre>{html.escape(result.text)}</pre>"
    else:
        raise TypeError(result)
    notes = "".join(f"<p><em>note: {html.escape(n)}</em></p>" for n in result.notes)
    return f"<div class=\"smtql\">{_STYLE}{body}{notes}</div>"


def numeric_columns(result) -> set[str]:
    """The columns whose values (where a record has one) are all numbers."""
    from ..plan.values import MISSING
    if result.shape == 'table':
        columns = {c: [row.get(c, MISSING) for row in result.rows] for c in result.columns}
    elif result.shape == 'diff' and not result.pair:
        columns = dict(result.columns)
    else:
        return set()
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return {name for name, values in columns.items()
            if any(number(v) for v in values)
            and all(number(v) or v is None or v is MISSING for v in values)}


def _first_rows(grid: Grid, limit: int) -> Grid:
    more = len(grid.rows) - limit
    note = (f"showing the first {limit} rows; {more} more are in the result "
            "(.dataframe(), .labels); %config SmtqlMagic.displaylimit = 0 shows all")
    footer = f"{grid.footer}\n{note}" if grid.footer else note
    return Grid(grid.columns, [grid.rows[:limit]], footer)


_TD_NUM, _TH_NUM = '<td class="num">', '<th class="num">'


def _html_grid(grid: Grid) -> str:
    head = "".join((_TH_NUM if c.right else "<th>") + html.escape(c.name) + "</th>"
                   for c in grid.columns)
    bodies = []
    for section in grid.sections:
        rows = "".join(
            "<tr>" + "".join((_TD_NUM if c.right else "<td>") + _h(t) + "</td>"
                             for c, t in zip(grid.columns, row)) + "</tr>"
            for row in section)
        bodies.append(f"<tbody>{rows}</tbody>")
    footer = f"<p><small>{_h(grid.footer)}</small></p>" if grid.footer else ""
    return f"<table><thead><tr>{head}</tr></thead>{''.join(bodies)}</table>{footer}"


def html_pieces(result, max_chars=None, max_lines=None, limit=None, **options):
    """A describe of several records: a rule and a heading with the label,
    then the record's table. `limit`: the records drawn at most (a
    notebook's first ones); a line says how many more the result holds."""
    yield f"<div class=\"smtql\">{_STYLE}"
    for i, record in enumerate(result.described()):
        if limit and i == limit:
            more = len(result) - limit
            yield (f"<p><small>showing the first {limit} records; {more} more are in the "
                   "result (.labels, .records); %config SmtqlMagic.displaylimit = 0 shows "
                   "all</small></p>")
            break
        yield (f"<hr><h4>{html.escape(record.label)}</h4>"
               + _html_describe(record, max_chars, max_lines))
    yield "".join(f"<p><em>note: {html.escape(n)}</em></p>" for n in result.notes) + "</div>"


def _html_describe(result: RecordResult, max_chars, max_lines) -> str:
    rows = []
    for title, lines in describe_sections(result, max_chars, max_lines):
        if not lines:
            continue
        rows.append(f"<tr><th class=\"section\" colspan=\"2\">{html.escape(title)}</th></tr>")
        for name, text in lines:
            if name:
                rows.append(f"<tr><th>{html.escape(name)}</th><td>{_h(text)}</td></tr>")
            else:
                rows.append(f"<tr><td colspan=\"2\"><pre>{html.escape(text)}</pre></td></tr>")
    return f"<table>{''.join(rows)}</table>"
