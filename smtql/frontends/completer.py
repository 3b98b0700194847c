"""The prompt-toolkit adapter of completion: smtql's candidates (complete)
and the REPL's backslash commands, as prompt-toolkit Completions."""

from __future__ import annotations

from .commands import COMMANDS
from .completion import complete
from .options import FORMATS


def make_completer(vocab_of, variables_of):
    """A prompt-toolkit Completer over `complete`; `vocab_of()` and
    `variables_of()` give the current vocabulary and bound variable names."""
    from prompt_toolkit.completion import Completer, Completion

    class SmtqlCompleter(Completer):
        def get_completions(self, document, complete_event):
            text = document.text_before_cursor
            if text.lstrip().startswith("\\"):
                yield from _command_completions(text)
                return
            for c in complete(text, vocab_of(), variables_of()):
                yield Completion(c.text, start_position=-c.replace,
                                 display=c.display or c.text, display_meta=c.meta)

    return SmtqlCompleter()


def _command_completions(text):
    from prompt_toolkit.completion import Completion
    word = text.lstrip()
    if " " in word:
        name, _, arg = word.partition(" ")
        if name in ("\\format", "\\f"):
            for f in FORMATS:
                if f.startswith(arg.strip()):
                    yield Completion(f, start_position=-len(arg.strip()), display_meta="output format")
        return
    for name, cmd in COMMANDS.items():
        if name.startswith(word) and name == cmd.name:
            yield Completion(name, start_position=-len(word), display_meta=cmd.help)
