"""The Python API: `smtql.connect(...)`, `store.query(...)`, `smtql.load(...)`.
Every front end (CLI, REPL, notebook magics) goes through it: programs are
parsed by `parse_program` and run by `Connection.stream` (or `run`)."""

from __future__ import annotations

from pathlib import Path

from .errors import EXIT_PROGRAM, EXIT_USAGE, SmtqlError, UnsetVariable
from .executor import Executor
from .language import parser
from .stores.registry import open_store


class Connection:
    """A project's record store, ready for queries."""

    def __init__(self, store):
        self.store = store

    def __repr__(self) -> str:
        return f"<smtql.Connection {self.store.describe()}>"

    def run(self, program: str, *, filename: str | None = None, now=None, dry_run: bool = False,
            **variables) -> list:
        """Every statement's result, in order. Keyword arguments fill
        `$name` (Python values pass as they are). Writes (`tag`, `untag`,
        `undo`) need no confirmation here: the statement is the
        confirmation; `dry_run=True` shows what they would change only."""
        try:
            return list(self.stream(program, variables=dict(variables), filename=filename,
                                    now=now, dry_run=dry_run))
        except UnsetVariable as err:  # here variables come as keyword arguments
            raise err.set_outside(f"pass it as a keyword argument ({err.variable}=…)") from None

    def stream(self, program, *, variables: dict | None = None, filename: str | None = None,
               now=None, dry_run: bool = False, confirm=None):
        """Each statement's result as soon as it is ready (the front ends
        print one before running the next). `program`: text, or a Program
        from `parse_program`. `variables` fill `$name`, and the program's `let`
        bindings are added to it (the REPL keeps one such dict per session).
        `confirm(preview) -> bool` asks before a write (the command line's
        prompt); None: the statement is the confirmation."""
        if isinstance(program, str):
            program = parse_program(program, filename=filename)
        executor = Executor(self.store, {} if variables is None else variables, now=now,
                            dry_run=dry_run, confirm=confirm)
        return executor.run(program)

    def query(self, program: str, *, dry_run: bool = False, **variables):
        """The result of the program's last statement."""
        results = self.run(program, dry_run=dry_run, **variables)
        if not results:
            raise ValueError("the program has no statements")
        return results[-1]

    def close(self) -> None:
        self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def parse_program(source: str, filename: str | None = None):
    """The program's AST; syntax errors raised here, before any store is
    opened."""
    return parser.parse(source, filename=filename)


def parse_value(text: str):
    """A value as smtql reads a literal (`--set lr=0.01` is a number)."""
    return parser.parse_value(text)


def connect(path=None, *, store: str | None = None, project: str | None = None,
            index: bool | None = None) -> Connection:
    """Open a project directory (or a sumatra Project), or a bare store
    (`store="path/or/URI"`, as the CLI's --store). `index=False` reads
    parameters without the persistent parameter index (as --no-index)."""
    if path is not None and hasattr(path, "record_store") and hasattr(path, "path"):
        project = project or path.name
        path = path.path
    return Connection(open_store(path, store=store, project=project, index=index))


def load(path, *, directory=None, store: str | None = None, project: str | None = None,
         dry_run: bool = False, **variables):
    """Run a saved `.smtql` file and return the result of its last statement.
    The store is the project the file lives in, unless `directory` or
    `store` says otherwise."""
    path = Path(path)
    source = read_program_file(path)
    conn = connect(directory or path.resolve().parent, store=store, project=project)
    results = conn.run(source, filename=str(path), dry_run=dry_run, **variables)
    if not results:
        raise ValueError(f"{path} has no statements")
    return results[-1]


def read_program_file(path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise SmtqlError(f"cannot read {path}: {err.strerror or err}", exit_status=EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise SmtqlError(f"{path} is not UTF-8 text", exit_status=EXIT_PROGRAM) from None
