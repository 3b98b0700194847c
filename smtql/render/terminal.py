"""The terminal format (`--format table`): tables drawn with rich, sized to
the terminal, one field per line when a table cannot fit, and `describe`
in sections. rich is imported here, inside the functions, never at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import io
import shutil

from .cells import MISSING_TEXT
from .layout import (DEFAULT_MAX_CHARS, DEFAULT_MAX_LINES, Grid, describe_sections,
                     diff_grid, table_grid, vertical_blocks)

if TYPE_CHECKING:  # renderers tell results apart by their shape
    from ..result import RecordResult

FALLBACK_WIDTH = 120  # when the output is not a terminal and $COLUMNS is unset
NARROWEST_TEXT = 10  # a text column squeezed below this makes the table vertical


def render_table(result, max_chars=None, max_lines=None, width=None, color=False,
                 vertical=False, **options) -> str:
    """`vertical`: True forces one field per line; False (the default)
    still turns vertical when the table cannot fit in `width`, except that
    a diff of a few records first tries a column per record."""
    if result.shape == 'count':
        return str(result.count)
    if result.shape == 'text':
        return result.text
    width = width or shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns
    console = _console(width, color)
    if result.shape == 'record':
        _draw_describe(console, result, max_chars, max_lines)
        return _text(console)
    if not result.shape in ('table', 'diff'):
        raise TypeError(result)
    grid = _grid(result, grid_max_chars(max_chars), grid_max_lines(max_lines))
    pair = result.shape == 'diff' and result.pair
    if result.shape == 'diff' and not pair and not vertical and min_width(grid) > width:
        # A few records compare best side by side: a column per record.
        by_key = diff_grid(result, grid_max_chars(max_chars), grid_max_lines(max_lines), by_key=True)
        if min_width(by_key) <= width:
            grid, pair = by_key, True
    if not pair and grid.rows and (vertical or min_width(grid) > width):
        # One field per line has room: cut only where asked.
        _draw_vertical(console, _grid(result, max_chars, grid_max_lines(max_lines)))
    elif grid.rows:
        _draw_grid(console, grid)
    _print(console, grid.footer, style="dim")
    return _text(console)


def grid_max_chars(max_chars):
    return DEFAULT_MAX_CHARS if max_chars is None else max_chars


def grid_max_lines(max_lines):
    return DEFAULT_MAX_LINES if max_lines is None else max_lines


def _grid(result, max_chars, max_lines) -> Grid:
    if result.shape == 'diff':
        return diff_grid(result, max_chars, max_lines)
    return table_grid(result, max_chars, max_lines)


def min_width(grid: Grid) -> int:
    """The narrowest the grid can be drawn (columns two spaces apart)."""
    mins = column_widths(grid)
    return sum(mins) + 2 * (len(mins) - 1)


def column_widths(grid: Grid) -> list[int]:
    """Each column's narrowest: fixed columns at full width, tags at their
    longest tag (with its comma: tags wrap between tags, never inside
    one), text columns wrapped to NARROWEST_TEXT at most."""
    widths = []
    for i, col in enumerate(grid.columns):
        texts = [col.name] + [row[i] for row in grid.rows]
        natural = max(len(line) for t in texts for line in (t.splitlines() or [""]))
        if col.kind == "fixed":
            widths.append(natural)
        elif col.kind == "tags":
            widths.append(max([len(col.name)] + [len(tag) + 1 for t in texts[1:]
                                                 for tag in t.split(", ")]))
        else:
            widths.append(max(min(natural, NARROWEST_TEXT), col.narrowest))
    return widths


def natural_widths(grid: Grid) -> list[int]:
    return [max(len(line) for t in [col.name] + [row[i] for row in grid.rows]
                for line in (t.splitlines() or [""]))
            for i, col in enumerate(grid.columns)]


def allotted_widths(grid: Grid, width: int) -> list[int]:
    """Each column's width, decided here rather than by rich (whose own
    shrinking can crop a fixed column at the edge): every column gets its
    narrowest, then the room left is shared out by water-filling: columns
    that want little more get all of it (a file name stays whole), the
    widest wanting share what remains equally."""
    mins, wants = column_widths(grid), natural_widths(grid)
    widths = list(mins)
    room = width - 2 * (len(mins) - 1) - sum(mins)
    hungry = sorted((i for i in range(len(mins)) if wants[i] > mins[i]),
                    key=lambda i: wants[i] - mins[i])
    while hungry and room > 0:
        share = room // len(hungry) or 1
        i = hungry.pop(0)
        give = min(wants[i] - widths[i], share, room)
        widths[i] += give
        room -= give
    return widths


# ------------------------------------------------------------------ drawing

def _console(width: int, color: bool):
    from rich.console import Console
    return Console(file=io.StringIO(), width=width, force_terminal=color,
                   color_system="standard" if color else None, no_color=not color,
                   highlight=False, markup=False, emoji=False, soft_wrap=False,
                   force_jupyter=False)  # in a kernel rich would display, not return, the text


def _text(console) -> str:
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines()).rstrip("\n")


def _print(console, text: str, style: str | None = None) -> None:
    from rich.text import Text
    if text:
        console.print(Text(text, style=style or ""))


def _cell(text: str):
    from rich.text import Text
    if text == MISSING_TEXT:
        return Text(text, style="dim")
    if text.startswith("<+> "):
        return Text(text, style="cyan")
    return Text(text)


def _draw_grid(console, grid: Grid) -> None:
    from rich import box
    from rich.table import Table as RichTable
    table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      collapse_padding=True, header_style="bold", show_footer=False)
    widths = allotted_widths(grid, console.width)
    for col, width in zip(grid.columns, widths):
        table.add_column(col.name, no_wrap=col.kind == "fixed", overflow="fold",
                         justify="right" if col.right else "left", width=width)
    for i, section in enumerate(grid.sections):
        if i:
            table.add_section()
        for row in section:
            table.add_row(*(_cell(t) for t in row))
    console.print(table)


def _draw_vertical(console, grid: Grid) -> None:
    """pgcli's \\G: a rule naming each row, then one field per line."""
    from rich.text import Text
    blocks = vertical_blocks(grid)
    name_width = max(len(c.name) for c in grid.columns)
    for number, lines in blocks:
        head = f"-[ RECORD {number} ]"
        console.print(Text(head + "-" * max(0, min(console.width, 60) - len(head)), style="dim"))
        _draw_pairs(console, lines, name_width)


def _draw_pairs(console, lines, name_width: int, indent: int = 0) -> None:
    from rich.padding import Padding
    from rich.table import Table as RichTable
    from rich.text import Text
    grid = RichTable.grid(padding=(0, 2))
    grid.add_column(min_width=name_width, no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    for name, text in lines:
        grid.add_row(Text(name), _cell(text))
    console.print(Padding(grid, (0, 0, 0, indent)) if indent else grid)


def _draw_describe(console, result: RecordResult, max_chars, max_lines) -> None:
    from rich.padding import Padding
    from rich.text import Text
    sections = describe_sections(result, max_chars, max_lines)
    name_width = max(len(name) for _, lines in sections for name, _ in lines)
    for i, (title, lines) in enumerate(sections):
        if not lines:
            continue
        if i:
            console.print()
        console.print(Text(title, style="bold underline"))
        named = [(n, t) for n, t in lines if n]
        if named:
            _draw_pairs(console, named, name_width, indent=2)
        for name, text in lines:
            if not name:
                console.print(Padding(Text(text), (0, 0, 0, 2)))
