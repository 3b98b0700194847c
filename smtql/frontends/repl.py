"""The REPL: `smtql` at a terminal with no program, or `smtql repl`.

On prompt-toolkit, as litecli and pgcli are: a Pygments lexer for
highlighting (smtql.frontends.lexer), a completer that knows where the cursor is
(smtql.frontends.completion) over store vocabularies loaded in a background thread,
a file history with auto-suggestion, and multi-line input that runs when
the program is complete (it parses, or ends with `;`). `let` bindings last
for the session. A mistake prints its message and caret and the REPL goes
on; Ctrl-C cancels the input or the running query; Ctrl-D leaves.

Backslash commands (`\\help`, `\\format`, `\\store`, `\\vars`, …) are
registered in one place, with the `command` decorator.

When standard input is not a terminal, `smtql repl` reads programs line by
line the same way (complete → run), without prompt or editing.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from pathlib import Path

from ..errors import EXIT_OK, EXIT_PROGRAM, SmtqlError
from .commands import COMMANDS, command
from .interrupt import stopping_statements
from .options import FORMATS, answers, ask, emit, pager_for, parse_sets

PROMPT = "smtql> "
EDIT_AT_END = re.compile(r"\s*\\(e|edit)$")  # `PROGRAM \e` edits the program
CONTINUATION = "   ..> "


# ------------------------------------------------------------------ commands

@command("\\help", "\\?", "\\h", help="this help")
def _help(repl: "Repl", arg: str) -> None:
    lines = [
        "Type a program: statements end with ';', and a line that is a complete",
        "program runs at Enter (Alt-Enter always starts a new line). Tab completes;",
        "Ctrl-C cancels the input or the running query; Ctrl-D leaves.",
        "`let NAME = FILTER` binds $NAME for the rest of the session.",
        "",
        "Commands:",
    ]
    seen = []
    for cmd in COMMANDS.values():
        if cmd not in seen:
            seen.append(cmd)
    width = max(len(f"{c.name} {c.usage}".strip()) for c in seen)
    for cmd in seen:
        head = f"{cmd.name} {cmd.usage}".strip()
        alias = f" (also {', '.join(cmd.aliases)})" if cmd.aliases else ""
        lines.append(f"  {head.ljust(width)}  {cmd.help}{alias}")
    lines.append("")
    lines.append("The language, the REPL's keys and these commands: docs/reference.md.")
    repl.say("\n".join(lines))


@command("\\format", "\\f", usage="[FMT]",
         help="show or set the output format: " + ", ".join(FORMATS))
def _format(repl: "Repl", arg: str) -> None:
    if not arg:
        repl.say(f"format: {repl.format}")
        return
    repl.format = choice("\\format", arg, FORMATS, what="format")
    repl.say(f"format: {repl.format}")


@command("\\G", "\\x", usage="[on|off]",
         help="the vertical view (one field per line): toggle, or turn on or off")
def _vertical(repl: "Repl", arg: str) -> None:
    repl.args.vertical = switch("\\G", arg, repl.args.vertical)
    repl.say(f"vertical view: {'on' if repl.args.vertical else 'off'}")


@command("\\timing", "\\t", usage="[on|off]",
         help="say how long each program took: toggle, or turn on or off")
def _timing(repl: "Repl", arg: str) -> None:
    repl.timing = switch("\\timing", arg, repl.timing)
    repl.say(f"timing: {'on' if repl.timing else 'off'}")


@command("\\pager", usage="[on|off]",
         help="page answers longer than the screen ($PAGER, else less -SRXF): toggle, on or off")
def _pager(repl: "Repl", arg: str) -> None:
    repl.paging = switch("\\pager", arg, repl.paging)
    repl.say(f"pager: {'on' if repl.paging else 'off'}")


@command("\\o", "\\out", usage="[FILE]",
         help="send answers to FILE (written anew); \\o alone sends them to the screen again")
def _output(repl: "Repl", arg: str) -> None:
    repl.send_to(os.path.expanduser(arg) if arg else None)
    repl.say(f"answers go to {arg}" if arg else "answers go to the screen")


@command("\\e", "\\edit", usage="[PROGRAM]",
         help="edit the program before \\e (else the last one) in $EDITOR; it comes back "
              "to the prompt to run")
def _edit(repl: "Repl", arg: str) -> None:
    # `\e PROGRAM` edits that program; `PROGRAM \e` (as psql) is caught by execute
    repl.edit(arg)


@command("\\tags", help="the store's tags, with how many records carry each")
def _tags(repl: "Repl", arg: str) -> None:
    with repl.lock:
        counts = repl.require_store().tag_counts()
    repl.say(counted(counts, "tag", "no record carries a tag"))


@command("\\keys", help="the store's parameter keys, with how many records have each")
def _keys(repl: "Repl", arg: str) -> None:
    with repl.lock:
        counts = repl.require_store().param_keys()
    repl.say(counted(counts, "parameter key", "no record has parameters"))


def counted(counts, noun: str, empty: str) -> str:
    """`name  count` lines, most common first (ties by name), and a total."""
    if not counts:
        return empty
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    width = max(len(name) for name, _ in items)
    lines = [f"{name.ljust(width)}  {n}" for name, n in items]
    lines.append(f"({len(items)} {noun}{'' if len(items) == 1 else 's'})")
    return "\n".join(lines)


def choice(name: str, arg: str, choices, what: str = "argument") -> str:
    """`arg` if it is one of `choices`, else an error naming the closest."""
    if arg in choices:
        return arg
    from ..errors import closest
    near = closest(arg, choices, n=1)
    hint = f"did you mean {near[0]}? " if near else ""
    raise SmtqlError(f"{name}: unknown {what} '{arg}'; {hint}{name} takes "
                     f"{' or '.join(choices) if len(choices) == 2 else 'one of ' + ', '.join(choices)}")


def switch(name: str, arg: str, current: bool) -> bool:
    """An on/off setting: no argument toggles it."""
    if not arg:
        return not current
    return choice(name, arg.lower(), ("on", "off")) == "on"


@command("\\store", "\\s", usage="[DIR|PATH|URI]",
         help="show the store, or open another: a project directory, a store file or URI")
def _store(repl: "Repl", arg: str) -> None:
    if not arg:
        repl.say(repl.store.describe() if repl.store is not None else "no store is open")
        return
    repl.open(arg)
    repl.say(f"store: {repl.store.describe()}")


@command("\\vars", "\\v", help="the $variables bound so far")
def _vars(repl: "Repl", arg: str) -> None:
    from ..language.bind import is_filter
    from ..language.unparse import filter_text, value_text
    if not repl.variables:
        repl.say("no variables are bound; `let NAME = FILTER` binds one")
        return
    for name, value in repl.variables.items():
        text = filter_text(value) if is_filter(value) else _value_text(value, value_text)
        repl.say(f"${name} = {text}")


def _value_text(value, value_text) -> str:
    try:
        return value_text(value)
    except Exception:  # noqa: BLE001 - a Python value set from outside
        return repr(value)


@command("\\run", "\\i", usage="FILE",
         help="run a saved .smtql file in this session (its `let`s stay bound)")
def _run(repl: "Repl", arg: str) -> None:
    from ..api import read_program_file
    if not arg:
        raise SmtqlError("usage: \\run FILE.smtql")
    path = os.path.expanduser(arg)
    if not os.path.isfile(path):
        raise SmtqlError(f"no such file: {arg}")
    repl.run_program(read_program_file(path), filename=arg)


@command("\\refresh", help="reload the store's tags, keys and labels for completion")
def _refresh(repl: "Repl", arg: str) -> None:
    repl.load_vocabulary()
    repl.say("reloading the store's vocabulary in the background")


@command("\\quit", "\\q", help="leave (as Ctrl-D does)")
def _quit(repl: "Repl", arg: str) -> None:
    raise EOFError


# ------------------------------------------------------------------ input

def is_complete(text: str) -> bool:
    """Whether Enter runs the input: it is a backslash command, ends with
    `;`, parses, or has a mistake before its end (which is then shown). A
    program that only ends too early (`tag finished and`) goes on on the
    next line."""
    from lark.exceptions import UnexpectedEOF, UnexpectedInput, UnexpectedToken
    from ..language.parser import lark_parser

    stripped = text.strip()
    if not stripped or stripped.startswith("\\") or stripped.endswith(";") \
            or EDIT_AT_END.search(stripped):
        return True
    try:
        lark_parser().parse(text, start="program")
    except (UnexpectedEOF,):
        return False
    except UnexpectedToken as err:
        return err.token.type != "$END"
    except UnexpectedInput:
        return True
    return True


def history_path() -> Path:
    """$SMTQL_HISTORY, else `history` in the user's data directory."""
    if os.environ.get("SMTQL_HISTORY"):
        return Path(os.environ["SMTQL_HISTORY"]).expanduser()
    try:
        from platformdirs import user_data_dir
        base = Path(user_data_dir("smtql", appauthor=False))
    except ImportError:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "smtql"
    return base / "history"


