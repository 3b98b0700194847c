"""Values a result's cell may hold beyond plain data: the distinct values
of a merged row, a folded diff sub-tree, and the digest that names a whole
parameter set. Statements make them; renderers show them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


def digest(params) -> str:
    """A short, stable digest of a whole parameter set (or sub-tree): the
    first 8 hex digits of the SHA-1 of its canonical JSON, and how many
    leaves it has: `3fa2c1d0 (12 keys)`. Equal sets give equal digests."""
    if params is None:
        return "(none)"
    from .params.model import leaves
    n = sum(1 for _ in leaves(params))
    return f"{_sha8(params)} ({n} key{'' if n == 1 else 's'})"


def _sha8(value) -> str:
    """The first 8 hex digits of the SHA-1 of `value`'s canonical JSON."""
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


class Distinct(tuple):
    """The distinct values of one column over the records of a merged row,
    when they do not all agree."""

    __slots__ = ()


@dataclass(frozen=True)
class Folded:
    """A parameter sub-tree deeper than a diff's `depth`, folded into its
    prefix: shown as `<+>` and a digest of the sub-tree, so records with
    the same digest have the same sub-tree."""

    digest: str
    keys: int

    @classmethod
    def of(cls, leaves: dict) -> "Folded":
        return cls(_sha8(leaves), len(leaves))

    def __str__(self):
        return f"<+> {self.digest}"
