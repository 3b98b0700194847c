"""The syntax tree of smtql: small immutable nodes, built right after parsing.

Every node carries the source span it came from (`span`), which takes no part
in equality, so two queries that mean the same compare equal whatever their
layout. Nothing past the parser sees a Lark tree.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field, fields
from typing import Any, Union


class _Immutable:
    """The root of the node classes: what `dataclass(frozen=True, eq=True,
    unsafe_hash=True)` would write into each of the 45 classes (four
    methods, each compiled from source), written once here. A field is set
    once, by `__init__`, and never again; nothing else is set or deleted.
    Nodes compare and hash by their compared fields (span left out), and
    print as dataclasses do."""

    __slots__ = ()

    def __setattr__(self, name, value):
        if name in self.__dict__ or name not in self.__dataclass_fields__:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _compared(self) -> tuple:
        return tuple(getattr(self, n) for n in _names(type(self), "compare"))

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._compared() == other._compared()
        return NotImplemented

    def __hash__(self):
        return hash(self._compared())

    def __repr__(self):
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in _names(type(self), "repr"))
        return f"{type(self).__qualname__}({shown})"


_NAMES: dict = {}


def _names(cls, flag: str) -> tuple[str, ...]:
    """The names of cls's fields with `flag` (compare, repr) set, in order."""
    key = (cls, flag)
    if key not in _NAMES:
        _NAMES[key] = tuple(f.name for f in fields(cls) if getattr(f, flag))
    return _NAMES[key]


# A node class: a dataclass whose only written method is __init__ (the
# others are _Immutable's), so instances cannot change.
immutable = dataclass(eq=False, repr=False)


@immutable
class Span(_Immutable):
    """Where a node stands in the program text (lines and columns from 1)."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int  # character offsets
    end: int


def _span():
    return field(default=None, compare=False, repr=False, kw_only=True)


@immutable
class Node(_Immutable):
    span: Span | None = _span()


# ------------------------------------------------------------------ values

@immutable
class Const(Node):
    """A literal, already read as the kind the left side of its comparison
    needs: str, int, float, bool, None, tuple (a list), datetime.date,
    `Period` (a span of time) or a duration in seconds (float)."""

    value: Any


@immutable
class Var(Node):
    """`$name`: a `let` binding or a value set from outside."""

    name: str


@immutable
class ListOf(Node):
    """A list literal whose items are still to be resolved (it holds a `$var`
    or a relative date)."""

    items: tuple["Value", ...]


@immutable
class Token(Node):
    """A literal kept as written because its reading depends on context
    (`2020` is a year after `after`, a number after `seed =`) or on the
    moment the program runs (`3 days ago`, `today`)."""

    kind: str  # NUMBER, DATE, LABEL, DURATION, STRING, AGO, TODAY, ...
    text: str


Value = Union[Const, Var, ListOf, Token]


# ------------------------------------------------------------------ keys

@immutable
class Field(Node):
    """A record field, by its canonical name (`main_file` for `script`)."""

    name: str


@immutable
class Param(Node):
    """A parameter key: segments are str, int for a bare number segment, or
    a `params.model.KeyLiteral` for a key that is not text (`[true]`)."""

    path: tuple[Any, ...]

    @property
    def dotted(self) -> str:
        """The key as a query writes it, `params.` included where needed."""
        from .spelling import path_text
        return path_text(self.path)


@immutable
class Output(Node):
    """`output("GLOB").KEY…`: a value read from the record's first output
    file (in path order) whose path matches the glob; `path` () is the
    whole parsed content. Compared like a parameter (LANGUAGE.md §11)."""

    glob: str
    path: tuple[str | int, ...] = ()


Key = Union[Field, Param, Output]


# ------------------------------------------------------------------ groups (§9)

PERIODS = ("hour", "day", "week", "month", "year")


@immutable
class PeriodKey(Node):
    """A period of the timestamp as a group key: hour, day, week (ISO,
    Monday), month, year; UTC."""

    unit: str


@immutable
class TagKey(Node):
    """`tag` as a group key: one group per tag (a record in each of its)."""


@immutable
class StatusKey(Node):
    """`status` as a group key: the record's status word."""


GroupKey = Union[Field, Param, PeriodKey, TagKey, StatusKey]

AGGREGATES = ("count", "mean", "avg", "median", "std", "min", "max", "sum", "first", "last")


@immutable
class Aggregate(Node):
    """An item of a group-by's `show`: `count`, `labels`, or FUNC(ARG)
    (`avg` is read as `mean`). ARG is any value a key reads."""

    func: str
    arg: Union[Key, None] = None


# ------------------------------------------------------------------ filters

@immutable
class All(Node):
    pass


@immutable
class And(Node):
    items: tuple["Filter", ...]


@immutable
class Or(Node):
    items: tuple["Filter", ...]


@immutable
class Not(Node):
    item: "Filter"


@immutable
class HasTags(Node):
    """Every listed tag is on the record (status words also match `_word_`)."""

    tags: tuple[Union[str, Var], ...]


@immutable
class TagLike(Node):
    pattern: str


@immutable
class Status(Node):
    word: str


@immutable
class TimeRange(Node):
    """`after D` (op `>=`), `before D` (`<`) or `on D` (`on`)."""

    op: str
    date: Value


@immutable
class Compare(Node):
    key: Key
    op: str  # = != < <= > >= ~= in contains startswith endswith matches
    value: Value


@immutable
class Exists(Node):
    key: Param


@immutable
class Match(Node):
    ref: "Ref"
    keys: tuple[Param, ...]


