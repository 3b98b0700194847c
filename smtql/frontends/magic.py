"""IPython magics: `%load_ext smtql`, then `%smtql PROGRAM` and `%%smtql`.

    %smtql tag finished latest 5
    %%smtql -C ~/sims -o runs
    tag figure1 and optimizer.lr = $lr
    show label, optimizer.model.kind, duration

Options (before the program; in a cell, on the `%%smtql` line):

    -C DIR          the project directory (default: the current directory)
    --store URI     a bare store: an SQLite or shelve file, postgres://…, mysql://…
    --project NAME  the project, when the store holds several
    -o NAME         also bind the result to NAME in the notebook
    NAME << PROGRAM bind the result to NAME only, as jupysql (`%%smtql NAME <<` in a cell)
    -f FILE         run a saved .smtql file (its project, unless -C/--store say otherwise)
    --dry-run       show what a write would change without changing it

Store options can be set once per notebook with `%config SmtqlMagic.directory
= "…"` (also `.store`, `.project`, `.max_chars`, `.max_lines`, and
`.displaylimit`: the rows of a table shown, 10 by default); options on
the line win over them, and they win over a file's own project.

`$name` takes the notebook's Python variable `name` where no `let` in the
program binds it, as a Python value. The result of the last statement is
returned (it displays as an HTML table and offers `.dataframe()`,
`.labels`, `.records`); earlier statements' results are displayed. A mistake
raises IPython's UsageError: the message and caret, no traceback.

A thin adapter over the library, as jupysql's magic is: everything it does
goes through `smtql.api` (connect, parse_program, Connection.run). The
options are declared with IPython's @magic_arguments (so `%smtql?` lists
them); the program after them is kept exactly as written (quotes included),
which is why only the leading options are handed to their parser.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from IPython.core.error import UsageError
from IPython.core.magic import (Magics, line_cell_magic, magics_class, needs_local_scope,
                                no_var_expand)
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Int, Unicode

from ..errors import SmtqlError, UnsetVariable

_FLAGS = ("--dry-run",)  # options that take no value
_OPTION = re.compile(r"""\s*(?P<name>-C|--store|--project|-o|--out|-f|--file|--dry-run)
                         (?=\s|=|$)
                         (?:(?:=|\s+)(?P<value>"[^"]*"|'[^']*'|\S+))?""", re.VERBOSE)
_LOOKS_LIKE_OPTION = re.compile(r"\s*(-[A-Za-z]|--[A-Za-z])")
_VAR = re.compile(r"\$([^\W\d]\w*)")
_LET = re.compile(r"\blet\s+([^\W\d]\w*)", re.IGNORECASE)
_TARGET = re.compile(r"\s*(\S+)\s*<<\s?(.*)", re.DOTALL)


def split_options(line: str) -> tuple[dict, str]:
    """Leading options of a magic line, and the rest (the program) as
    written: quotes in the program are kept."""
    pos = 0
    while True:
        m = _OPTION.match(line, pos)
        if not m:
            break
        name = m.group("name")
        if name in _FLAGS:  # a flag takes no value: only the flag itself is consumed
            pos = m.start("name") + len(name)
            continue
        if m.group("value") is None:
            raise UsageError(f"{name} needs a value")
        pos = m.end()
    rest = line[pos:].lstrip(" \t")
    bad = _LOOKS_LIKE_OPTION.match(rest)
    if bad:
        word = rest.split()[0]
        raise UsageError(f"unknown option {word}; %smtql takes -C DIR, --store URI, "
                         "--project NAME, -o NAME, -f FILE and --dry-run")
    parsed = vars(parse_argstring(SmtqlMagic.smtql, line[:pos]))
    return {k: _unquoted(v) for k, v in parsed.items() if v not in (None, False)}, rest


def _unquoted(value):
    """IPython's argument splitter keeps the quotes around a value."""
    if isinstance(value, str) and len(value) > 1 and value[0] in "\"'" and value[-1] == value[0]:
        return value[1:-1]
    return value


