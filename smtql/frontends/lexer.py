"""A Pygments lexer for smtql: the REPL highlights input with it, and docs
can name `smtql` as a code block's language (it is registered as the
`pygments.lexers` entry point `smtql`).

It follows smtql/language/smtql.lark loosely, as highlighters do: keywords
case-insensitive, tags after `tag`/`status`, record fields, dotted parameter
keys, `$variables`, labels, dates, durations, numbers, strings, comments, and
the REPL's own backslash commands.
"""

from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups, default, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation, String,
                            Text, Whitespace, Literal)

from ..language.fields import ALIASES, FIELDS
from ..language.parser import keywords, predicate_words, statement_words

__all__ = ["SmtqlLexer", "line_lexer"]

CONSTANTS = ("true", "false", "null", "none")
OPERATORS = ("and", "or", "not")
# Keywords the grammar spells as patterns, not as plain words.
PATTERN_WORDS = ("contains", "startswith", "endswith", "hour", "hours", "day", "days", "week",
                 "weeks", "minute", "minutes", "second", "seconds")
# The statement words and keywords, read from the grammar: `tag` and `untag`
# begin statements and predicates alike, and highlight as keywords.
STATEMENTS = tuple(w for w in statement_words() if w not in predicate_words())
KEYWORDS = tuple(w for w in keywords() + PATTERN_WORDS
                 if w not in STATEMENTS + CONSTANTS + OPERATORS)
_END = r"(?![\w.`])"  # a keyword is a whole word, not the start of a dotted key
_SEGMENT = r"(?:[^\W\d]\w*|`(?:[^`\n]|``)*`)"
_LITERAL_SEGMENT = r"\[[^\[\]`\s,]+\]"  # `a.[true]`; a leading `[` reads as a list


class SmtqlLexer(RegexLexer):
    """smtql, the query language for Sumatra record stores."""

    name = "smtql"
    aliases = ["smtql"]
    filenames = ["*.smtql"]
    mimetypes = ["text/x-smtql"]
    url = "https://pypi.org/project/smtql/"
    flags = re.IGNORECASE | re.UNICODE | re.MULTILINE

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"(#|--).*?$", Comment.Single),
            (r"^\\[\w?]+", Name.Builtin.Pseudo),  # REPL commands: \help, \format
            # no token but whitespace spans a line end: each line starts in
            # this state, so the REPL can highlight a line at a time (LineLexer)
            (r"(tag|untag)([ \t]+)(like)" + _END, bygroups(Keyword, Whitespace, Keyword)),
            (r"(tag|untag)" + _END, Keyword, "tags"),
            (r"(status)([ \t]+)([\w][\w\-.]*)", bygroups(Keyword, Whitespace, Name.Tag)),
            (words(STATEMENTS, suffix=_END), Keyword),
            (words(OPERATORS, suffix=_END), Operator.Word),
            (words(KEYWORDS, suffix=_END), Keyword),
            (words(CONSTANTS, suffix=_END), Keyword.Constant),
            (r"\$[^\W\d]\w*", Name.Variable),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            (r"'(?:[^'\\\n]|\\.)*'", String.Single),
            (r"\d{8}-\d{6}(?:_[\w\-.]*)?(?![\w\-.:/])", Name.Label),
            (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?![\w.:\-])", Literal.Date),
            (r"\d{4}-\d{2}(?:-\d{2})?(?![\w.\-])", Literal.Date),
            (r"(?:\d+(?:\.\d+)?[smhdw])+(?![\w.])", Number),
            (r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", Number),
            (words(tuple(FIELDS) + tuple(ALIASES), suffix=_END), Name.Builtin),
            (_SEGMENT + r"(?:\.(?:" + _SEGMENT + "|" + _LITERAL_SEGMENT + r"|\d+))*",
             Name.Attribute),
            (r"!=|<=|>=|~=|=|<|>", Operator),
            (r"[\[\](),;]", Punctuation),
            (r"[\w][\w\-.:/]*", Name),  # a bare label, or a tag elsewhere
            (r".", Text),
        ],
        "tags": [  # after `tag`: one tag, then more after commas
            (r"[ \t]+", Whitespace),
            (r"like" + _END, Keyword, "#pop"),
            (r"\$[^\W\d]\w*", Name.Variable, ("#pop", "tagsep")),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double, ("#pop", "tagsep")),
            (r"'(?:[^'\\\n]|\\.)*'", String.Single, ("#pop", "tagsep")),
            (r"[\w][\w\-.]*", Name.Tag, ("#pop", "tagsep")),
            default("#pop"),
        ],
        "tagsep": [
            (r"([ \t]*)(,)", bygroups(Whitespace, Punctuation), ("#pop", "tags")),
            default("#pop"),
        ],
    }


def line_lexer():
    """The REPL's highlighter: prompt-toolkit's Lexer over SmtqlLexer, a
    line at a time, each line's fragments cached by its text. Every line
    starts in the lexer's first state (strings, comments and tag lists end
    with their line; only whitespace spans line ends), so this is what
    lexing the whole text gives, and a key re-lexes the line it changed
    only, not the program before it (prompt-toolkit's PygmentsLexer lexes
    from the start at every key)."""
    import functools
    from prompt_toolkit.lexers import Lexer
    from prompt_toolkit.styles.pygments import pygments_token_to_classname

    lexer = SmtqlLexer()

    @functools.lru_cache(maxsize=4096)
    def fragments(line: str) -> tuple:
        return tuple(("class:" + pygments_token_to_classname(token), text)
                     for _, token, text in lexer.get_tokens_unprocessed(line) if text)

    class LineLexer(Lexer):
        def lex_document(self, document):
            lines = document.lines

            def get_line(i: int):
                return list(fragments(lines[i])) if 0 <= i < len(lines) else []
            return get_line

    return LineLexer()
