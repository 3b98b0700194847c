"""`FILTER group by KEYS [show ITEMS] [order by …] [limit N]` (LANGUAGE.md
§9): one row per group, with aggregates.

Two engines give the same answer (the reference is
`smtql.plan.evaluate.reference_groups`): the store's own GROUP BY, when it
can say the filter, the keys and the aggregates (`store.group`); otherwise
a streaming aggregation here, one accumulator per group and aggregate, so
memory grows with the number of groups, not of records (`median` and
`labels` keep their group's values, being made of them).
"""

from __future__ import annotations

import math
from collections import Counter

from ..language import ast
from ..plan import planner
from ..plan.evaluate import (compile_filter, group_items, item_name, key_combinations,
                             order_groups, takes, value_of)
from ..plan.values import MISSING, sort_key
from ..result import Table
from .find import check_names
from .selection import group_key_field


def run(stmt: ast.Group, ctx) -> Table:
    columns, aggregates = group_items(stmt)
    args = [a.arg for a in aggregates if a.arg is not None]
    check_names(ctx, [k for k in list(stmt.keys) + args if isinstance(k, ast.Param)])
    plan = plan_of(stmt, ctx.store)
    left_out: Counter = Counter()
    pushed = ctx.store.group(plan, stmt.keys, aggregates) if pushable(plan, ctx.store, stmt) \
        else None
    if pushed is not None:
        lines, left_out = pushed
    else:
        lines = stream(ctx.store.scan(plan), compile_filter(plan.post), stmt.keys, aggregates,
                       left_out)
    lines = order_groups(lines, stmt)
    if stmt.limit is not None:
        lines = lines[:stmt.limit.count]
    names = [item_name(c) for c in columns]
    keys = [k for k in list(stmt.keys) + args if isinstance(k, ast.Param)]
    notes = ctx.notes(stmt.filter, keys=keys) + left_out_notes(left_out)
    return Table(names, [{n: line[n] for n in names} for line in lines], store=ctx.store,
                 kind="groups", notes=notes)


def plan_of(stmt: ast.Group, store) -> planner.Plan:
    """The plan a group-by scans with (and `explain` shows): the fields its
    keys and aggregates read."""
    _, aggregates = group_items(stmt)
    wanted = {group_key_field(k) for k in stmt.keys}
    wanted |= {planner.key_field(a.arg) for a in aggregates if a.arg is not None}
    return planner.plan(stmt.filter, store, fields=wanted)


def pushable(plan, store, stmt) -> bool:
    """Whether the store runs this group-by itself: no post-filter left, and
    every key and aggregate said in its own terms."""
    _, aggregates = group_items(stmt)
    return plan.post_is_trivial and store.can_group(stmt.keys, aggregates)


def left_out_notes(left_out: Counter) -> list[str]:
    return [f"{name}: {n} value{'s' if n != 1 else ''} left out (missing, null or not "
            f"{'a number' if not name.startswith(('min(', 'max(')) else 'a number, text or time'})"
            for name, n in left_out.items() if n]


# ------------------------------------------------------------------ streaming

def stream(rows, keep, keys, aggregates, left_out: Counter) -> list[dict]:
    """Group rows as they stream by: per group, the newest record's key
    values and one accumulator per aggregate."""
    groups: dict[tuple, _Group] = {}
    for row in rows:
        if not keep(row):
            continue
        order = (-row.timestamp.timestamp(), row.label)  # the default order: newest first
        for combo, token in key_combinations(row, keys):
            group = groups.get(token)
            if group is None:
                group = groups[token] = _Group(combo, order, aggregates)
            group.add(row, combo, order)
    lines = []
    for group in groups.values():
        line = {item_name(k): v for k, v in zip(keys, group.combo)}
        for item, acc in zip(aggregates, group.accumulators):
            line[item_name(item)] = acc.result()
            left_out[item_name(item)] += getattr(acc, "left_out", 0)
        lines.append(line)
    return lines


