"""The terminal format (`--format table`): tables drawn with rich, sized to
the terminal, one field per line when a table cannot fit, and `describe`
in sections. rich is imported here, inside the functions, never at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import io
import re
import shutil
from dataclasses import replace

from .cells import MISSING_TEXT, cut
from ..language.fields import DEFAULT_COLUMNS
from .layout import (DEFAULT_MAX_CHARS, DEFAULT_MAX_LINES, Grid, describe_sections,
                     diff_grid, diff_row_columns, table_grid, vertical_blocks)

if TYPE_CHECKING:  # renderers tell results apart by their shape
    from ..result import RecordResult

FALLBACK_WIDTH = 120  # when the output is not a terminal and $COLUMNS is unset
NARROWEST_TEXT = 10  # a text column squeezed below this makes the table vertical
READABLE_TEXT = 16  # the default columns leave some out rather than squeeze text below this
# The default columns a narrow terminal can spare, in the order they go:
# the label of Sumatra's records already says when; the file is in `describe`.
SPARED_COLUMNS = ("timestamp", "main_file")


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
    if result.shape == 'record':
        console = _console(width, color)
        _draw_describe(console, result, max_chars, max_lines)
        return _text(console)
    if not result.shape in ('table', 'diff'):
        raise TypeError(result)
    pair = result.shape == 'diff' and result.pair
    if result.shape == 'diff' and not pair and not vertical:
        result, grid, pair = fitted_diff(result, width, grid_max_chars(max_chars),
                                         grid_max_lines(max_lines))
    else:
        grid = _grid(result, grid_max_chars(max_chars), grid_max_lines(max_lines))
    if result.shape == 'table' and not vertical:
        grid = narrowed_default(grid, width)
    if not pair and grid.rows and (vertical or min_width(grid) > width):
        # One field per line has room: cut only where asked.
        console = _console(width, color)
        _draw_vertical(console, _grid(result, max_chars, grid_max_lines(max_lines)),
                       skip_missing=result.shape == 'diff')
    elif grid.rows:
        plain = None if color else plain_table(grid, width, grid_max_lines(max_lines))
        if plain is not None:
            return plain
        console = _console(width, color)
        _draw_grid(console, grid, grid_max_lines(max_lines))
    else:
        console = _console(width, color)
    _print(console, grid.footer, style="dim")
    return _text(console)


# The fields a diff of many records leaves out, in this order, when even its
# parameters folded into one column do not fit: the least readable in a
# narrow column first (a path, a hash), the reason (why each run was made)
# last.
SPARED_DIFF_FIELDS = ("executable", "repository", "version", "main_file", "script_arguments",
                      "reason")


def fitted_diff(result, width: int, max_chars, max_lines):
    """A diff of more than two records as it fits `width`: (result, grid,
    by_key). Each layout in turn, the first that fits wins: a row per record
    (or, for a few records, a column per record) with every key, then with
    the keys folded to shallower and shallower depths when no depth was
    asked, then without the fields in SPARED_DIFF_FIELDS one by one. When
    none fits, the most folded with every field (a caller draws it one
    field per line, which has room for the fields)."""
    tried = result
    for candidate in _diff_layouts(result, width):
        if not candidate.dropped:
            tried = candidate
        if rows_min_width(candidate, max_chars, max_lines) <= width:
            return candidate, diff_grid(candidate, max_chars, max_lines), False
        if _labels_fit(candidate, width):  # a few records compare best side by side
            by_key = diff_grid(candidate, max_chars, max_lines, by_key=True)
            if min_width(by_key) <= width:
                return candidate, by_key, True
        if candidate is result and vertical_lines(result) <= VERTICAL_MOST_LINES:
            break  # every key, one field per line, is short enough: no need to fold
    return tried, diff_grid(tried, max_chars, max_lines), False


# A diff too wide for the terminal is drawn one field per line, with every
# key, when that takes at most this many lines; a longer one (a diff of
# hundreds of records: thousands of lines) is folded to fit instead.
VERTICAL_MOST_LINES = 200


def vertical_lines(result) -> int:
    """About how many lines a diff takes one field per line: a rule and a
    line per field a record has, per record (a long value may wrap)."""
    from ..plan.values import MISSING
    lines = 2 * len(result.labels)  # a rule and the label each
    for _, cells in result.columns:
        lines += sum(cell is not MISSING for cell in cells)
    return lines


def rows_min_width(result, max_chars, max_lines) -> int:
    """min_width of the diff drawn a row per record, without drawing it: a
    text column is read only until one cell reaches NARROWEST_TEXT."""
    total = 0
    for column, cells in diff_row_columns(result, max_chars, max_lines):
        if column.kind != "text":
            texts = list(cells)
            total += column_widths(Grid([column], [[[t] for t in texts]]))[0] + 2
            continue
        natural = max(len(line) for line in (column.name.splitlines() or [""]))
        for text in cells:
            if natural >= NARROWEST_TEXT:
                break
            natural = max([natural] + [len(line) for line in text.splitlines()])
        total += max(min(natural, NARROWEST_TEXT), column.narrowest) + 2
    return total - 2


def _diff_layouts(result, width: int):
    """The diffs to try, most shown first (see fitted_diff)."""
    yield result
    if result.folds is None:  # an explicit depth is obeyed
        return
    fit = f"{width} columns"
    shallowest = result
    for depth in result.folds.depths():
        if result.folds.at(depth)[1]:  # folds something
            shallowest = result.folded_to(depth, fit)
            yield shallowest
    spare = [name for name in SPARED_DIFF_FIELDS if name in dict(shallowest.fields)]
    for i in range(1, len(spare) + 1):
        yield replace(shallowest.without_fields(spare[:i]), fitted_to=fit)


def _labels_fit(result, width: int) -> bool:
    """Whether a column per record could fit at all (its header is the label)."""
    return sum(len(label) + 2 for label in result.labels) <= width


def grid_max_chars(max_chars):
    return DEFAULT_MAX_CHARS if max_chars is None else max_chars


def grid_max_lines(max_lines):
    return DEFAULT_MAX_LINES if max_lines is None else max_lines


def _grid(result, max_chars, max_lines) -> Grid:
    if result.shape == 'diff':
        return diff_grid(result, max_chars, max_lines)
    return table_grid(result, max_chars, max_lines)


def min_width(grid: Grid, narrowest: int = NARROWEST_TEXT) -> int:
    """The narrowest the grid can be drawn (columns two spaces apart), its
    text columns `narrowest` wide at most."""
    mins = column_widths(grid, narrowest)
    return sum(mins) + 2 * (len(mins) - 1)


def column_widths(grid: Grid, narrowest: int = NARROWEST_TEXT) -> list[int]:
    """Each column's narrowest: fixed columns at full width, tags at their
    longest tag (with its comma: tags wrap between tags, and inside one
    only after a hyphen or a dot), text columns wrapped to `narrowest` at
    most."""
    widths = []
    for col, (natural, longest_tag) in zip(grid.columns, _measures(grid)):
        if col.kind == "fixed":
            widths.append(natural)
        elif col.kind == "tags":
            widths.append(longest_tag)
        else:
            widths.append(max(min(natural, narrowest), col.narrowest))
    return widths


def natural_widths(grid: Grid) -> list[int]:
    return [natural for natural, _ in _measures(grid)]


def _measures(grid: Grid) -> list[tuple[int, int]]:
    """(its longest line, its longest tag) of each column, header included,
    measured once for a grid: fitting a table asks for them several times,
    and a table may have 70,000 rows."""
    kept = grid.__dict__.get("_measured")
    if kept is None:
        rows = grid.rows
        kept = grid.__dict__["_measured"] = [
            _measure(col, [col.name] + [row[i] for row in rows])
            for i, col in enumerate(grid.columns)]
    return kept


def _measure(col, texts: list[str]) -> tuple[int, int]:
    natural = max(len(t) if t.isascii() and "\n" not in t
                  else max(map(len, t.splitlines() or [""])) for t in texts)
    longest_tag = 0
    if col.kind == "tags":
        longest_tag = max([len(col.name)] + [len(piece) for t in texts[1:]
                                             for tag in t.split(", ")
                                             for piece in _hyphen_pieces(tag + ",")])
    return natural, longest_tag


def allotted_widths(grid: Grid, width: int) -> list[int]:
    """Each column's width, decided here rather than by rich (whose own
    shrinking can crop a fixed column at the edge): every column gets its
    narrowest, then the room left is shared out by water-filling: columns
    that want little more get all of it (a file name stays whole), the
    widest wanting share what remains equally. Tags come first."""
    mins, wants = column_widths(grid), natural_widths(grid)
    widths = list(mins)
    room = width - 2 * (len(mins) - 1) - sum(mins)
    for i, col in enumerate(grid.columns):  # tags first: a wrapped tag list doubles each row
        if col.kind == "tags":  # ... but not at the cost of unreadable text
            reserve = sum(max(0, min(wants[j], READABLE_TEXT) - widths[j])
                          for j, other in enumerate(grid.columns) if other.kind == "text")
            give = max(0, min(wants[i] - widths[i], room - reserve))
            widths[i] += give
            room -= give
    hungry = sorted((i for i in range(len(mins)) if wants[i] > widths[i]),
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
    return Text(text, style=_style_of(text) or "")


def _style_of(cell: str) -> str | None:
    """A table cell's style: missing values dim, a diff's added ones cyan."""
    if cell == MISSING_TEXT:
        return "dim"
    if cell.startswith("<+> "):
        return "cyan"
    return None


def narrowed_default(grid: Grid, width: int) -> Grid:
    """The default columns, too wide for `width`, leave out what the rest
    still says or can spare, in turn: the timestamp when every label
    begins with it (Sumatra's own labels do), then main_file, until reason
    and outcome have READABLE_TEXT characters; the footer says so. Any
    other table, or one that would still not fit, is kept whole (and turns
    vertical)."""
    names = [c.name for c in grid.columns]
    if not set(DEFAULT_COLUMNS) <= set(names) or min_width(grid, READABLE_TEXT) <= width:
        return grid
    label = names.index("label")
    narrowed, left_out = grid, []
    for name in SPARED_COLUMNS:
        i = [c.name for c in narrowed.columns].index(name)
        if name == "timestamp" and not all(_label_says_when(row[label], row[i])
                                           for row in narrowed.rows):
            continue
        narrowed = _without_column(narrowed, i)
        left_out.append(name)
        if min_width(narrowed, READABLE_TEXT) <= width:
            break
    if not left_out or min_width(narrowed) > width:
        return grid
    narrowed.footer = (f"{grid.footer[:-1]}; {' and '.join(left_out)} left out to fit "
                       f"{width} columns: --vertical shows every column)")
    return narrowed


def _without_column(grid: Grid, i: int) -> Grid:
    return Grid(grid.columns[:i] + grid.columns[i + 1:],
                [[row[:i] + row[i + 1:] for row in section] for section in grid.sections],
                grid.footer)


def _label_says_when(label: str, timestamp: str) -> bool:
    """`20200915-235217_37001e` says `2020-09-15 23:52:17`."""
    return len(timestamp) == 19 and label.startswith(
        timestamp[:10].replace("-", "") + "-" + timestamp[11:].replace(":", ""))


def _draw_grid(console, grid: Grid, max_lines: int) -> None:
    """The table: its head drawn by rich, its rows line by line here where
    each cell's lines are plain text that fits its column (rich lays out a
    row in about a millisecond: a minute for 70,000 rows), by rich where
    not (wide or zero-width characters, a line too long). Both give the
    same text (tests/render/test_terminal_rows.py)."""
    widths = allotted_widths(grid, console.width)
    console.print(_rich_table(grid.columns, widths, header=True))
    lines: list[str] = []
    for drawn, cells in _drawn_rows(grid, widths, max_lines, _cell_styles(console)):
        if drawn is None:
            _write_lines(console, lines)
            table = _rich_table(grid.columns, widths, header=False)
            table.add_row(*map(_cell, cells))
            console.print(table)
        else:
            lines += drawn
    _write_lines(console, lines)


def _drawn_rows(grid: Grid, widths, max_lines: int, styles):
    """(its lines, or None where rich must draw it; its cells fitted to
    the widths) of each row, and a blank line between sections (this box
    draws a section's rule as one)."""
    for i, section in enumerate(grid.sections):
        if i:
            yield [""], None
        for row in section:
            cells = [fitted(t, c, w, max_lines) for t, c, w in zip(row, grid.columns, widths)]
            yield _plain_row(cells, grid.columns, widths, styles), cells


def plain_table(grid: Grid, width: int, max_lines: int) -> str | None:
    """The table as `_draw_grid` and the footer draw it without color, made
    here without rich where all of it is plain text within its width (rich
    itself then is not even imported: 40 ms of a command's 300); None
    otherwise. The same text (tests/render/test_terminal_rows.py)."""
    widths = allotted_widths(grid, width)
    head = []
    for col, w in zip(grid.columns, widths):
        if not _plain_line(col.name, w):
            return None  # rich folds a long name onto more lines
        head.append(col.name.rjust(w) if col.right else col.name.ljust(w))
    lines = ["  ".join(head), "─" * (sum(widths) + 2 * (len(widths) - 1))]
    for drawn, _ in _drawn_rows(grid, widths, max_lines, _UNSTYLED):
        if drawn is None:
            return None
        lines += drawn
    if grid.footer:
        if "\n" in grid.footer or not _plain_line(grid.footer, width):
            return None  # rich wraps it
        lines.append(grid.footer)
    return "\n".join(line.rstrip() for line in lines).rstrip("\n")


def _plain_line(text: str, width: int) -> bool:
    """One line of plain text (every character one cell wide) within `width`."""
    return len(text) <= width and text.isprintable() and (text.isascii() or _same_cells(text))


def _rich_table(columns, widths, header: bool):
    from rich import box
    from rich.table import Table as RichTable
    table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                      collapse_padding=True, header_style="bold", show_footer=False,
                      show_header=header)
    for col, width in zip(columns, widths):
        table.add_column(col.name, no_wrap=col.kind == "fixed", overflow="fold",
                         justify="right" if col.right else "left", width=width)
    return table