@magics_class
class SmtqlMagic(Magics):
    """%smtql and %%smtql: run smtql programs against a Sumatra record store."""

    directory = Unicode(None, allow_none=True, config=True,
                        help="The project directory, as -C (default: the current directory).")
    store = Unicode(None, allow_none=True, config=True,
                    help="A bare store, as --store: an SQLite or shelve file, or a URI.")
    project = Unicode(None, allow_none=True, config=True,
                      help="The project, when the store holds several, as --project.")
    max_chars = Int(None, allow_none=True, config=True,
                    help="Cut table cells to this many characters.")
    max_lines = Int(None, allow_none=True, config=True,
                    help="Keep this many lines of multi-line cells.")
    displaylimit = Int(10, allow_none=True, config=True,
                       help="Rows of a table shown (the result keeps them all); 0 or None: all.")

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self._connections: dict = {}

    @no_var_expand  # `$name` is smtql's, not IPython's
    @needs_local_scope
    @magic_arguments()
    @argument("-C", dest="directory", metavar="DIR",
              help="the project directory (default: the current directory)")
    @argument("--store", metavar="URI",
              help="a bare store: an SQLite or shelve file, postgres://…, mysql://…")
    @argument("--project", metavar="NAME", help="the project, when the store holds several")
    @argument("-o", "--out", dest="output", metavar="NAME",
              help="also bind the result to NAME in the notebook")
    @argument("-f", "--file", dest="file", metavar="FILE", help="run a saved .smtql file")
    @argument("--dry-run", action="store_true", help="show what a write would change")
    @line_cell_magic
    def smtql(self, line, cell=None, local_ns=None):
        """Run an smtql program: `%smtql PROGRAM`, or a `%%smtql` cell.
        Options: -C DIR, --store URI, --project NAME, -o NAME, -f FILE, --dry-run."""
        options, rest = split_options(line)
        target, rest = split_target(rest)
        filename = options.get("file")
        if cell is not None:
            if rest.strip():
                raise UsageError("%%smtql takes only options on its first line; "
                                 f"the program goes in the cell (not '{rest.strip()}')")
            source = cell
        else:
            source = rest
        if filename:
            if source.strip():
                raise UsageError("give either -f FILE or a program, not both")
            source = self._read(filename)
        elif not source.strip():
            raise UsageError("no program: %smtql PROGRAM, or a %%smtql cell")

        namespace = dict(self.shell.user_ns) if self.shell is not None else {}
        namespace.update(local_ns or {})
        try:
            results = self.run(source, options, namespace, filename=filename)
        except UnsetVariable as err:  # a notebook sets variables in Python, not with --set
            raise UsageError(err.set_outside(f"define `{err.variable}` in Python "
                                             f"({err.variable} = …)").render()) from None
        except SmtqlError as err:
            raise UsageError(err.render()) from None
        if not results:
            return None
        for result in results:
            result.html_options = self.html_options()
        last = results[-1]
        for name in (options.get("output"), target):
            if name and self.shell is not None:
                self.shell.user_ns[name] = last
        from IPython.display import display
        for result in results[:-1]:
            if not result.silent:
                display(result)
        # `res << PROGRAM` binds only, as jupysql's; -o binds and shows
        return None if last.silent or target else last

    def html_options(self) -> dict:
        """How the results draw in the notebook, from %config."""
        options = {"limit": self.displaylimit or None}
        if self.max_chars is not None:
            options["max_chars"] = self.max_chars
        if self.max_lines is not None:
            options["max_lines"] = self.max_lines
        return options

    # -- the library side
    def run(self, source: str, options: dict, namespace: dict, filename: str | None = None):
        """Every statement's result. Raises SmtqlError."""
        from ..api import parse_program
        program = parse_program(source, filename=filename)  # syntax errors before the store
        variables = python_variables(source, namespace)
        conn = self._connection(options, filename)
        # the statement itself is the confirmation; --dry-run shows the change only
        return list(conn.stream(program, variables=variables,
                                dry_run=bool(options.get("dry_run"))))

    def _read(self, filename: str) -> str:
        from ..api import read_program_file
        if not Path(filename).expanduser().is_file():
            raise UsageError(f"no such file: {filename}")
        try:
            return read_program_file(Path(filename).expanduser())
        except SmtqlError as err:
            raise UsageError(err.render()) from None

    def _connection(self, options: dict, filename: str | None):
        """The store: options on the line, else %config, else the file's own
        project, else the current directory. Opened once and kept."""
        from ..api import connect
        from ..stores.registry import find_project_dir
        directory = options.get("directory")
        store = options.get("store")
        project = options.get("project") or self.project
        if not directory and not store:
            directory, store = self.directory, self.store
        if not directory and not store and filename:
            found = find_project_dir(Path(filename).expanduser().resolve().parent)
            directory = str(found) if found else None
        if directory:
            directory = str(Path(directory).expanduser().resolve())
        elif not store:
            directory = str(Path.cwd())
        key = (directory, store, project)
        if key not in self._connections:
            self._connections[key] = connect(directory if not store else None,
                                             store=store, project=project)
        return self._connections[key]

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()


def split_target(rest: str) -> tuple[str | None, str]:
    """`NAME << PROGRAM` (jupysql's form): the name to bind the result to,
    and the program. In a cell, `%%smtql NAME <<` and the program below."""
    m = _TARGET.match(rest)
    if not m:
        return None, rest
    if not m.group(1).isidentifier() or keyword.iskeyword(m.group(1)):
        raise UsageError(f"'{m.group(1)}' cannot be a Python variable: NAME << PROGRAM")
    return m.group(1), m.group(2)


def python_variables(source: str, namespace: dict) -> dict:
    """The Python values for the program's `$name`s that no `let` in it
    binds, from the notebook's namespace."""
    bound = set(_LET.findall(source))
    return {name: namespace[name] for name in dict.fromkeys(_VAR.findall(source))
            if name not in bound and name in namespace}


def load_ipython_extension(ip) -> None:
    """`%load_ext smtql`."""
    magic = SmtqlMagic(shell=ip)
    ip.register_magics(magic)
    if magic not in ip.configurables:
        ip.configurables.append(magic)


def unload_ipython_extension(ip) -> None:
    for magic in [c for c in ip.configurables if isinstance(c, SmtqlMagic)]:
        magic.close()
        ip.configurables.remove(magic)
