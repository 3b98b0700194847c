"""The planner: normalise a bound filter and split it into the part the store
decides (pre-filter) and the part Python decides (post-filter).

Passes are plain functions from filter to filter. The split must not depend
on the order in which the user wrote the predicates, so `normalize` sorts
the operands of `and`/`or` into a canonical order first.

The split (`split`) asks the store one question per predicate: can you
decide this one exactly (`store.pushable(atom)`)? From the answers it
computes, for every node, two filters the store can run:

    necessary  N(f): f implies N(f)   (a candidate filter)
    sufficient S(f): S(f) implies f

An exact atom is its own N and S; any other atom has N = all, S = nothing.
`and`/`or` combine children's bounds, `not` swaps them (not f implies
not S(f)). The pre-filter is N of the whole filter, so it never drops a
record the filter keeps, under `or` and `not` alike; the post-filter is what
remains to be checked: nothing when every atom is exact, the non-exact
operands of a top-level `and`, otherwise the whole filter.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..language import ast

TRUE = ast.All()
FALSE = ast.Not(ast.All())  # "nothing": no record satisfies it


@dataclass(frozen=True)
class Plan:
    filter: object  # the whole normalised filter
    pre: object  # decided (or narrowed) by the store
    post: object  # decided in Python, on the rows the store returns
    # Row fields the statement reads (post-filter, columns, order keys);
    # None: all of them.
    fields: frozenset | None = None
    # ("latest" | "earliest", n): only the n newest/oldest answers by
    # timestamp are wanted (the store may return ties and more).
    limit: tuple | None = None
    # The statement wants rows newest first (then by label): a store that can
    # return them so saves the executor a sort.
    newest_first: bool = False

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
            items = fold_bounds([i for i in items if not isinstance(i, ast.All)])
        elif any(isinstance(i, ast.All) for i in items):
            return ast.All(span=f.span)
        else:
            items = fold_equalities(items)
        items = sorted({canonical_key(i): i for i in items}.values(),
                       key=lambda i: (cost(i), canonical_key(i)))
        if not items:
            return ast.All(span=f.span)
        return items[0] if len(items) == 1 else kind(tuple(items), span=f.span)
    return f


def canonical_key(f) -> str:
    return repr(f)


def cost(f) -> int:
    """How dear an operand is to decide in Python, so that `and` and `or`
    (which stop at the first operand that decides) try the cheap ones first:
    0 a row's own fields, 1 an output file read, 2 a Python predicate (its
    Sumatra Record is built for it). A record the rest decides never
    reaches a dearer operand."""
    if isinstance(f, ast.Predicate):
        return 2
    if reads_files(f):
        return 1
    if isinstance(f, (ast.And, ast.Or)):
        return max(cost(i) for i in f.items)
    return cost(f.item) if isinstance(f, ast.Not) else 0


def reads_files(f) -> bool:
    return isinstance(f, ast.OutputsMissing) or isinstance(getattr(f, "key", None), ast.Output)


def fold_equalities(items: list) -> list:
    """The operands of an `or`, with every `KEY = V` and `KEY in [...]` on
    one key folded into a single `KEY in [...]`: `reason = "a" or reason =
    "b"` is `reason in ["a", "b"]` (LANGUAGE.md: `in` is "equal to one of"),
    so a 10,000-term `or` becomes one SQL `IN` and one set of values for
    the evaluator. The `tags` field is not folded: `tags = X` compares the
    whole set of tags, `tags in [...]` does not."""
    groups: dict[str, list] = {}
    rest = []
    for item in items:
        if _foldable(item):
            groups.setdefault(repr(item.key), []).append(item)
        else:
            rest.append(item)
    for group in groups.values():
        if len(group) == 1:
            rest.append(group[0])
            continue
        folded = {}
        for c in group:
            for v in (c.value.value if c.op == "in" else (c.value.value,)):
                folded.setdefault(repr(v), v)
        # sorted, so the plan does not depend on the order written
        values = tuple(folded[k] for k in sorted(folded))
        rest.append(ast.Compare(group[0].key, "in", ast.Const(values), span=group[0].span))
    return rest


def fold_bounds(items: list) -> list:
    """The operands of an `and`, with the number bounds on one key (`KEY >
    n`, `>=`, `<`, `<=`) cut to the strongest on each side: `duration > 1
    and duration > 5` is `duration > 5`. Both hold exactly when the
    stronger does, for a number, a list of numbers (every element) and
    anything else (never), so a 10,000-term `and` is one SQL condition,
    not ten thousand for SQLite to plan."""
    best: dict[tuple, ast.Compare] = {}
    rest = []
    for item in items:
        side = _bound_side(item)
        if side is None:
            rest.append(item)
            continue
        key = (repr(item.key), side)
        if key not in best or _stronger(item, best[key], side):
            best[key] = item
    return rest + list(best.values())


def _bound_side(f) -> str | None:
    if not (isinstance(f, ast.Compare) and f.op in ("<", "<=", ">", ">=")
            and isinstance(f.value, ast.Const)):
        return None
    v = f.value.value
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:  # v != v: NaN
        return None
    return "low" if f.op in (">", ">=") else "high"


def _stronger(a, b, side: str) -> bool:
    x, y = a.value.value, b.value.value
    if x == y:
        return a.op in (">", "<") and b.op not in (">", "<")
    return x > y if side == "low" else x < y


def _foldable(f) -> bool:
    if not isinstance(f, ast.Compare) or not isinstance(f.value, ast.Const):
        return False
    if isinstance(f.key, ast.Field) and f.key.name == "tags":
        return False
    return f.op == "=" or (f.op == "in" and isinstance(f.value.value, tuple))


def plan(f, store=None, *, fields=None, limit=None, newest_first=False) -> Plan:
    """Normalise and split for `store` (a store that pushes nothing down
    gets everything as post-filter). `fields`: the row fields the statement
    reads besides the filter (None: all); `limit`: ("latest"|"earliest", n)
    when only the n newest/oldest answers matter."""
    f = normalize(f)
    if store is not None and store.pushes_down:
        pre, post = split(f, store.pushable)
    else:
        pre, post = ast.All(), f
    if fields is not None:
        fields = frozenset(fields) | fields_read(post) | {"label", "timestamp"}
    if not isinstance(post, ast.All) or store is None or not store.limits_scan:
        limit = None  # the post-filter may drop any of the newest candidates
    return Plan(f, pre, post, fields, limit, newest_first)


# ------------------------------------------------------------------ the split

ATOMS = (ast.HasTags, ast.TagLike, ast.Status, ast.TimeRange, ast.Compare, ast.Exists)


def is_false(f) -> bool:
    return isinstance(f, ast.Not) and isinstance(f.item, ast.All)


def split(f, pushable) -> tuple[object, object]:
    """(pre, post) with f == pre and post, f implying pre, and every atom of
    pre exactly decidable by the store."""
    if is_exact(f, pushable):
        return f, ast.All()
    if isinstance(f, ast.And):
        exact = [i for i in f.items if is_exact(i, pushable)]
        rest = [i for i in f.items if not is_exact(i, pushable)]
        pre = _and(exact + [bounds(i, pushable)[0] for i in rest])
        return pre, _and(rest)
    return bounds(f, pushable)[0], f


def is_exact(f, pushable) -> bool:
    if isinstance(f, ast.All):
        return True
    if isinstance(f, (ast.And, ast.Or)):
        return all(is_exact(i, pushable) for i in f.items)
    if isinstance(f, ast.Not):
        return is_exact(f.item, pushable)
    return store_decides(f, pushable)


def store_decides(atom, pushable) -> bool:
    """An atom the store decides exactly: never one that reads output files
    or calls Python."""
    return isinstance(atom, ATOMS) and not reads_files(atom) and bool(pushable(atom))


def bounds(f, pushable) -> tuple[object, object]:
    """(necessary, sufficient) filters the store decides exactly."""
    if isinstance(f, ast.All):
        return TRUE, TRUE
    if isinstance(f, ast.And):
        parts = [bounds(i, pushable) for i in f.items]
        return _and([n for n, _ in parts]), _and([s for _, s in parts])
    if isinstance(f, ast.Or):
        parts = [bounds(i, pushable) for i in f.items]
        return _or([n for n, _ in parts]), _or([s for _, s in parts])
    if isinstance(f, ast.Not):
        n, s = bounds(f.item, pushable)
        return _not(s), _not(n)
    if store_decides(f, pushable):
        return f, f
    return TRUE, FALSE


def _and(items):
    out = []
    for i in items:
        if isinstance(i, ast.All):
            continue
        if is_false(i):
            return FALSE
        out.extend(i.items if isinstance(i, ast.And) else (i,))
    if not out:
        return TRUE
    return out[0] if len(out) == 1 else ast.And(tuple(out))


def _or(items):
    out = []
    for i in items:
        if isinstance(i, ast.All):
            return TRUE
        if is_false(i):
            continue
        out.extend(i.items if isinstance(i, ast.Or) else (i,))
    if not out:
        return FALSE
    return out[0] if len(out) == 1 else ast.Or(tuple(out))


def _not(f):
    if isinstance(f, ast.Not):
        return f.item
    return ast.Not(f)


# ------------------------------------------------------------------ what rows must carry

def fields_read(f) -> frozenset:
    """The Row fields a filter reads ("params" for any parameter)."""
    out = set()
    _collect_fields(f, out)
    return frozenset(out)


def _collect_fields(f, out: set) -> None:
    if isinstance(f, (ast.And, ast.Or)):
        for i in f.items:
            _collect_fields(i, out)
    elif isinstance(f, ast.Not):
        _collect_fields(f.item, out)
    elif isinstance(f, (ast.HasTags, ast.TagLike, ast.Status)):
        out.add("tags")
    elif isinstance(f, ast.TimeRange):
        out.add("timestamp")
    elif isinstance(f, (ast.Compare, ast.Exists)):
        out.add(key_field(f.key))
    elif isinstance(f, ast.OutputsMissing):
        out.add("outputpath")


def key_field(key) -> str:
    """The Row field a key reads."""
    if isinstance(key, ast.Param):
        return "params"
    if isinstance(key, ast.Output):
        return "outputpath"
    return "outputpath" if key.name == "outputs" else key.name