_UNSTYLED = {"dim": ("", ""), "cyan": ("", "")}


def _cell_styles(console) -> dict:
    """How `_cell`'s styles are written on this console (`_console`: no
    color, or the standard colors): (before, after)."""
    if not console.is_terminal or console.no_color:
        return _UNSTYLED
    from rich.color import ColorSystem
    from rich.style import Style
    return {name: tuple(Style.parse(name).render("\0", color_system=ColorSystem.STANDARD)
                        .split("\0")) for name in ("dim", "cyan")}


def _plain_row(cells, columns, widths, styles) -> list[str] | None:
    """A row's lines, or None when a cell's line is not plain text within
    its column's width (rich then draws the row)."""
    split = []
    for text, width in zip(cells, widths):
        lines = text.split("\n")
        if not all(_plain_line(line, width) for line in lines):
            return None
        split.append(lines)
    height = max(map(len, split))
    out = []
    for k in range(height):
        parts = []
        for text, lines, col, width in zip(cells, split, columns, widths):
            if k >= len(lines):
                parts.append(" " * width)
                continue
            # rich drops a right-aligned line's trailing blanks before aligning it
            line = lines[k].rstrip().rjust(width) if col.right else lines[k].ljust(width)
            style = _style_of(text)
            if style is not None:
                before, after = styles[style]
                line = before + line + after
            parts.append(line)
        out.append("  ".join(parts))
    return out