# ------------------------------------------------------------------ the REPL

class Repl:
    """One session: a store, the variables bound so far, the output format
    and the store's vocabulary for completion."""

    def __init__(self, args, *, out=None, err=None):
        self.args = args
        self.format = getattr(args, "format", None) or "table"
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.variables: dict = parse_sets(getattr(args, "set", None) or [])
        self.store = None
        self.lock = threading.Lock()  # one user of the store at a time
        from .vocabulary import Vocabulary
        self.vocab = Vocabulary()
        self.color = False
        self.errors = 0
        args.vertical = bool(getattr(args, "vertical", False))  # \G toggles it
        self.timing = False
        self.paging = not getattr(args, "no_pager", False)
        self.at_terminal = False  # the pager and \e need one
        self.sink = None  # the file \o sends answers to
        self.last_program = ""  # what \e edits when given nothing
        self.pending = ""  # what \e gave back, for the next prompt

    # -- output
    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def complain(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    def send_to(self, path: str | None) -> None:
        """Answers to a file from now on (\\o FILE), or to the screen (None)."""
        sink = None
        if path is not None:
            try:
                sink = open(path, "w", encoding="utf-8")
            except OSError as err:
                raise SmtqlError(f"\\o: cannot write {path}: {err.strerror or err}") from None
        if self.sink is not None:
            self.sink.close()
        self.sink = sink

    def edit(self, text: str) -> None:
        """Open the program (else the last one run) in $VISUAL or $EDITOR; what
        the editor saves comes back to the next prompt, to run with Enter."""
        import shlex
        import subprocess
        import tempfile
        if not self.at_terminal:
            raise SmtqlError("\\e needs a terminal (an editor, then the prompt)")
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.TemporaryDirectory(prefix="smtql-") as tmp:
            path = Path(tmp) / "program.smtql"
            path.write_text((text.strip() or self.last_program).rstrip() + "\n", encoding="utf-8")
            status = subprocess.call(f"{editor} {shlex.quote(str(path))}", shell=True)
            if status != 0:
                raise SmtqlError(f"\\e: the editor '{editor}' exited with status {status}; "
                                 "nothing was changed")
            self.pending = path.read_text(encoding="utf-8").strip()

    def require_store(self):
        if self.store is None:
            raise SmtqlError("no store is open; open one with \\store DIR|PATH|URI")
        return self.store

    # -- the store
    def open(self, where: str | None = None) -> None:
        """Open the store named by the command line, or by `where` (a
        project directory, a store file or a URI), and start loading its
        vocabulary."""
        from ..api import connect
        args = self.args
        if where is None:
            conn = connect(getattr(args, "directory", None), store=getattr(args, "store", None),
                           project=getattr(args, "project", None),
                           index=getattr(args, "index", None))
        elif os.path.isdir(where):
            conn = connect(where)
        else:
            conn = connect(store=where)
        old, self.store = self.store, conn.store
        if old is not None:
            with self.lock:
                old.close()
        self.load_vocabulary()

    def load_vocabulary(self) -> threading.Thread:
        from .vocabulary import Vocabulary
        self.vocab = Vocabulary()
        return self.vocab.start(self.store, self.lock)

    # -- running input
    def execute(self, text: str) -> None:
        """Run one input: a backslash command or a program. Mistakes are
        printed, never raised (except EOFError from \\quit)."""
        stripped = text.strip()
        if not stripped:
            return
        try:
            if stripped.startswith("\\"):
                self.run_command(stripped)
            elif EDIT_AT_END.search(stripped):  # `PROGRAM \e`: edit it
                self.edit(EDIT_AT_END.sub("", stripped))
            else:
                self.last_program = stripped
                self.run_program(text)
        except SmtqlError as err:
            self.errors += 1
            self.complain(err.render())
        except KeyboardInterrupt:
            self.complain("cancelled")
        except EOFError:
            raise
        except Exception as err:  # a bug: say so, and go on
            self.errors += 1
            if getattr(self.args, "debug", False):
                import traceback
                traceback.print_exc(file=self.err)
            else:
                self.complain(f"internal error: {type(err).__name__}: {err}\n"
                              "(start smtql with --debug for the traceback)")

    def run_command(self, text: str) -> None:
        name, _, arg = text.partition(" ")
        cmd = COMMANDS.get(name)
        if cmd is None:
            from ..errors import closest
            near = closest(name, list(COMMANDS))
            raise SmtqlError(f"unknown command {name}" + (
                f"; did you mean {near[0]}?" if near else "; \\help lists them"))
        if arg.strip() and not cmd.usage:
            raise SmtqlError(f"{cmd.name} takes no argument (not '{arg.strip()}')")
        cmd.handler(self, arg.strip())

    def run_program(self, text: str, filename: str | None = None) -> None:
        from ..api import Connection, parse_program
        program = parse_program(text, filename=filename)
        if not program.statements:
            return
        store = self.require_store()
        dry_run = bool(getattr(self.args, "dry_run", False))
        # a write asks first, as at the command line
        confirm = None if dry_run or getattr(self.args, "yes", False) else self.confirm_write
        results = Connection(store).stream(program, variables=self.variables,
                                           dry_run=dry_run, confirm=confirm)
        labelled, shown = answers(program) > 1, 0
        started = time.perf_counter()
        # Ctrl-C stops the running SQL at once: this program's, or the
        # vocabulary loader's that holds the lock (a store locked by a writer)
        with stopping_statements(store), self.lock:
            for result in results:
                self.show(result, labelled=labelled, first=shown == 0)
                shown += not result.silent
        if self.timing:
            self.say(f"Time: {(time.perf_counter() - started) * 1000:.3f} ms")  # as psql

    def confirm_write(self, preview) -> bool:
        return ask(preview, err=self.err)

    def show(self, result, labelled: bool = False, first: bool = True) -> None:
        if self.sink is not None:  # \o FILE: plain text, never paged
            emit(result, self.args, out=self.sink, err=self.err, fmt=self.format, color=False,
                 labelled=labelled, first=first)
            return
        pager = pager_for(self.args, self.out) if self.paging and self.at_terminal else None
        emit(result, self.args, out=self.out, err=self.err, fmt=self.format, color=self.color,
             labelled=labelled, first=first, pager=pager)

    # -- the loops
    def session(self, *, input=None, output=None, history=None):
        """A prompt-toolkit PromptSession set up for smtql."""
        from prompt_toolkit import PromptSession
        from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
        from prompt_toolkit.completion import get_common_complete_suffix
        from prompt_toolkit.filters import completion_is_selected, has_completions
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings

        from .completer import make_completer
        from .lexer import line_lexer

        if history is None:
            path = history_path()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch(exist_ok=True)
                history = FileHistory(str(path))
            except OSError:
                history = InMemoryHistory()

        kb = KeyBindings()

        @kb.add("enter", filter=completion_is_selected)
        def _accept_completion(event):
            event.current_buffer.complete_state = None

        @kb.add("enter", filter=~completion_is_selected)
        def _enter(event):
            buf = event.current_buffer
            if is_complete(buf.text):
                buf.validate_and_handle()
            else:
                buf.insert_text("\n")

        @kb.add("escape", "enter")
        def _newline(event):
            event.current_buffer.insert_text("\n")

        @kb.add("tab", filter=has_completions & ~completion_is_selected)
        def _tab(event):
            # The menu is open (completion runs while typing), nothing chosen:
            # the only candidate, else what all candidates share, as a shell's
            # Tab; only when they share nothing more does Tab walk the menu.
            buf = event.current_buffer
            completions = buf.complete_state.completions
            common = get_common_complete_suffix(buf.document, completions)
            if len(completions) == 1:
                buf.apply_completion(completions[0])
            elif common:
                buf.insert_text(common)
            else:
                buf.complete_next()

        return PromptSession(
            PROMPT, multiline=True, prompt_continuation=lambda width, line, soft: CONTINUATION,
            lexer=line_lexer(), completer=make_completer(
                lambda: self.vocab, lambda: list(self.variables)),
            complete_while_typing=True, auto_suggest=AutoSuggestFromHistory(),
            history=history, key_bindings=kb, enable_history_search=False,
            input=input, output=output)

    def interact(self, session) -> int:
        """Prompt, run, repeat, until Ctrl-D or \\quit."""
        self.at_terminal = True
        while True:
            try:
                text, self.pending = session.prompt(default=self.pending), ""
            except KeyboardInterrupt:  # Ctrl-C at the prompt: drop the input
                continue
            except EOFError:
                return EXIT_OK
            try:
                self.execute(text)
            except EOFError:
                return EXIT_OK
            except KeyboardInterrupt:
                self.complain("cancelled")

    def read_lines(self, stream) -> int:
        """Without a terminal: programs line by line, each run when complete.
        Exit status 1 if any input failed."""
        buffer = ""
        try:
            for line in stream:
                buffer += line
                if is_complete(buffer):
                    text, buffer = buffer, ""
                    self.execute(text)
            if buffer.strip():
                self.execute(buffer)
        except EOFError:  # \quit
            pass
        return EXIT_PROGRAM if self.errors else EXIT_OK


def run_repl(args, *, stdin=None) -> int:
    """`smtql repl`: the prompt at a terminal, line-by-line reading otherwise."""
    stdin = stdin or sys.stdin
    repl = Repl(args)
    try:
        repl.open()
    except SmtqlError as err:
        repl.complain(f"smtql: {err.render()}")
        return err.exit_status
    try:
        if not (stdin.isatty() and sys.stdout.isatty()):
            return repl.read_lines(stdin)
        repl.color = not os.environ.get("NO_COLOR")
        repl.say(f"smtql — {repl.store.describe()}\n"
                 "Type a program, \\help for help, Ctrl-D to leave.")
        return repl.interact(repl.session())
    finally:
        repl.send_to(None)  # close the file \o was writing
