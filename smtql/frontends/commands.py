r"""The REPL's backslash commands: registered by a decorator (as litecli's
special commands), listed by `\help`, completed by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Command:
    name: str
    handler: Callable
    help: str
    usage: str = ""
    aliases: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {}  # by name and by alias


def command(name: str, *aliases: str, help: str, usage: str = ""):
    """Register a backslash command: `handler(repl, arg)` gets the text after
    the command's name (stripped)."""
    def register(handler):
        cmd = Command(name, handler, help, usage, aliases)
        for n in (name, *aliases):
            COMMANDS[n] = cmd
        return handler
    return register