def _same_cells(line: str) -> bool:
    """Every character of `line` one cell wide, as rich measures it."""
    from rich.cells import cell_len
    return cell_len(line) == len(line)


def _write_lines(console, lines: list[str]) -> None:
    if lines:
        console.file.write("\n".join(lines) + "\n")
        lines.clear()


def fitted(text: str, column, width: int, max_lines: int) -> str:
    """A text cell in its column's width: wrapped, but never to more than
    `max_lines` lines (the cell rules: one line by default), the rest cut
    with `…`; a file name cut from the left, so its name stays."""
    if column.kind == "tags":
        return wrapped_tags(text, width)
    if column.kind != "text" or text == MISSING_TEXT or width < 2:
        return text
    if column.name == "main_file" or max_lines == 1:
        return cut(text, width, max_lines, from_left=column.name == "main_file")
    import textwrap
    lines = [chunk for line in text.splitlines()
             for chunk in (textwrap.wrap(line, width, break_on_hyphens=False) or [""])]
    if len(lines) <= max_lines:
        return "\n".join(lines)
    kept = lines[:max_lines]
    kept[-1] = kept[-1][:width - 2].rstrip() + " …" if len(kept[-1]) > width - 2 else kept[-1] + " …"
    return "\n".join(kept)


def wrapped_tags(text: str, width: int) -> str:
    """Tags in lines of `width`: broken between tags, and inside a tag too
    long for a line only after a hyphen or a dot (`unfinished-` / `review`);
    never cut."""
    tags = text.split(", ")
    lines, line = [], ""
    for i, tag in enumerate(tags):
        word = tag + ("," if i < len(tags) - 1 else "")
        pieces = [word] if len(word) <= width else _hyphen_pieces(word)
        for j, piece in enumerate(pieces):
            sep = " " if line and j == 0 else ""
            if line and len(line) + len(sep) + len(piece) > width:
                lines.append(line)
                line = piece
            else:
                line += sep + piece
    return "\n".join(lines + [line])


