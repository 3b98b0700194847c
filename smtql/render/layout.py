"""What a result looks like before it is drawn: grids of display text and
sections of (name, text) lines. The terminal, Markdown and HTML renderers
all draw these, so a merged row or a diff reads the same in each."""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Iterator

from dataclasses import dataclass

from ..plan.values import MISSING
from .cells import (MISSING_TEXT, printable, cut, display, duration_text, examples_text, literal,
                    value_column)

if TYPE_CHECKING:  # renderers tell results apart by their shape
    from ..result import DiffResult, RecordResult, Table

DEFAULT_MAX_CHARS = 40
DEFAULT_MAX_LINES = 1
# What `describe` shows of one field at most, unless --max-lines says
# otherwise: a record may hold megabytes of output or parameters, which no
# one reads in a terminal and which a terminal library lays out slowly. The
# machine formats keep everything.
DESCRIBE_MAX_LINES = 200
DESCRIBE_MAX_CHARS = 20_000

# How a column behaves when space is short: "fixed" never wraps (labels,
# timestamps, counts), "tags" wraps between tags but is never cut, "text"
# wraps anywhere.
FIXED_COLUMNS = ("label", "timestamp", "duration", "# records", "records", "outputs")


@dataclass
class Column:
    name: str
    kind: str = "text"  # text, fixed, tags
    right: bool = False  # numbers and durations align right
    narrowest: int = 0  # never drawn narrower (a record's label as a header)


@dataclass
class Grid:
    """A table of display text: rows in sections (a diff shows fields, then
    parameters), a footer that counts."""

    columns: list[Column]
    sections: list[list[list[str]]]
    footer: str = ""

    @property
    def rows(self) -> list[list[str]]:
        return [r for s in self.sections for r in s]


def _column(name: str) -> Column:
    like = value_column(name)  # `mean(duration)` is drawn as `duration` is
    if like in ("tags", "labels"):
        return Column(name, "tags")
    if like in FIXED_COLUMNS or like.startswith("count"):
        return Column(name, "fixed", right=like in ("duration", "# records", "records", "outputs")
                      or like.startswith("count"))
    return Column(name)


def _cell(value, column: str, max_chars, max_lines) -> str:
    text = display(value, column)
    if column == "tags":  # tags are never cut
        return text
    return cut(text, max_chars, max_lines, from_left=column == "main_file")


# ------------------------------------------------------------------ find and keys

def table_grid(result: Table, max_chars=DEFAULT_MAX_CHARS, max_lines=DEFAULT_MAX_LINES) -> Grid:
    if result.kind == "keys":
        return _keys_grid(result, max_chars, max_lines)
    rows = [[_cell(row.get(c, MISSING), c, max_chars, max_lines) for c in result.columns]
            for row in result.rows]
    return Grid([_column(c) for c in result.columns], [rows], table_footer(result))


def _keys_grid(result: Table, max_chars, max_lines) -> Grid:
    rows = [[row["key"], str(row["records"]),
             cut(examples_text(row["examples"]), max_chars, max_lines)] for row in result.rows]
    columns = [Column("key", "fixed"), Column("records", "fixed", right=True), Column("examples")]
    return Grid(columns, [rows], table_footer(result))


def table_footer(result: Table) -> str:
    if result.kind in ("keys", "groups", "tags"):
        noun = {"keys": "key", "groups": "group", "tags": "tag"}[result.kind]
    elif "# records" in result.columns:
        noun = "row"
    else:
        noun = "record"
    n = len(result.rows)
    text = f"({n} {noun}{'' if n == 1 else 's'}"
    if "# records" in result.columns:
        merged = sum(len(g) for g in result.source_rows) if result.source_rows else None
        if merged is not None:
            text += f" from {merged} record{'' if merged == 1 else 's'}"
    if result.hidden is None:
        text += "; how many more match was not counted, to answer sooner"
    elif result.hidden:
        text += f", {result.hidden} more not shown"
    return text + ")"


# ------------------------------------------------------------------ diff