class _Group:
    __slots__ = ("combo", "order", "accumulators")

    def __init__(self, combo, order, aggregates):
        self.combo, self.order = combo, order
        self.accumulators = [accumulator(a) for a in aggregates]

    def add(self, row, combo, order) -> None:
        if order < self.order:  # a group shows its newest record's key values
            self.combo, self.order = combo, order
        for acc in self.accumulators:
            acc.add(row, order)


def accumulator(item: ast.Aggregate):
    func = item.func
    if func == "count" and item.arg is None:
        return _Count()
    if func == "labels":
        return _Labels()
    if func == "count":
        return _CountOf(item.arg)
    if func in ("first", "last"):
        return _Extreme(item.arg, newest=func == "last")
    return _NUMBERS[func](item.arg, takes(func))


class _Count:
    def __init__(self):
        self.n = 0

    def add(self, row, order):
        self.n += 1

    def result(self):
        return self.n


class _Labels:
    def __init__(self):
        self.seen = []

    def add(self, row, order):
        self.seen.append(order)

    def result(self):
        return tuple(label for _, label in sorted(self.seen))


class _CountOf:
    def __init__(self, arg):
        self.arg, self.n = arg, 0

    def add(self, row, order):
        v = value_of(row, self.arg)
        self.n += v is not MISSING and v is not None

    def result(self):
        return self.n


class _Extreme:
    """first(X) / last(X): the value of the oldest / newest record."""

    def __init__(self, arg, newest: bool):
        self.arg, self.newest = arg, newest
        self.order, self.value = None, MISSING

    def add(self, row, order):
        if self.order is None or (order < self.order if self.newest else order > self.order):
            self.order, self.value = order, value_of(row, self.arg)

    def result(self):
        return self.value


class _Values:
    """The values an aggregate takes; those it does not are counted."""

    def __init__(self, arg, test):
        self.arg, self.test, self.left_out = arg, test, 0

    def add(self, row, order):
        v = value_of(row, self.arg)
        if self.test(v):
            self.take(v)
        else:
            self.left_out += 1


class _Sum(_Values):
    def __init__(self, arg, test):
        super().__init__(arg, test)
        self.n, self.ints, self.floats = 0, 0, []

    def take(self, v):
        self.n += 1
        if isinstance(v, int):
            self.ints += v
        else:
            self.floats.append(v)

    def total(self):
        return self.ints + math.fsum(self.floats) if self.floats else self.ints

    def result(self):
        return self.total() if self.n else MISSING


class _Mean(_Sum):
    def result(self):
        # statistics.fmean's own sum: exact (fsum) over ints and floats alike
        return math.fsum(self.floats + [self.ints]) / self.n if self.n else MISSING


class _Std(_Values):
    """Sample standard deviation, by Welford's update (one pass, no list)."""

    def __init__(self, arg, test):
        super().__init__(arg, test)
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def take(self, v):
        self.n += 1
        delta = v - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (v - self.mean)

    def result(self):
        return math.sqrt(self.m2 / (self.n - 1)) if self.n >= 2 else MISSING


class _Median(_Values):
    def __init__(self, arg, test):
        super().__init__(arg, test)
        self.kept = []

    def take(self, v):
        self.kept.append(v)

    def result(self):
        import statistics
        return statistics.median(self.kept) if self.kept else MISSING


class _MinMax(_Values):
    def __init__(self, arg, test, pick):
        super().__init__(arg, test)
        self.pick, self.best, self.key = pick, MISSING, None

    def take(self, v):
        k = sort_key(v)
        if self.key is None or self.pick(k, self.key):
            self.best, self.key = v, k

    def result(self):
        return self.best


_NUMBERS = {
    "sum": _Sum, "mean": _Mean, "std": _Std, "median": _Median,
    "min": lambda arg, test: _MinMax(arg, test, lambda a, b: a < b),
    "max": lambda arg, test: _MinMax(arg, test, lambda a, b: a > b),
}
