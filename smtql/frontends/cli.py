"""The `smtql` command (DESIGN.md, "Command line").

    smtql [options] 'PROGRAM'          run a program
    smtql run FILE.smtql [--set N=V]   run a saved program
    smtql demo [DIR]                   build the demo project and tour it
    smtql repl / smtql undo
    smtql index [--status|--rebuild|--drop]   the parameter index of the store

Exit status: 0 success, 1 an error in the program, 2 bad usage, 3 the store
could not be opened or read, 4 an internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, SmtqlError
from .interrupt import stopping_statements
from .options import FORMATS, UsageError, answers, emit, pager_for, parse_sets, write_confirmation


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _at_least_one(text: str) -> int:
    """--max-chars and --max-lines: a cell cut to nothing would show nothing."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: '{text}'") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="smtql", description="Query a Sumatra record store.",
                epilog="Commands: run FILE.smtql, demo [DIR], repl, undo, index. "
                       "See docs/reference.md for the language.")
    p.add_argument("words", nargs="*", metavar="PROGRAM",
                   help="the program to run (or a command and its arguments)")
    p.add_argument("-C", dest="directory", metavar="PROJECT_DIR",
                   help="the project directory (default: the one holding the current directory)")
    p.add_argument("--store", metavar="URI", help="a Sumatra store: an SQLite or shelve file, "
                   "postgres://… or mysql://…")
    p.add_argument("--project", metavar="NAME", help="the project, when the store holds several")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.add_argument("--max-chars", type=_at_least_one, default=None, metavar="N",
                   help="cut table cells to N characters (default 40)")
    p.add_argument("--max-lines", type=_at_least_one, default=None, metavar="N",
                   help="keep N lines of multi-line cells (default 1)")
    p.add_argument("--vertical", action="store_true",
                   help="one field per line (tables turn vertical by themselves when too wide)")
    p.add_argument("--no-pager", action="store_true",
                   help="never page long answers (at a terminal they go through $PAGER, "
                        "else less -SRXF)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set $NAME (read as an smtql literal); may repeat")
    p.add_argument("--yes", action="store_true", help="confirm writes without asking")
    p.add_argument("--dry-run", action="store_true", help="show what a write would change")
    p.add_argument("--no-index", dest="index", action="store_false", default=None,
                   help="read parameters without the persistent parameter index")
    index = p.add_mutually_exclusive_group()
    index.add_argument("--status", dest="index_action", action="store_const", const="status",
                       help="smtql index: show the index (the default)")
    index.add_argument("--rebuild", dest="index_action", action="store_const", const="rebuild",
                       help="smtql index: build the index anew")
    index.add_argument("--drop", dest="index_action", action="store_const", const="drop",
                       help="smtql index: delete the index")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")
    p.add_argument("--version", action="version", version=f"smtql {__version__}")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_intermixed_args(argv)
    except UsageError as err:
        print(f"smtql: {err}\nTry 'smtql --help'.", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _dispatch(args)
    except UsageError as err:
        print(f"smtql: {err}", file=sys.stderr)
        return EXIT_USAGE
    except SmtqlError as err:
        if args.debug:
            raise
        print(f"smtql: {err.render()}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        print("smtql: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as err:  # a bug: say so plainly, trace only on request
        if args.debug:
            raise
        print(f"smtql: internal error: {type(err).__name__}: {err}\n"
              "(run again with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def _dispatch(args) -> int:
    words = args.words
    if words and words[0] in COMMANDS:
        return COMMANDS[words[0]](args, words[1:])
    if getattr(args, "index_action", None):
        raise UsageError("--status, --rebuild and --drop go with the index command: "
                         "smtql index --status")
    if args.set and not words:
        raise UsageError("--set needs a program")
    if words and not "".join(words).strip():
        raise UsageError("the program is empty\n" + build_parser().format_usage().rstrip())
    if not words:
        if sys.stdin.isatty():
            return _command_repl(args, [])
        return _run_source(args, sys.stdin.read(), filename="<stdin>")
    return _run_source(args, " ".join(words))


def _command_run(args, rest) -> int:
    if len(rest) != 1:
        raise UsageError("usage: smtql run FILE.smtql [--set NAME=VALUE ...]")
    from ..api import read_program_file
    path = rest[0]
    if not os.path.exists(path):
        raise UsageError(f"no such file: {path}")
    return _run_source(args, read_program_file(path), filename=path)


def _command_demo(args, rest) -> int:
    if len(rest) > 1:
        raise UsageError("usage: smtql demo [DIR]")
    from ..demo.common import NotADemoDirectory
    from ..demo.tour import run_demo
    try:
        return run_demo(rest[0] if rest else os.path.join("examples", "demo"), args)
    except NotADemoDirectory as err:  # the user chose the wrong directory: usage
        raise UsageError(f"demo: {err}") from None


def _command_repl(args, rest) -> int:
    if rest:
        raise UsageError("usage: smtql repl [options] (type programs at the prompt)")
    from .repl import run_repl
    return run_repl(args)


def _command_undo(args, rest) -> int:
    if rest:
        raise UsageError("usage: smtql undo [options] (reverts the last write on the store)")
    return _run_source(args, "undo")


def _command_index(args, rest) -> int:
    """`smtql index [--status|--rebuild|--drop]`: the store's parameter
    index (kept in the user's cache directory, never in the store)."""
    if rest:
        raise UsageError("usage: smtql index [--status|--rebuild|--drop] [options]")
    from ..api import connect
    from ..stores.django.index_command import manage
    with connect(args.directory, store=args.store, project=args.project, index=True) as conn:
        print(manage(conn.store, args.index_action or "status"))
    return EXIT_OK


def _check_utf8(source: str, filename: str | None) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates (in argv and
    a terminal's stdin): a mistake in the program, said where it is."""
    for i, ch in enumerate(source):
        if "\udc80" <= ch <= "\udcff":
            err = SmtqlError(f"the program is not UTF-8 text: the byte 0x{ord(ch) - 0xdc00:02x} "
                             "is not a character")
            raise err.at(source.encode("utf-8", "backslashreplace").decode("utf-8"),
                         i, i + 1, filename=filename)


def _run_source(args, source: str, filename: str | None = None) -> int:
    from ..api import connect, parse_program
    _check_utf8(source, filename)
    from ..language.ast import variables_used
    program = parse_program(source, filename=filename)  # syntax errors before opening the store
    variables = parse_sets(args.set)
    for name in sorted(set(variables) - variables_used(program)):
        print(f"smtql: warning: --set {name}=…: the program never uses ${name}", file=sys.stderr)
    labelled = answers(program) > 1
    with connect(args.directory, store=args.store, project=args.project,
                 index=getattr(args, "index", None)) as conn:
        results = conn.stream(program, variables=variables, dry_run=args.dry_run,
                              confirm=write_confirmation(args))
        shown, pager = 0, pager_for(args)
        with stopping_statements(conn.store):  # Ctrl-C stops the running SQL at once
            for result in results:
                emit(result, args, labelled=labelled, first=shown == 0, pager=pager)
                shown += not result.silent
    return EXIT_OK


COMMANDS = {"run": _command_run, "demo": _command_demo, "repl": _command_repl,
            "undo": _command_undo, "index": _command_index}





if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
