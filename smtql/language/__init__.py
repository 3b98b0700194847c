"""The language: grammar (smtql.lark), parser (text → AST), the AST, the
binder (variables, relative dates) and unparse (AST → text)."""

from pathlib import Path

# The grammar ships beside this file (package data). Read by path, not
# through importlib.resources, whose import (tempfile, zipfile, threading)
# costs more at start-up than the rest of the read.
GRAMMAR_FILE = Path(__file__).with_name("smtql.lark")


def grammar_text() -> str:
    return GRAMMAR_FILE.read_text(encoding="utf-8")