def diff_grid(result: DiffResult, max_chars=DEFAULT_MAX_CHARS, max_lines=DEFAULT_MAX_LINES,
              by_key: bool | None = None) -> Grid:
    """Two records (or `by_key`): one line per difference, a column per
    record. More: one line per record, a column per differing field or
    key."""
    if by_key or (by_key is None and result.pair):
        columns = [Column("", "fixed")] + [Column(printable(label), "text",
                                                  narrowest=len(printable(label)))
                                           for label in result.labels]
        sections = []
        for part in (result.fields, result.params):
            rows = [[name] + [_diff_cell(c, name, max_chars, max_lines, pair=result.pair)
                              for c in cells]
                    for name, cells in part]
            if rows:
                sections.append(rows)
        return Grid(columns, sections or [[]], diff_footer(result))
    columns = diff_row_columns(result, max_chars, max_lines)
    texts = [list(cells) for _, cells in columns]
    rows = [list(row) for row in zip(*texts)]
    return Grid([c for c, _ in columns], [rows], diff_footer(result))


def diff_row_columns(result: DiffResult, max_chars=DEFAULT_MAX_CHARS,
                     max_lines=DEFAULT_MAX_LINES) -> list[tuple[Column, Iterator[str]]]:
    """The columns of a diff drawn a row per record, each with its cells'
    text made as they are read: a renderer sizing a layout reads only as
    far as it needs."""
    columns = [(Column("label", "fixed"), (printable(label) for label in result.labels))]
    folded = set(result.folded)
    for i, (name, cells) in enumerate(result.columns):
        column = _column(name) if i < len(result.fields) else Column(name)
        # A key's name is never wrapped, and a folded cell keeps its digest,
        # the one thing it says: a table that cannot give them this room is
        # folded further (or turns vertical) rather than drawn unreadable.
        column.narrowest = max(len(name), FOLDED_TEXT_WIDTH if name in folded else 0)
        columns.append((column, (_diff_cell(c, name, max_chars, max_lines, pair=False)
                                 for c in cells)))
    return columns


FOLDED_TEXT_WIDTH = len("<+> 01234567")  # a folded cell: Folded's text


LISTED_FIELDS = ("dependencies", "input_data", "output_data")


def _diff_cell(value, name, max_chars, max_lines, pair: bool) -> str:
    if pair and name in LISTED_FIELDS:  # dependencies, data files: one a line
        return "\n".join(value) if value else "(none)"
    text = display(value, name)
    if pair:  # two columns have room: keep the lines, wrap rather than cut
        return text
    return cut(text, max_chars, max_lines, from_left=name == "main_file")


def diff_footer(result: DiffResult) -> str:
    n = len(result.labels)
    if not result.differs:
        what = ("no differences" if n == 2 else "no differences between these records")
        return f"({what}; {result.compared} parameter key{'' if result.compared == 1 else 's'} compared)"
    def some(k, noun):
        return f"{k} {noun}{'' if k == 1 else 's'}"
    parts = [some(len(result.fields), "field")] if result.fields else []
    if result.params:
        parts.append(some(len(result.params),
                          "parameter column" if result.folded else "parameter key"))
    details = [f"{result.compared} parameter key{'' if result.compared == 1 else 's'} compared"]
    fit = f" to fit {result.fitted_to}" if result.fitted_to else ""
    if result.default_depth:
        details.append(f"folded to depth {result.depth}{fit}: `depth {result.depth + 1}` or more "
                       "unfolds")
    elif result.depth is not None:
        details.append(f"depth {result.depth}")
    if result.raw:
        details.append("raw keys")
    if result.ignored:
        details.append(f"ignoring {', '.join(result.ignored)}")
    text = f"({n} records; {' and '.join(parts)} differ; {'; '.join(details)})"
    legend = []
    cells = [c for _, cells in result.params for c in cells]
    if any(c is MISSING for c in cells):
        legend.append(f"{MISSING_TEXT} the record lacks the key (left out when drawn one field per line)")
    if result.folded:
        legend.append(f"<+> the sub-tree differs (same digest, same sub-tree): "
                      f"{_some_names(result.folded)} folded")
    if result.dropped:
        verb = "differs" if len(result.dropped) == 1 else "differ"
        legend.append(f"{_some_names(result.dropped)} {verb} too, left out{fit} "
                      "(`ignore` other columns, or one field per line, shows them)")
    if legend:
        text += "\n" + "; ".join(legend)
    return text


