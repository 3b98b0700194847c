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


class KeyLiteral:
    """A dictionary key that is not text (PyYAML reads `true:`, `1:`,
    `null:`, `1.5:`, `2020-01-01:` as a bool, int, None, float, date): in a
    path it reaches that key and only that one, so `true` is not `1` (which
    Python's own `==` and `hash` would confuse). Written `[true]`
    (LANGUAGE.md §3). Its text is the key's `str`, as the parameter index
    names nodes."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def _id(self):
        return (type(self.value), self.value)

    def __eq__(self, other):
        return isinstance(other, KeyLiteral) and self._id() == other._id()

    def __hash__(self):
        return hash(self._id())

    def __repr__(self):
        return f"KeyLiteral({self.value!r})"

    def __str__(self):
        return str(self.value)


def _is_task(d: dict) -> bool:
    return "taskname" in d and "inputs" in d and isinstance(d["inputs"], dict)


def _step(node: Any, segment: str | int) -> Any:
    """One segment down: a dict key (a number segment also matches the key
    written as text), a list index, or, in a task description that lacks the
    key, the same lookup inside its `inputs`."""
    if isinstance(node, dict):
        if isinstance(segment, KeyLiteral):
            wanted = segment._id()
            for key in node:
                if (type(key), key) == wanted:
                    return node[key]
        elif isinstance(segment, int):
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
    holding dicts is walked by index. A key that is not text is a
    KeyLiteral in the path (an int segment is a list index)."""
    if isinstance(params, dict) and params:
        for k, v in params.items():
            yield from leaves(v, prefix + (k if isinstance(k, str) else KeyLiteral(k),))
    elif is_list(params) and any(isinstance(v, dict) for v in params):
        for i, v in enumerate(params):
            yield from leaves(v, prefix + (i,))
    elif prefix:
        yield prefix, params



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
