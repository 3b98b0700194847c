"""The planner: normalise a bound filter and split it into the part the store
decides (pre-filter) and the part Python decides (post-filter).

Passes are plain functions from filter to filter. The split must not depend
on the order in which the user wrote the predicates, so `normalize` sorts
the operands of `and`/`or` into a canonical order first.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import ast


@dataclass(frozen=True)
class Plan:
    filter: object  # the whole normalised filter
    pre: object  # decided (or narrowed) by the store
    post: object  # decided in Python, on the rows the store returns

    @property
    def post_is_trivial(self) -> bool:
        return isinstance(self.post, ast.All)


def normalize(f):
    """Flatten nested and/or, drop `all` where it is neutral, cancel double
    negation, remove duplicate operands and sort them canonically."""
    if isinstance(f, ast.Not):
        inner = normalize(f.item)
        return inner.item if isinstance(inner, ast.Not) else ast.Not(inner, span=f.span)
    if isinstance(f, (ast.And, ast.Or)):
        kind = type(f)
        items = []
        for item in (normalize(i) for i in f.items):
            items.extend(item.items if isinstance(item, kind) else (item,))
        if kind is ast.And:
            items = [i for i in items if not isinstance(i, ast.All)]
        elif any(isinstance(i, ast.All) for i in items):
            return ast.All(span=f.span)
        items = sorted({canonical_key(i): i for i in items}.values(), key=canonical_key)
        if not items:
            return ast.All(span=f.span)
        return items[0] if len(items) == 1 else kind(tuple(items), span=f.span)
    return f


def canonical_key(f) -> str:
    return repr(f)


def plan(f, store=None) -> Plan:
    """Normalise and split for `store` (a store that pushes nothing down
    gets everything as post-filter)."""
    f = normalize(f)
    split = getattr(store, "split", None)
    if split is None:
        return Plan(f, ast.All(), f)
    pre, post = split(f)
    return Plan(f, pre, post)
