"""The table's rows drawn line by line (render/terminal.py `_draw_grid`) are
exactly what rich draws: on random grids (plain, wide, zero-width and
control characters, multi-line and styled cells, sections, right-aligned
columns), with and without color, the text equals that of rich drawing
every row."""

from __future__ import annotations

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from smtql.render import terminal
from smtql.render.cells import MISSING_TEXT
from smtql.render.layout import Column, Grid

PIECES = ["a", "b", "Z", "0", " ", "é", "—", "…", "中", "e\u0301", "\t", "x" * 30, ",", "-"]
TEXTS = st.one_of(st.just(MISSING_TEXT), st.just(""),
                  st.builds(lambda p, t: p + t, st.sampled_from(["", "<+> "]),
                            st.lists(st.sampled_from(PIECES + ["\n"]), max_size=8).map("".join)))
COLUMNS = st.lists(st.builds(Column, st.sampled_from(["label", "n", "tags", "reason", "μ"]),
                             st.sampled_from(["text", "fixed", "tags"]), st.booleans()),
                   min_size=1, max_size=4)


@st.composite
def grids(draw):
    columns = draw(COLUMNS)
    row = st.lists(TEXTS, min_size=len(columns), max_size=len(columns))
    sections = draw(st.lists(st.lists(row, min_size=1, max_size=4), min_size=1, max_size=3))
    return Grid(columns, sections)


def drawn_by_rich(console, grid, max_lines):
    """Every row through rich: what `_draw_grid` drew before it drew rows itself."""
    widths = terminal.allotted_widths(grid, console.width)
    table = terminal._rich_table(grid.columns, widths, header=True)
    for i, section in enumerate(grid.sections):
        if i:
            table.add_section()
        for row in section:
            table.add_row(*(terminal._cell(terminal.fitted(t, c, w, max_lines))
                            for t, c, w in zip(row, grid.columns, widths)))
    console.print(table)


@settings(max_examples=300, deadline=None)
@given(grids(), st.integers(12, 100), st.booleans(), st.sampled_from([1, 2, 3]))
def test_rows_drawn_line_by_line_are_rich_s(grid, width, color, max_lines):
    assume(terminal.min_width(grid) <= width)  # else render_table draws it vertically
    fast, slow = terminal._console(width, color), terminal._console(width, color)
    terminal._draw_grid(fast, grid, max_lines)
    drawn_by_rich(slow, grid, max_lines)
    assert terminal._text(fast) == terminal._text(slow)


def test_plain_rows_are_not_drawn_by_rich(monkeypatch):
    """The point of it: a table of plain rows asks rich for its head only."""
    grid = Grid([Column("label"), Column("n", "fixed", right=True)],
                [[[f"r{i}", str(i)] for i in range(50)]])
    tables = []
    real = terminal._rich_table
    monkeypatch.setattr(terminal, "_rich_table", lambda *a, **k: tables.append(a) or real(*a, **k))
    console = terminal._console(80, False)
    terminal._draw_grid(console, grid, 1)
    assert len(tables) == 1
    assert terminal._text(console).splitlines()[2:4] == ["r0      0", "r1      1"]


FOOTERS = st.one_of(st.just(""), st.sampled_from(["(3 records)", "(20 of 7,099 records; … "
                                                  "timestamp left out to fit 80 columns)"]),
                    st.lists(st.sampled_from(PIECES), max_size=12).map("".join))


@settings(max_examples=300, deadline=None)
@given(grids(), st.integers(12, 100), st.sampled_from([1, 2, 3]), FOOTERS)
def test_a_plain_table_is_what_rich_draws(grid, width, max_lines, footer):
    """Without color, a table of plain text is drawn without rich at all
    (head, rule, rows, footer): where it is, the text is rich's."""
    assume(terminal.min_width(grid) <= width)
    grid.footer = footer
    plain = terminal.plain_table(grid, width, max_lines)
    slow = terminal._console(width, False)
    drawn_by_rich(slow, grid, max_lines)
    terminal._print(slow, footer, style="dim")
    event("drawn without rich" if plain is not None else "drawn by rich")
    if plain is not None:
        assert plain == terminal._text(slow)


def test_a_plain_table_imports_no_rich():
    import subprocess
    import sys
    code = ("import sys; from smtql.render import terminal; from smtql.render.layout import "
            "Column, Grid; g = Grid([Column('label'), Column('n', 'fixed', right=True)], "
            "[[['r1', '1'], ['r2', '22']]], '(2 records)'); "
            "print(terminal.plain_table(g, 80, 1)); print('rich' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60).stdout.splitlines()
    assert out == ["label   n", "─────────", "r1      1", "r2     22", "(2 records)", "False"]
