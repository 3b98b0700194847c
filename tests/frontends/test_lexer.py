"""The Pygments lexer: registered as `smtql`, and it colours the parts of a
program as a reader expects."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygments.token import (Comment, Error, Keyword, Literal, Name, Number, Operator,
                            Punctuation, String)

from smtql.frontends.lexer import SmtqlLexer

GOLDEN = Path(__file__).parents[1] / "data" / "parser" / "ast.txt"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def tokens(text):
    return [(t, v) for t, v in SmtqlLexer().get_tokens(text) if v.strip()]


def test_registered_as_a_pygments_entry_point():
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
    assert isinstance(get_lexer_by_name("smtql"), SmtqlLexer)
    assert isinstance(get_lexer_for_filename("figure1.smtql"), SmtqlLexer)


def test_parts_of_a_program():
    got = tokens('tag finished, "b c" and optimizer.lr = 1e-3 and after 2020-09-12 '
                 'and duration > 1h30m and not status crashed and label = 20210929-221716_f3b435 '
                 'and $good show label, params.status latest 5 -- why')
    assert got == [
        (Keyword, "tag"), (Name.Tag, "finished"), (Punctuation, ","),
        (String.Double, '"b c"'), (Operator.Word, "and"),
        (Name.Attribute, "optimizer.lr"), (Operator, "="), (Number, "1e-3"),
        (Operator.Word, "and"), (Keyword, "after"), (Literal.Date, "2020-09-12"),
        (Operator.Word, "and"), (Name.Builtin, "duration"), (Operator, ">"), (Number, "1h30m"),
        (Operator.Word, "and"), (Operator.Word, "not"), (Keyword, "status"), (Name.Tag, "crashed"),
        (Operator.Word, "and"), (Name.Builtin, "label"), (Operator, "="),
        (Name.Label, "20210929-221716_f3b435"),
        (Operator.Word, "and"), (Name.Variable, "$good"),
        (Keyword, "show"), (Name.Builtin, "label"), (Punctuation, ","),
        (Name.Attribute, "params.status"), (Keyword, "latest"), (Number, "5"),
        (Comment.Single, "-- why"),
    ]


def test_keywords_are_case_insensitive_and_whole_words():
    assert tokens("COUNT Tag finished")[:2] == [(Keyword, "COUNT"), (Keyword, "Tag")]
    # a key that begins like a keyword is a key
    assert tokens("status.draft = 1")[0] == (Name.Attribute, "status.draft")
    assert tokens("count order.x = 1")[1] == (Name.Attribute, "order.x")


def test_tags_after_tag_stop_at_the_next_word():
    got = tokens("tag a-b, needs.check show label")
    assert got[:4] == [(Keyword, "tag"), (Name.Tag, "a-b"), (Punctuation, ","),
                       (Name.Tag, "needs.check")]
    assert got[4] == (Keyword, "show")


def test_repl_commands():
    assert tokens("\\format csv")[0] == (Name.Builtin.Pseudo, "\\format")


def golden_queries():
    return [line[len("query: "):] for line in GOLDEN.read_text(encoding="utf-8").splitlines()
            if line.startswith("query: ")]


@pytest.mark.parametrize("text", golden_queries() + [EXAMPLES.joinpath("figure1.smtql").read_text()])
def test_every_golden_query_lexes_without_errors(text):
    lexed = list(SmtqlLexer().get_tokens(text))
    assert "".join(v for _, v in lexed).rstrip("\n") == text.rstrip("\n")
    assert not [v for t, v in lexed if t in Error]


# ------------------------------------------------------------------ the REPL's lexer: a line at a time

def _merged(fragments):
    """Fragments with adjacent ones of one style joined (empty ones left out)."""
    out = []
    for style, text in fragments:
        if not text:
            continue
        if out and out[-1][0] == style:
            out[-1] = (style, out[-1][1] + text)
        else:
            out.append((style, text))
    return out


def _lines(lexer, text):
    from prompt_toolkit.document import Document
    document = Document(text)
    get_line = lexer.lex_document(document)
    return [_merged(get_line(i)) for i in range(len(document.lines))]


def _doc_programs():
    docs = Path(__file__).resolve().parents[2] / "docs"
    blocks = []
    for page in docs.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        blocks += [b.split("\n", 1)[1] for b in text.split("```smtql")[1:] if "\n" in b]
    return [b.split("```", 1)[0] for b in blocks]


MULTILINE = [
    'tag finished and\n  reason contains "a # b"  -- not ; a comment\n  show label;\nstatus   ',
    "tag figure1,\n  review where status\nfinished;\nuntag like\n x; tag\nlike",
    "let a = `odd key`.x > 1;\n\\format csv\n$a and\n\n   optimizer.lr = [1,\n 2]",
]


def test_a_line_at_a_time_highlights_as_the_whole_text_does():
    """The REPL lexes a line at a time (each line starts in the lexer's
    first state); it must colour every line as prompt-toolkit's
    PygmentsLexer, lexing the whole text from its start, does."""
    from prompt_toolkit.lexers import PygmentsLexer
    from smtql.frontends.lexer import line_lexer
    whole, by_line = PygmentsLexer(SmtqlLexer), line_lexer()
    programs = golden_queries() + _doc_programs() + MULTILINE
    assert len(programs) > 100
    for text in programs:
        assert _lines(by_line, text) == _lines(whole, text), text


def test_a_key_relexes_only_its_line(monkeypatch):
    """Typing on the last line of a 10,000-character program lexes that
    line only (counted in characters given to the Pygments lexer)."""
    from smtql.frontends.lexer import line_lexer
    lexed = []
    original = SmtqlLexer.get_tokens_unprocessed

    def counting(self, text, *args):
        lexed.append(len(text))
        return original(self, text, *args)

    monkeypatch.setattr(SmtqlLexer, "get_tokens_unprocessed", counting)
    lexer = line_lexer()
    program = "".join(f'let f{i} = tag finished and reason contains "x{i}";\n' for i in range(250))
    assert len(program) > 10_000
    _lines(lexer, program)
    last = "find $f1 and optimizer.lr > 0.01"
    for k in range(1, len(last) + 1):
        del lexed[:]
        _lines(lexer, program + last[:k])
        assert sum(lexed) <= k, k
