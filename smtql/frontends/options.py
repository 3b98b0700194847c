"""What the command line and the REPL share: the output formats, `--set`
values, drawing a result for a terminal or a pipe, and the one y/N prompt
that confirms a write."""

from __future__ import annotations

import os
import sys

from ..errors import EXIT_USAGE, SmtqlError
from ..render import FORMATS as _RENDERERS

FORMATS = tuple(_RENDERERS)  # table, csv, json, markdown, labels, html


class UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


def parse_sets(pairs: list[str]) -> dict:
    """--set NAME=VALUE, each value read as an smtql literal."""
    from ..api import parse_value
    variables = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip().lstrip("$")
        if not sep or not name.isidentifier():
            raise UsageError(f"--set takes NAME=VALUE, not '{pair}'")
        variables[name] = parse_value(text.strip())
    return variables


def render_options(args, fmt: str, color: bool) -> dict:
    """The renderer's options from the command line's (--max-chars,
    --max-lines, --vertical)."""
    options = {}
    if getattr(args, "max_chars", None) is not None:
        options["max_chars"] = args.max_chars
    if getattr(args, "max_lines", None) is not None:
        options["max_lines"] = args.max_lines
    if fmt == "table":
        options["vertical"] = getattr(args, "vertical", False)
        options["color"] = color
    return options


def answers(program) -> int:
    """How many statements of the program print an answer (a `let` does not)."""
    from ..language import ast
    return sum(not isinstance(s, ast.Let) for s in program.statements)


def emit(result, args, out=None, err=None, fmt: str | None = None, color: bool | None = None,
         labelled: bool = False, first: bool = True, pager: str | None = None) -> None:
    """Print a result: its notes on stderr, its text on `out`. `labelled`:
    the program has several answers, so each says which statement it
    answers (in the human formats, as an smtql comment that can be pasted
    back; CSV tables are set apart by a blank line; JSON is one document
    per line). `pager`: the command that shows text longer or wider than
    the screen (`pager_for`)."""
    out, err = out or sys.stdout, err or sys.stderr
    fmt = fmt or args.format
    for note in result.notes:
        print(f"note: {note}", file=err, flush=True)
    if result.silent:
        return
    if result.shape == "plot" and result.path is None and not is_terminal(out):
        raise SmtqlError('a chart is drawn in a terminal; elsewhere write it to a file: '
                         f'plot … to "chart.png" (or .svg, .pdf)', exit_status=EXIT_USAGE)
    if color is None:
        color = is_terminal(out) and "NO_COLOR" not in os.environ
    if result.shape == "records":
        _emit_pieces(result, args, out, err, fmt, color, labelled, first, pager)
        return
    text = result.render(fmt, **render_options(args, fmt, color))
    if labelled and fmt == "json":
        import json
        text = json.dumps(json.loads(text), ensure_ascii=False) if text else text
    elif labelled and fmt in ("table", "markdown") and result.statement:
        text = f"-- {_one_line(result.statement)}\n{text}"
        if not first:
            text = "\n" + text
    elif labelled and fmt == "csv" and not first:
        text = "\n" + text
    if not text:
        return
    if pager and is_terminal(out) and beyond_screen(text):
        page(text, pager, out)
    else:
        print(text, file=out, flush=True)


def _emit_pieces(result, args, out, err, fmt, color, labelled, first, pager) -> None:
    """Print a result drawn record by record (a describe of several) as its
    pieces are made: memory holds one piece, not the text. Through the
    pager when the text is taller or wider than the screen: the pieces are
    kept only until that is known."""
    from ..render import render_pieces
    options = render_options(args, fmt, color)
    if labelled and fmt == "json":
        options["one_line"] = True  # one document per line
    pieces = render_pieces(result, fmt, **options)
    head = ""
    if labelled and fmt in ("table", "markdown") and result.statement:
        head = ("" if first else "\n") + f"-- {_one_line(result.statement)}\n"
    elif labelled and fmt == "csv" and not first:
        head = "\n"
    try:
        if pager and is_terminal(out):
            _page_pieces(head, pieces, pager, out)
        else:
            out.write(head)
            for piece in pieces:
                out.write(piece)
                out.flush()
            out.write("\n")
            out.flush()
    finally:
        pieces.close()  # a pager left early: no more records are read
    for note in result.late_notes():
        print(f"note: {note}", file=err, flush=True)