@immutable
class FilterVar(Node):
    name: str


@immutable
class OutputsMissing(Node):
    """`outputs missing`: some output file of the record is not on disk."""


@dataclass  # as `immutable` (Node is _Immutable), with a __hash__ of its own
class Predicate(Node):
    """`$NAME` bound to a Python callable (LANGUAGE.md §11): called with the
    record's Sumatra `Record`; only binding makes one."""

    name: str
    test: Any = field(repr=False)

    def __hash__(self):  # a callable object need not be hashable
        return hash(self.name)


Filter = Union[All, And, Or, Not, HasTags, TagLike, Status, TimeRange, Compare,
               Exists, Match, FilterVar, OutputsMissing, Predicate]


# ------------------------------------------------------------------ statements

@immutable
class Ref(Node):
    """A record: by label, or `latest` / `earliest` (kind), or `$var`."""

    kind: str  # "label", "latest", "earliest", "var"
    text: str = ""


@immutable
class OrderKey(Node):
    key: Key
    descending: bool = False


@immutable
class Limit(Node):
    """`limit N`, `latest [N]` or `earliest [N]` (N an int or a `$var`)."""

    kind: str
    count: Union[int, Var, None] = None


@immutable
class Find(Node):
    filter: Filter
    show: tuple[Union[Key, str], ...] | None = None  # "default" expands later
    order: tuple[OrderKey, ...] = ()
    limit: Limit | None = None
    merged: bool = False
    per: tuple[GroupKey, ...] = ()  # best per group: `limit` counts per group


@immutable
class Selection(Node):
    """The clauses of a SELECTION after its filter (`order by`, `per`,
    `limit`/`latest`/`earliest`), for the statements taking `where`."""

    order: tuple[OrderKey, ...] = ()
    per: tuple[GroupKey, ...] = ()
    limit: Limit | None = None


@immutable
class Group(Node):
    """`FILTER group by KEYS [show ITEMS] [order by …] [limit N]` (and
    `count FILTER group by KEYS`). `items` None: the keys and `count`."""

    filter: Filter
    keys: tuple[GroupKey, ...]
    items: tuple[Union[GroupKey, Aggregate], ...] | None = None
    order: tuple[OrderKey, ...] = ()
    limit: Limit | None = None


@immutable
class Tags(Node):
    """`tags [FILTER]`: the tags of the matched records, with counts."""

    filter: Filter = All()


@immutable
class Count(Node):
    filter: Filter


@immutable
class Describe(Node):
    """`describe REFS`: one ref (one record, as one object), several, or
    `where FILTER` and the SELECTION's clauses (`select`)."""

    refs: tuple[Ref, ...] = ()
    where: Filter | None = None
    select: Selection | None = None


@immutable
class Diff(Node):
    refs: tuple[Ref, ...] = ()
    where: Filter | None = None
    depth: Union[int, Var, None] = None
    ignore: tuple[Param, ...] = ()
    raw: bool = False
    select: Selection | None = None  # the clauses after `where FILTER`


@immutable
class Keys(Node):
    filter: Filter


@immutable
class TagWrite(Node):
    op: str  # "tag" or "untag"
    tags: tuple[Union[str, Var], ...]
    filter: Filter
    select: Selection | None = None


@immutable
class Export(Node):
    filter: Filter
    path: str | None = None
    select: Selection | None = None


@immutable
class Let(Node):
    name: str
    filter: Filter


@immutable
class Undo(Node):
    pass


@immutable
class Explain(Node):
    statement: "Statement"


PLOT_KINDS = ("line", "bar", "scatter", "hist", "box")


@immutable
class Plot(Node):
    """`plot STATEMENT [as KIND] [color KEY] [to "FILE"]` (§10): a chart of
    a find or a group-by."""

    statement: Union[Find, Group]
    kind: str | None = None
    color: Union[GroupKey, None] = None
    path: str | None = None


Statement = Union[Find, Count, Describe, Diff, Keys, TagWrite, Export, Let,
                  Undo, Explain, Group, Tags, Plot]


@immutable
class Program(Node):
    statements: tuple[Statement, ...]
    source: str = field(default="", compare=False, repr=False)
    filename: str | None = field(default=None, compare=False, repr=False)


def variables_used(node) -> set[str]:
    """The names of every `$variable` the node (a program, say) reads."""
    import dataclasses
    found = set()
    if isinstance(node, (Var, FilterVar)):
        found.add(node.name)
    elif isinstance(node, Ref) and node.kind == "var":
        found.add(node.text.lstrip("$"))
    if isinstance(node, Node):
        for f in dataclasses.fields(node):
            if f.compare:
                found |= variables_used(getattr(node, f.name))
    elif isinstance(node, tuple):
        for item in node:
            found |= variables_used(item)
    return found


def dump(node) -> str:
    """A compact, stable text of a node: `Type(field=value, …)` with fields
    at their defaults left out. Golden-file tests compare this."""
    import dataclasses
    if isinstance(node, Node):
        parts = []
        for f in dataclasses.fields(node):
            if not f.compare:
                continue
            value = getattr(node, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue
            parts.append(f"{f.name}={dump(value)}")
        return f"{type(node).__name__}({', '.join(parts)})"
    if isinstance(node, tuple):
        return "(" + ", ".join(dump(v) for v in node) + ("," if len(node) == 1 else "") + ")"
    if type(node).__name__ == "Period":
        span = f"{node.start:%Y-%m-%dT%H:%M:%S}..{node.end:%Y-%m-%dT%H:%M:%S}"
        return f"Period({node.text!r}, {span})"
    return repr(node)
