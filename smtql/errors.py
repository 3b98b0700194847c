"""Errors as data: each carries where it happened, what was expected and a
suggestion, and each front end renders it its own way (`render()` gives the
plain-text form the CLI and REPL print)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

# Exit statuses of the command line (DESIGN.md), one per kind of failure.
EXIT_OK = 0
EXIT_PROGRAM = 1  # an error in the program: syntax, unknown variable, bad date
EXIT_USAGE = 2  # bad command-line usage
EXIT_STORE = 3  # the store could not be found, opened or read
EXIT_INTERNAL = 4  # a bug in smtql
EXIT_INTERRUPTED = 130  # Ctrl-C, as the shell reports SIGINT


@dataclass
class SmtqlError(Exception):
    """Something wrong with a program; the CLI exits with `exit_status`."""

    message: str
    line: int | None = None
    column: int | None = None
    width: int = 1  # how many characters the caret underlines
    source_line: str | None = None
    expected: tuple[str, ...] = ()
    suggestion: str | None = None
    filename: str | None = None
    exit_status: int = field(default=EXIT_PROGRAM, repr=False)

    def __post_init__(self):
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    def at(self, source: str, start: int | None, end: int | None = None,
           filename: str | None = None) -> "SmtqlError":
        """Attach the position of characters [start, end) of `source`."""
        if start is not None and self.line is None:
            start = min(start, len(source))
            self.line = source.count("\n", 0, start) + 1
            line_start = source.rfind("\n", 0, start) + 1
            self.column = start - line_start + 1
            line_end = source.find("\n", start)
            self.source_line = source[line_start: line_end if line_end >= 0 else len(source)]
            if end is not None and end > start:
                self.width = max(1, min(end, line_start + len(self.source_line)) - start)
        if filename and not self.filename:
            self.filename = filename
        return self

    def render(self) -> str:
        where = ""
        if self.filename:
            where = f"{self.filename}:{self.line}:{self.column}: " if self.line else f"{self.filename}: "
        elif self.line is not None:
            where = f"line {self.line}, column {self.column}: "
        lines = [f"{where}{self.message}"]
        if self.source_line is not None and self.column is not None:
            shown, caret, width = caret_window(self.source_line, self.column - 1, self.width)
            lines.append("  " + shown)
            lines.append("  " + " " * caret + "^" * width)
        if self.expected:
            lines.append("expected " + _words(self.expected))
        if self.suggestion:
            lines.append(f"did you mean {self.suggestion}?")
        return "\n".join(lines)


class QuerySyntaxError(SmtqlError):
    """The program does not parse."""


class QueryError(SmtqlError):
    """The program parses but means nothing: a bad date, an unset variable,
    a status word that does not exist, a reference to no record."""


class UnsetVariable(QueryError):
    """A `$name` nothing binds. How to set one from outside is each front
    end's to say (`set_outside`): --set at the command line, Python in a
    notebook."""

    def __init__(self, variable: str, **kwargs):
        self.variable = variable
        super().__init__("", **kwargs)
        self.set_outside(f"set it from outside (--set {variable}=…)")

    def set_outside(self, how: str) -> "UnsetVariable":
        self.message = f"${self.variable} is not set; bind it with `let {self.variable} = …` or {how}"
        self.args = (self.message,)
        return self


class PredicateError(QueryError):
    """A Python predicate raised: the query stops (exit 1), naming the
    predicate and the record; the callable's own exception is chained
    (`__cause__`)."""

    def __init__(self, message: str, label: str):
        super().__init__(message)
        self.label = label


class StoreError(SmtqlError):
    """The record store could not be found, opened or read."""

    def __init__(self, message: str, **kwargs):
        kwargs.setdefault("exit_status", EXIT_STORE)
        super().__init__(message, **kwargs)


# A long line (a generated program, a thousand-term `or`) is shown as a
# window of this many characters around the caret, so the caret stays on
# the reader's screen.
WINDOW = 100


def caret_window(line: str, offset: int, width: int) -> tuple[str, int, int]:
    """(the text to show, where its caret starts, how wide) for the caret
    at `offset` of `line`, `width` characters wide."""
    if len(line) <= WINDOW:
        return line, offset, width
    start = max(0, min(offset - WINDOW // 3, len(line) - WINDOW))
    end = start + WINDOW
    shown = ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")
    caret = offset - start + (1 if start else 0)
    return shown, caret, max(1, min(width, end - offset))


def _words(items: tuple[str, ...]) -> str:
    items = tuple(dict.fromkeys(items))
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


# Past this many candidates (a store's labels), difflib compares the word
# with those nearest it in sorted order only, by its start and by its end:
# it compares with each one, and 10^5 labels of one pattern took 3 s a word.
MANY_CANDIDATES = 2000


def closest(word: str, candidates, n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The candidates a misspelt `word` most likely meant, best first."""
    lowered = {c.lower(): c for c in dict.fromkeys(candidates)}
    found = difflib.get_close_matches(word.lower(), narrowed([word.lower()], list(lowered)),
                                      n=n, cutoff=cutoff)
    return [lowered[f] for f in found]


def narrowed(words: list[str], pool: list[str]) -> list[str]:
    """What `closest` compares these words with: the whole pool when it is
    small; else, for each word, the MANY_CANDIDATES // 4 on each side of it
    in the pool sorted, and sorted by their reversed text (a slip near the
    start keeps the end). Sorted once for all the words."""
    if len(pool) <= MANY_CANDIDATES:
        return pool
    import bisect
    k, near = MANY_CANDIDATES // 4, []
    for key in (None, lambda w: w[::-1]):
        ordered = sorted(pool, key=key)
        keys = ordered if key is None else [key(w) for w in ordered]
        for word in words:
            at = bisect.bisect_left(keys, word if key is None else key(word))
            near += ordered[max(0, at - k):at + k]
    return list(dict.fromkeys(near))


def quoted_choices(words: list[str]) -> str:
    return " or ".join(f"'{w}'" for w in words)