def _page_pieces(head: str, pieces, pager: str, out) -> None:
    """The pieces on `out` if all fit the screen, else through the pager,
    written to it one by one."""
    import subprocess
    held = head
    for piece in pieces:
        held += piece
        if beyond_screen(held):
            break
    else:
        print(held, file=out, flush=True)
        return
    out.flush()
    try:
        proc = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE,
                                encoding="utf-8", errors="replace")
    except OSError:
        out.write(held)
        for piece in pieces:
            out.write(piece)
        print(file=out, flush=True)
        return
    try:
        proc.stdin.write(held)
        for piece in pieces:
            proc.stdin.write(piece)
        proc.stdin.write("\n")
        proc.stdin.close()
    except BrokenPipeError:  # the user left the pager before reading all
        pass
    except KeyboardInterrupt:  # the pager has Ctrl-C to itself
        pass
    proc.wait()


DEFAULT_PAGER = "less -SRXF"  # as pgcli: keep colours, chop long lines, leave if it fits


def pager_for(args, out=None) -> str | None:
    """The pager command for answers printed on `out` (standard output):
    $PAGER, else less -SRXF; none with --no-pager or off a terminal."""
    if getattr(args, "no_pager", False) or not is_terminal(out or sys.stdout):
        return None
    return os.environ.get("PAGER") or DEFAULT_PAGER


def beyond_screen(text: str) -> bool:
    """Whether the text is taller or wider than the terminal."""
    import shutil
    from rich.cells import cell_len
    from rich.text import Text
    size = shutil.get_terminal_size()
    lines = text.splitlines()
    return len(lines) >= size.lines or any(
        cell_len(Text.from_ansi(line).plain) > size.columns for line in lines)


def page(text: str, pager: str, out) -> None:
    """Show text through the pager (a shell command, as git and pgcli run
    $PAGER); if it cannot start, print the text instead."""
    import subprocess
    out.flush()
    try:
        proc = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE,
                                encoding="utf-8", errors="replace")
    except OSError:
        print(text, file=out, flush=True)
        return
    try:
        proc.communicate(text + "\n")
    except KeyboardInterrupt:  # the pager has Ctrl-C to itself (less stops a search)
        proc.wait()
    except BrokenPipeError:  # the user left the pager before reading all
        proc.wait()
    if proc.returncode == 127:  # the shell found no such command
        print(f"smtql: the pager '{pager}' could not run; set $PAGER, or --no-pager",
              file=sys.stderr)
        print(text, file=out, flush=True)


def _one_line(statement: str, width: int = 100) -> str:
    line = " ".join(statement.split())
    return line if len(line) <= width else line[:width - 1] + "…"


def is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def ask(preview, err=None) -> bool:
    """The write confirmation in a terminal: what would change (the count
    and a few labels), then y/N."""
    print(f"smtql: {preview.summary()}", file=err or sys.stderr, flush=True)
    try:
        answer = input("Go ahead? [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def write_confirmation(args):
    """How a write is confirmed at the command line: --dry-run shows it only;
    --yes goes ahead; in a terminal the user is asked; elsewhere the write
    is refused (exit 2) before anything changes."""
    if getattr(args, "dry_run", False) or getattr(args, "yes", False):
        return None
    if is_terminal(sys.stdin) and is_terminal(sys.stderr):
        return ask
    return _refuse


def _refuse(preview):
    raise SmtqlError(f"{preview.summary()}\nnot a terminal, so not asking: run again with --yes "
                     "to make this change (or --dry-run to see it only); nothing changed",
                     exit_status=EXIT_USAGE)