def _some_names(names: list[str], most: int = 6) -> str:
    """The first `most` names, then how many more."""
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"


# A diff drawn where no width is known (a notebook, Markdown) and asked
# without `depth` folds to the deepest depth that leaves this many parameter
# columns or fewer, as smttask's ParameterComparison folds by default.
FOLD_ABOVE = 12


def folded_to_columns(result: DiffResult, most: int = FOLD_ABOVE) -> DiffResult:
    """A diff asked without `depth` folded to `most` parameter columns (at
    depth 0 all parameters are one column)."""
    if result.folds is None or len(result.params) <= most:
        return result
    depth = next(d for d in result.folds.depths() if len(result.folds.at(d)[0]) <= most)
    return result.folded_to(depth, f"{most} parameter columns")


# ------------------------------------------------------------------ vertical

def vertical_blocks(grid: Grid) -> list[tuple[str, list[tuple[str, str]]]]:
    """The grid one row at a time, one field per line (pgcli's \\G)."""
    blocks = []
    for i, row in enumerate(grid.rows, 1):
        blocks.append((f"{i}", [(c.name, text) for c, text in zip(grid.columns, row)]))
    return blocks


# ------------------------------------------------------------------ describe

DESCRIBE_SECTIONS = (
    ("Run", ("label", "timestamp", "tags", "duration", "user", "repeats", "reason", "outcome")),
    ("Code", ("main_file", "version", "diff", "script_arguments", "repository", "executable")),
    ("Environment", ("launch_mode", "platforms", "dependencies")),
    ("Data", ("datastore", "input_data", "output_data")),
    ("Parameters", ("parameters",)),
    ("Output", ("stdout_stderr",)),
)


def describe_sections(result: RecordResult, max_chars=None, max_lines=None
                      ) -> list[tuple[str, list[tuple[str, str]]]]:
    """The record's fields in sections, each a list of (name, text); the
    parameters (an indented tree) and the captured output are blocks of
    their own, with the name ""."""
    fields = result.fields
    listed = {n for _, names in DESCRIBE_SECTIONS for n in names}
    sections = list(DESCRIBE_SECTIONS)
    extra = tuple(n for n in fields if n not in listed)
    if extra:
        sections.insert(-2, ("Other", extra))
    out = []
    for title, names in sections:
        lines = []
        for name in names:
            if name not in fields:
                continue
            value = fields[name]
            if name == "repeats" and value is None:
                continue
            if name == "parameters":
                lines.append(("", printable(tree_text(value, max_lines)) or "(none)"))
            elif name == "stdout_stderr":
                lines.append(("", printable(cut_block(value, max_lines)) if value else "(none)"))
            elif name in ("tags", "input_data", "output_data"):  # never cut
                lines.append((name, describe_text(name, value)))
            else:
                text = cut_block(_describe_text(name, value), max_lines)
                lines.append((name, cut(printable(text), max_chars, max_lines)))
        out.append((title, lines))
    return out


def cut_block(text: str, max_lines: int | None) -> str:
    """`text` cut to `max_lines` (DESCRIBE_MAX_LINES by default) lines and
    DESCRIBE_MAX_CHARS characters, with a last line saying how much was
    left out. Linear in the text shown, whatever the text's size."""
    limit = DESCRIBE_MAX_LINES if max_lines is None else max(max_lines, 1)
    end = 0
    for _ in range(limit):
        end = text.find("\n", end) + 1
        if end == 0:
            end = len(text)
            break
    end = min(end, DESCRIBE_MAX_CHARS)
    if end >= len(text):
        return text
    rest = text[end:]
    lines = rest.count("\n") + (not rest.endswith("\n"))
    return (text[:end].rstrip("\n") + f"\n… ({lines:,} more line{'s' if lines != 1 else ''}, "
            f"{len(rest):,} characters not shown: --format json shows all)")


