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