def _hyphen_pieces(tag: str) -> list[str]:
    """`unfinished-review` as `unfinished-`, `review` (`needs.check` at its dot)."""
    return re.findall(r"[^-.]*[-.]|[^-.]+$", tag) or [tag]


def _draw_vertical(console, grid: Grid, skip_missing: bool = False) -> None:
    """pgcli's \\G: a rule naming each row, then one field per line; a diff
    leaves out the keys a record lacks (the legend says so), so a record of
    one parameter format is not drawn with every other format's keys."""
    from rich.text import Text
    blocks = vertical_blocks(grid)
    if skip_missing:
        blocks = [(n, [(name, t) for name, t in lines if t != MISSING_TEXT]) for n, lines in blocks]
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


def table_pieces(result, max_chars=None, max_lines=None, width=None, color=False,
                 **options):
    """A describe of several records, one record a piece: a rule with the
    label, then its sections as `describe REF` draws them; a blank line
    between records."""
    from rich.text import Text
    width = width or shutil.get_terminal_size((FALLBACK_WIDTH, 24)).columns
    for i, record in enumerate(result.described()):
        console = _console(width, color)
        console.rule(Text(record.label, style="bold"), align="left")
        _draw_describe(console, record, max_chars, max_lines)
        yield ("\n\n" if i else "") + _text(console)


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