def describe_text(name: str, value) -> str:
    """A field of `describe` as text, control characters escaped."""
    return printable(_describe_text(name, value))


def _describe_text(name: str, value) -> str:
    if name in ("input_data", "output_data"):
        return "\n".join(_data_line(k) for k in value) if value else "(none)"
    if name == "dependencies":
        return "\n".join(f"{d['name']} {d['version']}".rstrip() for d in value) if value else "(none)"
    if name == "platforms":
        return "\n".join(_platform_line(p) for p in value) if value else "(none)"
    if name == "diff":
        if not value:
            return "(none: the working copy was clean)"
        n = len(value.splitlines())
        return f"{n} line{'' if n == 1 else 's'} of uncommitted changes\n{value}"
    if name == "duration":
        return duration_text(value) or "(not recorded)"
    if name == "timestamp":
        return display(value) + " UTC"
    return display(value, name)


def _data_line(key: dict) -> str:
    size = size_text(key.get("size"))
    parts = [key["path"], key["digest"][:12]] + ([size] if size else [])
    return "  ".join(parts)


def size_text(size) -> str:
    try:
        size = int(size)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


def _platform_line(p: dict) -> str:
    text = " ".join(v for v in (p.get("system_name"), p.get("release"), p.get("machine")) if v)
    host = p.get("network_name")
    return f"{text} on {host}" if host else text


def tree_lines(value, indent: int = 0):
    """A parameter set as an indented tree, YAML-like: a dict as `key:` and
    its entries beneath, a list holding dicts as `- ` items, anything else
    on the line of its key. Lines are made as they are taken, so showing
    the start of a huge set costs only the start."""
    pad = "  " * indent
    if isinstance(value, dict):
        for k, v in value.items():
            if _nested(v):
                yield f"{pad}{k}:"
                yield from tree_lines(v, indent + 1)
            else:
                yield f"{pad}{k}: {literal(v)}"
    elif isinstance(value, (list, tuple)) and _nested(value):
        for item in value:
            sub = tree_lines(item, indent + 1) if _nested(item) else iter([f"{pad}  {literal(item)}"])
            yield f"{pad}- {next(sub).lstrip()}"
            yield from sub
    elif value is not None:
        yield pad + literal(value)


def tree_text(value, max_lines: int | None) -> str:
    """The tree of a parameter set, its first `max_lines` lines
    (DESCRIBE_MAX_LINES by default), saying how much was left out."""
    limit = DESCRIBE_MAX_LINES if max_lines is None else max(max_lines, 1)
    lines = tree_lines(value)
    shown = list(islice(lines, limit))
    more = sum(1 for _ in islice(lines, 1))
    if not more:
        return cut_block("\n".join(shown), max_lines)
    return cut_block("\n".join(shown), None) + (
        f"\n… (cut after {limit} lines; {_count_values(value):,} values in all: "
        "--format json shows all)")


_LEAF_TYPES = frozenset((str, int, float, bool, type(None)))


def _count_values(value) -> int:
    """The values (leaves) of a parameter set, without recursion, level by
    level: only containers are carried down, so a set of millions of leaves
    costs one look at each — in C for a container of plain leaves only (most
    of a large set: lists of numbers), whose types alone are looked at."""
    containers = (dict, list, tuple)
    if not isinstance(value, containers):
        return 1
    n, level = 0, [value]
    while level:
        below: list = []
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            if _LEAF_TYPES.issuperset(map(type, children)):
                n += len(children)
                continue
            inner = [c for c in children if isinstance(c, containers)]
            n += len(children) - len(inner)
            below += inner
        level = below
    return n


def _nested(value) -> bool:
    if isinstance(value, dict):
        return bool(value)
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, dict) and v for v in value)
    return False
