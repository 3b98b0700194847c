"""Parsed parameter sets, cached for the life of the process.

A stored parameter set is a row `(type, content)`; identical sets share one
row, and parsing one (smtql.params.parse, no eval) is the expensive part of a
parameter query. The cache is keyed by the stored text itself, `(type,
content)`, so it can never answer for a set whose text has changed: a row
rewritten, a store rebuilt, another store with the same ids all miss.
The persistent, cross-process cache is the parameter index
(smtql.stores.django.paramindex): it answers which sets may match, so only
those are read and parsed here.
"""

from __future__ import annotations

from .model import Unreadable

_MAX_ENTRIES = 200_000
_cache: dict[tuple[str, str], object] = {}
stats = {"hits": 0, "parsed": 0}


def parse(type_name: str, content) -> object:
    """The plain data of a stored parameter set, or `Unreadable(reason)`.
    Parsed at most once per distinct (type, content) in this process. The
    value is shared: callers must not mutate it."""
    key = (type_name, content)
    try:
        value = _cache[key]
    except KeyError:
        pass
    except TypeError:  # unhashable content (not text): cannot be read
        return _read(type_name, content)
    else:
        stats["hits"] += 1
        return value
    value = _read(type_name, content)
    if len(_cache) >= _MAX_ENTRIES:
        _cache.clear()
    _cache[key] = value
    return value


# Deeper sets are refused: every reader of parameters (lookups, digests,
# renderers, JSON) walks them recursively, and real sets nest a few levels.
MAX_DEPTH = 100


def read(type_name: str, content) -> object:
    """The plain data of a stored set, or `Unreadable(reason)`, parsed now
    and not kept: for the parameter index, which keeps what it needs."""
    return _read(type_name, content)


def _read(type_name, content):
    from .parse import UnreadableParameters, parse_parameter_content
    stats["parsed"] += 1
    try:
        return parse_parameter_content(type_name, content, max_depth=MAX_DEPTH)
    except UnreadableParameters as err:
        return Unreadable(str(err) or type(err).__name__)
    except (RecursionError, MemoryError, ValueError, TypeError) as err:
        return Unreadable(f"{type(err).__name__}: {err}")


def clear() -> None:
    _cache.clear()
    stats.update(hits=0, parsed=0)
