"""`let NAME = FILTER`: the binder has bound it; the statement says so."""

from __future__ import annotations

from ..language import ast
from ..language.unparse import filter_text
from ..result import TextResult


def run(stmt: ast.Let, ctx) -> TextResult:
    return TextResult(f"${stmt.name} = {filter_text(stmt.filter)}", silent=True)
