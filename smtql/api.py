"""The Python API: `smtql.connect(...)`, `store.query(...)`, `smtql.load(...)`.
Every front end (CLI, REPL, notebook magics) goes through it."""

from __future__ import annotations

from pathlib import Path

from .language import parser
from .stores.registry import open_store
from .executor import Executor


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
        parsed = parser.parse(program, filename=filename)
        return list(Executor(self.store, dict(variables), now=now, dry_run=dry_run).run(parsed))

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


def connect(path=None, *, store: str | None = None, project: str | None = None) -> Connection:
    """Open a project directory (or a sumatra Project), or a bare store
    (`store="path/or/URI"`, as the CLI's --store)."""
    if path is not None and hasattr(path, "record_store") and hasattr(path, "path"):
        project = project or path.name
        path = path.path
    return Connection(open_store(path, store=store, project=project))


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
    from .errors import SmtqlError
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise SmtqlError(f"cannot read {path}: {err.strerror or err}", exit_status=2) from None
    except UnicodeDecodeError:
        raise SmtqlError(f"{path} is not UTF-8 text", exit_status=1) from None
