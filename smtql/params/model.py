"""Parameter sets as plain data: reading keys with task folding, listing
the keys a set has (LANGUAGE.md §3)."""

from __future__ import annotations

from typing import Any, Iterator



class Missing:
    """A parameter the record does not have: no comparison holds for it."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING = Missing()


def is_list(v) -> bool:
    return isinstance(v, (list, tuple))


class Unreadable:
    """The parameters of a record whose stored set smtql could not read
    safely; no parameter predicate holds for it."""

    def __init__(self, reason: str = ""):
        self.reason = reason

    def __repr__(self):
        return f"Unreadable({self.reason!r})"


def _is_task(d: dict) -> bool:
    return "taskname" in d and "inputs" in d and isinstance(d["inputs"], dict)


def _step(node: Any, segment: str | int) -> Any:
    """One segment down: a dict key (a number segment also matches the key
    written as text), a list index, or, in a task description that lacks the
    key, the same lookup inside its `inputs`."""
    if isinstance(node, dict):
        if isinstance(segment, int):
            for key in (str(segment), segment):
                if key in node:
                    return node[key]
        elif segment in node:
            return node[segment]
        if _is_task(node):
            return _step(node["inputs"], segment)
        return MISSING
    if is_list(node) and isinstance(segment, int):
        return node[segment] if 0 <= segment < len(node) else MISSING
    return MISSING


def lookup(params: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path`, or MISSING."""
    if isinstance(params, Unreadable):
        return MISSING
    node = params
    for segment in path:
        node = _step(node, segment)
        if node is MISSING:
            return MISSING
    return node


def folded(params: Any) -> Any:
    """The set with every task description replaced by its inputs (smttask's
    fold_task_inputs), so keys read as a user writes them."""
    if isinstance(params, dict):
        if _is_task(params):
            return folded(params["inputs"])
        return {k: folded(v) for k, v in params.items()}
    if is_list(params):
        return type(params)(folded(v) for v in params)
    return params


def leaves(params: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, value) for every leaf; a list of scalars is one leaf, a list
    holding dicts is walked by index."""
    if isinstance(params, dict) and params:
        for k, v in params.items():
            yield from leaves(v, prefix + (k,))
    elif is_list(params) and any(isinstance(v, dict) for v in params):
        for i, v in enumerate(params):
            yield from leaves(v, prefix + (i,))
    elif prefix:
        yield prefix, params


def dotted(path: tuple) -> str:
    from ..language.ast import Param
    return Param(tuple(path)).dotted


def plain(value: Any) -> Any:
    """Sumatra's parameter objects (NTParameterSet, JSONParameterSet, …) as
    plain dicts, lists and tuples: what every engine compares."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "as_dict") and not isinstance(value, dict):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
