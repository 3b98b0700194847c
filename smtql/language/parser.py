"""Text → AST: the Lark parser, the transformer that builds `smtql.language.ast`
nodes, and the translation of Lark's exceptions into `QuerySyntaxError`s a
person can act on."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import gc
import re
from datetime import date, datetime

from ._lark import lark
from lark import Lark, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, VisitError

from . import ast, dates, fields
from . import grammar_text, literals
from ..params.model import KeyLiteral
from ..errors import QueryError, QuerySyntaxError, SmtqlError, closest, quoted_choices


@functools.lru_cache(maxsize=None)
def lark_parser() -> Lark:
    grammar = grammar_text()
    # cache=True keeps the built parser in a temp file keyed by the grammar's
    # hash: start-up then costs a file read, not a grammar analysis.
    callbacks = _Callbacks()
    parser = Lark(grammar, start=["program", "value_entry"], parser="lalr", lexer="contextual",
                  propagate_positions=True, maybe_placeholders=True, cache=True,
                  lexer_callbacks=callbacks)
    # The keyword check needs the terminals' names, which only the built
    # parser knows. Lark's lexers share this dict and read it when they
    # first lex, so filling it now spares a second build (14 ms at start-up).
    callbacks.update({t.name: _whole_word for t in parser.terminals if t.name not in _WORDY})
    return parser


class _Callbacks(dict):
    """Lark replaces an empty (false) callback dict by a new one of its own;
    this one stays itself, so the names can be filled in after the build."""

    def __bool__(self):
        return True


# Terminals that are names, numbers or text, not keywords.
_WORDY = {"KEY", "WORD", "REF_WORD", "NAME", "VAR", "STRING", "LABEL", "DATE", "DURATION",
          "NUMBER", "INT", "TIME_UNIT", "COMMENT", "WS"}
_SOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("smtql_source", default=None)


class _GluedKeyword(Exception):
    def __init__(self, token):
        self.token = token


def _whole_word(token):
    """A keyword must end where its word does. Lark matches keywords as
    plain strings, so where no key may stand `andd` would lex as `and d`
    and `x = 1 andd = 2` read as `x = 1 and d = 2`: a keyword glued to
    more letters or digits is an error instead."""
    source = _SOURCE.get()
    end = token.end_pos
    if (source is not None and token.value.isalpha() and end < len(source)
            and (source[end].isalnum() or source[end] == "_")):
        raise _GluedKeyword(token)
    return token


def parse(source: str, filename: str | None = None) -> ast.Program:
    """Parse a program; raise QuerySyntaxError (or QueryError for a literal
    that reads as nothing, like `2020-13-01`) with its position."""
    try:
        with _no_cycle_collection():
            reset = _SOURCE.set(source)
            try:
                tree = lark_parser().parse(source, start="program")
            finally:
                _SOURCE.reset(reset)
            tree = _check_depth(_flatten(tree), source)
            program = _ToAst(source).transform(tree)
    except _GluedKeyword as err:
        raise _glued_error(err.token, source, filename) from None
    except UnexpectedInput as err:
        raise _syntax_error(err, source, filename) from None
    except VisitError as err:
        if isinstance(err.orig_exc, SmtqlError):
            span = getattr(err.orig_exc, "span", None)
            raise err.orig_exc.at(source, span and span.start, span and span.end,
                                  filename=filename) from None
        raise
    return ast.Program(program.statements, source=source, filename=filename)


@contextlib.contextmanager
def _no_cycle_collection():
    """Parsing a long program allocates tokens and nodes by the ten
    thousand, all alive until the AST is built: each pass of Python's cyclic
    collector rescans every one of them, which makes a 10,000-term program
    cost twice what it should. Nothing here makes garbage cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_value(text: str):
    """A value set from outside (`--set lr=0.01`), read as an smtql literal:
    an `ast.Token`, `ast.ListOf` or `ast.Const`. Bare words are text."""
    try:
        tree = lark_parser().parse(text, start="value_entry")
        return _ToAst(text).transform(tree)
    except (UnexpectedInput, VisitError):
        return ast.Const(text)


# ------------------------------------------------------------------ nesting

# How deep a program may nest (parentheses mixing `and`, `or`, `not`; lists
# in lists) once the nesting that means nothing is gone. Every later stage
# (binding, planning, SQL, evaluation) walks the tree recursively, a few
# Python frames per level, so the bound keeps them all far from Python's
# recursion limit; real programs nest a handful of levels.
MAX_DEPTH = 100
_FLAT = {"and_filter", "or_filter"}


def _flatten(tree: lark.Tree) -> lark.Tree:
    """Remove nesting that means nothing, without recursion (the tree may be
    thousands deep): `not not X` is X, and `a and (b and c)` one `and` of
    three (likewise `or`). Children are rewritten before their parents."""
    stack = [(tree, False)]
    while stack:
        node, children_done = stack.pop()
        if not children_done:
            stack.append((node, True))
            stack.extend((c, False) for c in node.children if isinstance(c, lark.Tree))
            continue
        children = []
        for child in node.children:
            child = _without_double_not(child)
            if isinstance(child, lark.Tree) and child.data in _FLAT and child.data == node.data:
                children.extend(child.children)
            else:
                children.append(child)
        node.children = children
    return _without_double_not(tree)


def _without_double_not(node):
    if (isinstance(node, lark.Tree) and node.data == "not_"
            and isinstance(node.children[0], lark.Tree) and node.children[0].data == "not_"):
        return node.children[0].children[0]
    return node


def _check_depth(tree: lark.Tree, source: str) -> lark.Tree:
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            err = QueryError(f"the program nests more than {MAX_DEPTH} levels deep (parentheses "
                             f"mixing and, or, not; lists in lists); smtql reads at most "
                             f"{MAX_DEPTH}")
            raise _at(err, source, _span_of(node.meta))
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, lark.Tree))
    return tree


# ------------------------------------------------------------------ keys

_SEGMENT = re.compile(r"`((?:[^`]|``)*)`|\[([^\[\]`\s,]+)\]|([^.`\[]+)")


def split_key(text: str) -> list[tuple[object, bool]]:
    """`a.0.`b-c`.[true]` → [("a", False), (0, False), ("b-c", True),
    (KeyLiteral(True), True)]; the flag says the segment was quoted
    (back-quotes or brackets), which forces the parameter reading."""
    segments = []
    for m in _SEGMENT.finditer(text):
        quoted, literal, word = m.groups()
        if quoted is not None:
            segments.append((quoted.replace("``", "`"), True))
        elif literal is not None:
            segments.append((KeyLiteral(_key_literal(literal)), True))
        else:
            segments.append((int(word) if word.isdecimal() else word, False))
    return segments


_KEY_WORDS = {"true": True, "false": False, "null": None, "none": None}


def _key_literal(text: str):
    """The value of a bracketed key segment: a boolean, null, a number or a
    date, as PyYAML reads them as keys (LANGUAGE.md §3)."""
    if text.lower() in _KEY_WORDS:
        return _KEY_WORDS[text.lower()]
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    for read in (float, date.fromisoformat, datetime.fromisoformat):
        with contextlib.suppress(ValueError):
            return read(text)
    raise QueryError(f"[{text}] is not a key smtql can read: in brackets go true, false, "
                     "null, a number or a date (text keys go in back-quotes)")


def read_key(text: str, span=None) -> ast.Key:
    """A field if the whole key is a field name written bare; otherwise a
    parameter (`params.` in front or quoting force that)."""
    try:
        segments = split_key(text)
    except QueryError as err:
        err.span = span  # placed by `parse`, which has the source
        raise
    if len(segments) == 1 and not segments[0][1]:
        info = fields.field_named(segments[0][0])
        if info is not None:
            return ast.Field(info.name, span=span)
    if segments and segments[0] == ("params", False):
        # `params` alone is the whole set (the empty path); `params.` in
        # front of more forces the parameter reading of what follows.
        segments = segments[1:]
    return ast.Param(tuple(s for s, _ in segments), span=span)


def group_key_of(key, written: str | None = None):
    """A key read as a group key: a bare `status` or period word (`week`)
    is that key, a parameter so named needs `params.` or back-quotes."""
    if written is None:
        written = key.dotted if isinstance(key, ast.Param) else key.name
    word = written.lower()
    if isinstance(key, ast.Param) and len(key.path) == 1 and written.isidentifier():
        if word in ast.PERIODS:
            return ast.PeriodKey(word, span=key.span)
        if word == "status":
            return ast.StatusKey(span=key.span)
    return key


def _item_text(item) -> str:
    from .unparse import item_text
    return item_text(item)


# ------------------------------------------------------------------ transformer

def _span_of(meta_or_token) -> ast.Span | None:
    m = meta_or_token
    if getattr(m, "empty", False) or getattr(m, "line", None) is None:
        return None
    return ast.Span(m.line, m.column, m.end_line, m.end_column, m.start_pos, m.end_pos)


# Which literal tokens are kept as written until their comparison reads them.
_LITERAL_TOKENS = {"NUMBER", "INT", "STRING", "DATE", "LABEL", "DURATION", "TRUE",
                   "FALSE", "NULL", "TODAY", "YESTERDAY"}
_DYNAMIC = {"AGO", "TODAY", "YESTERDAY"}  # need the program's "now"


def _kind(f: ast.Key) -> str:
    return f and (fields.FIELDS[f.name].kind if isinstance(f, ast.Field) else literals.PARAM)


def resolve_value(value, target: str, source: str = ""):
    """Read a literal for a key of kind `target` as far as can be done before
    the program runs: a Const, or the node as it is if it holds a `$var` or a
    relative date."""
    if isinstance(value, ast.Token):
        if value.kind in _DYNAMIC:
            return value
        try:
            return ast.Const(literals.read_literal(value.kind, value.text, target), span=value.span)
        except (dates.DateError, QueryError) as err:
            raise _at(QueryError(str(err) if isinstance(err, dates.DateError) else err.message),
                      source, value.span) from None
    if isinstance(value, ast.ListOf):
        items = tuple(resolve_value(v, target, source) for v in value.items)
        if all(isinstance(i, ast.Const) for i in items):
            return ast.Const(tuple(i.value for i in items), span=value.span)
        return ast.ListOf(items, span=value.span)
    return value


def _at(err: SmtqlError, source: str, span: ast.Span | None) -> SmtqlError:
    if span is not None:
        err.at(source, span.start, span.end)
    return err


@v_args(meta=True)
class _ToAst(Transformer):
    """Builds AST nodes bottom-up; each node gets the span of its rule."""

    def __init__(self, source: str):
        super().__init__()
        self.source = source

    def _error(self, message, span, **kw):
        return _at(QueryError(message, **kw), self.source, span)

    # -- programs and statements
    def program(self, meta, statements):
        return ast.Program(tuple(statements), span=_span_of(meta))

    def find(self, meta, children):
        _find, filter_, *clauses = children
        options = self._clauses(clauses, "find")
        if "group" in options:
            return self._group(filter_, options, meta)
        for item in options.get("show", ()) + tuple(o.key for o in options.get("order", ())):
            if isinstance(item, (ast.Aggregate, ast.TagKey)):
                raise self._error(f"'{_item_text(item)}' needs 'group by': aggregates and "
                                  f"`tag` are items of a group-by", item.span)
        if "per" in options and options.get("merged"):
            raise self._error("'per' and 'merged' do not go together", options["merged at"])
        return ast.Find(filter_, show=options.get("show"), order=options.get("order", ()),
                        limit=options.get("limit"), merged=options.get("merged", False),
                        per=options.get("per", ()), span=_span_of(meta))

    def _clauses(self, clauses, statement: str) -> dict:
        """The (name, span, value) triples of clauses as a dict by name
        (`limit`, `latest`, `earliest` under "limit"), each at most once."""
        seen, options = {}, {}
        for name, node, value in clauses:
            group = "limit" if name in ("limit", "latest", "earliest") else name
            if group in seen:
                also = f" (already given as '{seen[group]}')" if seen[group] != name else ""
                raise self._error(f"'{name}' may appear only once in a {statement}{also}", node)
            seen[group] = name
            options[group] = value
            options[group + " at"] = node
        return options

    def _selection(self, clauses, statement: str):
        """The clauses after a SELECTION's filter, or None."""
        if not clauses:
            return None
        options = self._clauses(clauses, statement)
        return ast.Selection(order=options.get("order", ()), per=options.get("per", ()),
                             limit=options.get("limit"))

    def _group(self, filter_, options, meta) -> ast.Group:
        """A find with `group by` is a group-by: its `show` and `order by`
        name keys and aggregates; `merged`, `per`, `latest`, `earliest` do
        not apply to groups."""
        keys = options["group"]
        for name in ("merged", "per"):
            if name in options:
                raise self._error(f"'{name}' does not go with 'group by'", options[name + " at"])
        limit = options.get("limit")
        if limit is not None and limit.kind != "limit":
            raise self._error(f"'{limit.kind}' does not go with 'group by'; 'limit N' keeps "
                              f"the first N groups", limit.span)
        items = options.get("show")
        if items is not None:
            items = tuple(self._group_item(i, keys) for i in items)
        order = tuple(dataclasses.replace(o, key=self._group_item(o.key, keys))
                      for o in options.get("order", ()))
        return ast.Group(filter_, keys, items, order, limit, span=_span_of(meta))

    def _group_item(self, item, keys):
        """An item of a group-by's `show` or `order by`: an aggregate, or
        one of the keys."""
        if item == "default":
            raise self._error("'default' shows record fields; a group-by shows keys and "
                              "aggregates", None)
        if isinstance(item, (ast.Field, ast.Param)):
            item = group_key_of(item)
        if isinstance(item, ast.Param) and item.path == ("labels",) and item not in keys:
            return ast.Aggregate("labels", span=item.span)
        if isinstance(item, ast.Aggregate) or item in keys:
            return item
        text = _item_text(item)
        if text.lower() in ast.AGGREGATES:
            raise self._error(f"'{text}' takes a value: {text}(X)", item.span,
                              suggestion=f"'{text}(duration)'")
        near = closest(text, [_item_text(k) for k in keys] + ["count", "labels"])
        raise self._error(f"'{text}' is not a key of this group-by; show takes its keys and "
                          f"aggregates (count, count(X), mean(X), median(X), std(X), min(X), "
                          f"max(X), sum(X), first(X), last(X), labels)", item.span,
                          suggestion=quoted_choices(near) if near else f"'first({text})'")

    def count(self, meta, children):
        _count, filter_, keys = children
        if keys is not None:  # `count F group by K` is `F group by K show count`
            return ast.Group(filter_, keys[2], (ast.Aggregate("count"),), span=_span_of(meta))
        return ast.Count(filter_, span=_span_of(meta))

    def tags(self, meta, children):
        _tags, filter_ = children
        return ast.Tags(filter_ if filter_ is not None else ast.All(), span=_span_of(meta))

    def describe(self, meta, children):
        return ast.Describe(**_refs_fields(children[0]), span=_span_of(meta))

    def diff(self, meta, children):
        refs, *options = children
        kwargs = _refs_fields(refs)
        for name, node, value in options:
            if name in kwargs:
                raise self._error(f"'{name}' may appear only once in a diff", node)
            kwargs[name] = value
        return ast.Diff(**kwargs, span=_span_of(meta))

    def keys(self, meta, children):
        return ast.Keys(children[0], span=_span_of(meta))

    def tag_write(self, meta, children):
        op, tags, filter_, *clauses = children
        return ast.TagWrite(op.value.lower(), tags, filter_,
                            select=self._selection(clauses, op.value.lower()),
                            span=_span_of(meta))

    def export(self, meta, children):
        filter_, *clauses, path = children
        return ast.Export(filter_, literals.unquote(path) if path else None,
                          select=self._selection(clauses, "export"), span=_span_of(meta))

    def let(self, meta, children):
        name, filter_ = children
        return ast.Let(str(name), filter_, span=_span_of(meta))

    def undo(self, meta, children):
        return ast.Undo(span=_span_of(meta))

    def explain(self, meta, children):
        return ast.Explain(children[0], span=_span_of(meta))

    def plot(self, meta, children):
        inner, *options = children
        if not isinstance(inner, (ast.Find, ast.Group)):
            raise self._error("plot draws a find or a group-by; `count F` is one number "
                              "(`count F group by KEY` is a group-by)", inner.span)
        kwargs = {}
        for name, node, value in options:
            if name in kwargs:
                raise self._error(f"'{name}' may appear only once in a plot", node)
            kwargs[name] = value
        return ast.Plot(inner, kwargs.get("as"), kwargs.get("color"), kwargs.get("to"),
                        span=_span_of(meta))

    def plot_as(self, meta, children):
        word = str(children[0]).lower()
        if word not in ast.PLOT_KINDS:
            near = closest(word, ast.PLOT_KINDS)
            raise self._error(f"'{children[0]}' is not a kind of chart; they are "
                              + ", ".join(ast.PLOT_KINDS), _span_of(children[0]),
                              suggestion=quoted_choices(near) if near else None)
        return ("as", _span_of(meta), word)

    def plot_color(self, meta, children):
        return ("color", _span_of(meta), self._group_key(children[0]))

    def plot_to(self, meta, children):
        return ("to", _span_of(meta), literals.unquote(children[0]))

    # -- clauses: (name, span, value) triples that `find` and `diff` collect
    def show(self, meta, columns):
        return ("show", _span_of(meta), tuple(columns))

    def column(self, meta, children):
        (tok,) = children
        if not isinstance(tok, lark.Token):
            return tok  # a call, or a value read from an output file
        if tok.type == "TAG":
            return ast.TagKey(span=_span_of(tok))
        return "default" if tok.type == "DEFAULT" else read_key(str(tok), _span_of(tok))

    def order(self, meta, keys):
        return ("order", _span_of(meta), tuple(keys))

    def order_key(self, meta, children):
        key, direction = children
        if isinstance(key, lark.Token) and key.type == "TAG":
            key = ast.TagKey(span=_span_of(key))
        return ast.OrderKey(_any_key(key), descending=bool(direction) and direction.type == "DESC",
                            span=_span_of(meta))

    # -- groups (§9)
    def group(self, meta, keys):
        return ("group", _span_of(meta), tuple(self._group_key(k) for k in keys))

    def per(self, meta, keys):
        return ("per", _span_of(meta), tuple(self._group_key(k) for k in keys))

    def _group_key(self, tok):
        if not isinstance(tok, lark.Token):
            return tok  # a value read from an output file
        if tok.type == "TAG":
            return ast.TagKey(span=_span_of(tok))
        return group_key_of(read_key(str(tok), _span_of(tok)), str(tok))

    def call(self, meta, children):
        func, arg = children
        name = str(func).lower()
        span = _span_of(meta)
        if name not in ast.AGGREGATES:
            near = closest(name, ast.AGGREGATES + ("labels",))
            raise self._error(f"'{func}' is not an aggregate; they are "
                              + ", ".join(ast.AGGREGATES + ("labels",)), _span_of(func),
                              suggestion=quoted_choices(near) if near else None)
        if arg is None and name != "count":
            raise self._error(f"'{name}' takes a value: {name}(X)", span)
        key = _any_key(arg) if arg is not None else None
        return ast.Aggregate("mean" if name == "avg" else name, key, span=span)

    def _limit(self, kind, meta, children):
        count = children[0] if children else None
        if kind == "limit" and count is None:
            raise self._error("'limit' needs a number", _span_of(meta))
        return (kind, _span_of(meta), ast.Limit(kind, self._count(count), span=_span_of(meta)))

    def limit(self, meta, children):
        return self._limit("limit", meta, children)

    def latest(self, meta, children):
        return self._limit("latest", meta, children)

    def earliest(self, meta, children):
        return self._limit("earliest", meta, children)

    def merged(self, meta, children):
        return ("merged", _span_of(meta), True)

    def _count(self, tok):
        if tok is None:
            return None
        if tok.type == "VAR":
            return ast.Var(tok[1:], span=_span_of(tok))
        problem = count_problem(int(tok))
        if problem:
            raise self._error(problem, _span_of(tok))
        return int(tok)

    def refs(self, meta, refs):
        return tuple(refs)

    def refs_where(self, meta, children):
        filter_, *clauses = children
        return [filter_, self._selection(clauses, "selection")]

    def depth(self, meta, children):
        return ("depth", _span_of(meta), self._count(children[0]))

    def ignore(self, meta, keys):
        return ("ignore", _span_of(meta), tuple(read_key(str(k), _span_of(k)) for k in keys))

    def raw(self, meta, children):
        return ("raw", _span_of(meta), True)

    def ref(self, meta, children):
        (tok,) = children
        span = _span_of(tok)
        if tok.type in ("LATEST", "EARLIEST"):
            return ast.Ref(tok.type.lower(), span=span)
        if tok.type == "VAR":
            return ast.Ref("var", tok[1:], span=span)
        text = literals.unquote(tok) if tok.type == "STRING" else str(tok)
        return ast.Ref("label", text, span=span)

    # -- filters
    def or_filter(self, meta, items):
        return ast.Or(tuple(items), span=_span_of(meta))

    def and_filter(self, meta, items):
        return ast.And(tuple(items), span=_span_of(meta))

    def not_(self, meta, children):
        return ast.Not(children[0], span=_span_of(meta))

    def all_(self, meta, children):
        return ast.All(span=_span_of(meta))

    def has_tags(self, meta, children):
        return ast.HasTags(children[1], span=_span_of(meta))

    def tag_list(self, meta, tags):
        return tuple(self._tag(t) for t in tags)

    def _tag(self, tok):
        if tok.type == "VAR":
            return ast.Var(tok[1:], span=_span_of(tok))
        return literals.unquote(tok) if tok.type == "STRING" else str(tok)

    def tag_like(self, meta, children):
        return ast.TagLike(literals.unquote(children[1]), span=_span_of(meta))

    def status(self, meta, children):
        (word,) = children
        if word.lower() not in fields.STATUS_WORDS:
            near = closest(word, fields.STATUS_WORDS)
            raise self._error(f"'{word}' is not a status; statuses are "
                              + ", ".join(fields.STATUS_WORDS), _span_of(word),
                              suggestion=quoted_choices(near) if near else None)
        return ast.Status(word.lower(), span=_span_of(meta))

    def _time(self, op, meta, date):
        return ast.TimeRange(op, resolve_value(date, fields.TIME, self.source), span=_span_of(meta))

    def after(self, meta, children):
        return self._time(">=", meta, children[0])

    def before(self, meta, children):
        return self._time("<", meta, children[0])

    def on(self, meta, children):
        return self._time("on", meta, children[0])

    def between(self, meta, children):
        low, high = children
        return ast.And((self._time(">=", meta, low), self._time("<", meta, high)),
                       span=_span_of(meta))

    def output_key(self, meta, children):
        word, glob, path = children
        if str(word).lower() != "output":
            raise self._error(f"'{word}(…)' is not a value; output(\"GLOB\").KEY reads "
                              "a value from an output file", _span_of(word),
                              suggestion="'output(…)'")
        pattern = literals.unquote(glob)
        if not pattern:
            raise self._error("output(…) needs a file name or glob", _span_of(glob))
        segments = tuple(s for s, _ in split_key(str(path))) if path is not None else ()
        return ast.Output(pattern, segments, span=_span_of(meta))

    def outputs_missing(self, meta, children):
        (word,) = children
        if str(word).lower() != "outputs":
            raise self._error(f"'{word} missing' is not a predicate", _span_of(word),
                              suggestion="'outputs missing'")
        return ast.OutputsMissing(span=_span_of(meta))

    def exists(self, meta, children):
        return ast.Exists(self._param(children[0]), span=_span_of(meta))

    def _param(self, tok) -> ast.Param:
        key = read_key(str(tok), _span_of(tok))
        if isinstance(key, ast.Field):
            raise self._error(f"'{tok}' is a record field, not a parameter; "
                              f"write params.{tok} for a parameter of that name", key.span)
        return key

    def match(self, meta, children):
        ref, *keys = children
        return ast.Match(ref, tuple(self._param(k) for k in keys), span=_span_of(meta))

    def compare(self, meta, children):
        key_tok, (op, value) = children
        key = _any_key(key_tok)
        target = _kind(key)
        allowed = fields.OPERATORS.get(target)
        if allowed is not None and op not in allowed:
            raise self._error(f"{key.name} does not take '{op}'; it takes "
                              + ", ".join(allowed), _span_of(meta))
        if op == "matches" and not (isinstance(value, ast.Var) or
                                    isinstance(value, ast.Token) and value.kind == "STRING"):
            raise self._error("'matches' takes a regular expression in quotes", value.span)
        try:
            value = resolve_value(value, target, self.source)
        except QueryError as err:
            raise _misspelt_field(err, key) from None
        if op == "matches" and isinstance(value, ast.Const):
            _check_regex(value, self.source)
        return ast.Compare(key, op, value, span=_span_of(meta))

    def comparison(self, meta, children):
        op, value = children
        return (str(op).lower(), self._value(value))

    def filter_var(self, meta, children):
        return ast.FilterVar(children[0][1:], span=_span_of(meta))

    # -- values
    def date(self, meta, children):
        return self._value(children[0])

    def ago(self, meta, children):
        amount, unit = children
        return ast.Token("AGO", f"{amount} {unit.lower()}", span=_span_of(meta))

    def list(self, meta, items):
        if len(items) == 1 and isinstance(items[0], lark.Token) and items[0].type == "LITERAL_LIST":
            return ast.ListOf(literal_list_items(items[0], self.source), span=_span_of(meta))
        return ast.ListOf(tuple(self._value(i) for i in items if i is not None),
                          span=_span_of(meta))

    def value_entry(self, meta, children):
        return self._value(children[0])

    def _value(self, item):
        if isinstance(item, lark.Token):
            if item.type == "VAR":
                return ast.Var(item[1:], span=_span_of(item))
            kind = "NUMBER" if item.type == "INT" else item.type
            return ast.Token(kind, str(item), span=_span_of(item))
        return item



# ------------------------------------------------------------------ long lists

# An item of a LITERAL_LIST token, the blanks and a comma after it.
_LIST_ITEM = re.compile(r"""[ \t\f\r\n]*(?:("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
                        r"|([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))[ \t\f\r\n]*,?")
# The terminals a number-like item may be, in the order Lark's lexer tries
# them (by priority): the first that matches is the token it would make.
_NUMBER_LIKE = ("LABEL", "DATE", "DURATION")


@functools.lru_cache(maxsize=None)
def _number_kinds() -> tuple:
    terminals = {t.name: t for t in lark_parser().terminals}
    return tuple((name, re.compile(terminals[name].pattern.to_regexp()))
                 for name in _NUMBER_LIKE)


def literal_list_items(token, source: str) -> tuple:
    """The items of a LITERAL_LIST token (`["a", 1.5, 2020]`), as the
    tokens the rule `"[" value ("," value)* "]"` makes of them, kind, text
    and position alike: `2020` a DATE, `1.5` a NUMBER. Linear in the list:
    lines and columns are counted on from one item to the next."""
    start, end = token.start_pos, token.end_pos
    line, line_start = token.line, start - (token.column - 1)  # where the token's line begins
    kinds = _number_kinds()
    items = []
    pos = last = start + 1  # after "["; `last`: the end of the last item
    scan = _LIST_ITEM.match
    while True:
        m = scan(source, pos, end - 1)
        if m is None or m.end() == pos:
            break
        string, number = m.group(1), m.group(2)
        at = m.start(1) if string is not None else m.start(2)
        newlines = source.count("\n", last, at)
        if newlines:
            line += newlines
            line_start = source.rindex("\n", last, at) + 1
        if string is not None:
            kind, text = "STRING", string
        else:
            text = number
            kind = next((name for name, pattern in kinds
                         if (hit := pattern.match(source, at)) and hit.end() == at + len(text)),
                        "NUMBER")
        column = at - line_start + 1
        items.append(ast.Token(kind, text, span=ast.Span(line, column, line, column + len(text),
                                                         at, at + len(text))))
        pos, last = m.end(), at + len(text)
    return tuple(items)


# The largest count (`limit N`, `latest N`, `depth N`): SQL drivers bind
# nothing past 2^63 - 1, and 2^62 leaves the store room to ask for `n + 1`
# rows, to see ties. A larger count is a program error naming this limit
# (issues 15 and 16), not a silent "all".
MAX_COUNT = 2 ** 62


def count_problem(n: int) -> str | None:
    """Why `n` is no count smtql takes, or None."""
    if n > MAX_COUNT:
        return f"count too large: the largest count allowed is {MAX_COUNT} (2^62)"
    return None


def _group_depth(pattern: str) -> int:
    """How deep the groups of a regular expression nest (escapes and
    character classes skipped)."""
    depth = deepest = 0
    escaped = in_class = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(0, depth - 1)
    return deepest


def _any_key(tok):
    """A key token read as field or parameter; a key already built (a call,
    `tag`, an `output(…)` value) as it is."""
    return read_key(str(tok), _span_of(tok)) if isinstance(tok, lark.Token) else tok


def _misspelt_field(err: QueryError, key) -> QueryError:
    """A value the key cannot take, where the key is a parameter spelt like
    a record field (`durationn > 1h`): name the key the person meant."""
    if isinstance(key, ast.Param) and len(key.path) == 1 and isinstance(key.path[0], str):
        near = closest(key.path[0], fields.FIELDS)
        if near and err.suggestion is None:
            err.message += f" ('{key.path[0]}' is a parameter, not a record field)"
            err.suggestion = f"{quoted_choices(near)} instead of '{key.path[0]}'"
    return err


def _check_regex(value: ast.Const, source: str):
    problem = regex_problem(value.value)
    if problem:
        raise _at(QueryError(problem), source, value.span)


def regex_problem(pattern) -> str | None:
    """Why Python cannot compile `pattern` (None if it can): its own syntax
    errors, and the limits it hits (a repetition count past 2^32 is an
    OverflowError, deeply nested groups exhaust its recursive parser)."""
    try:
        if isinstance(pattern, str) and _group_depth(pattern) > MAX_DEPTH:
            # Python's parser recurses per group: past a few hundred it fails
            # or not depending on the caller's stack, so the bound is ours
            raise RecursionError
        literals.regex(pattern)
    except re.error as err:
        reason = str(err)
    except OverflowError as err:
        reason = str(err)
    except RecursionError:
        reason = f"it nests groups more than {MAX_DEPTH} deep"
    except TypeError:  # a `$var` set from Python to a number, say
        reason = "a regular expression is text"
    else:
        return None
    shown = pattern if not isinstance(pattern, str) or len(pattern) <= 60 else pattern[:57] + "..."
    return f"bad regular expression {shown!r}: {reason}"


# ------------------------------------------------------------------ syntax errors

# What each token is, in words.
_TOKEN_WORDS = {
    "KEY": "a field or parameter key", "WORD": "a tag", "REF_WORD": "a record label",
    "LABEL": "a record label", "STRING": "a quoted string", "DATE": "a date",
    "NUMBER": "a number", "INT": "a whole number", "DURATION": "a duration",
    "VAR": "a $variable", "NAME": "a name",
    "OP": "a comparison (=, !=, <, <=, >, >=, ~=)",
    "TEXT_OP": "'contains', 'startswith' or 'endswith'", "TIME_UNIT": "hours, days or weeks",
    "NULL": "'null'", "_SEMI": "';'", "$END": "the end of the program",
    "_AND": "'and'", "_OR": "'or'", "_NOT": "'not'",
}

def keyword_of(terminal) -> str | None:
    """The word a keyword terminal stands for (`"find"i` → find), or None."""
    pattern = terminal.pattern
    if pattern.type == "str" and pattern.value.isalpha():
        return pattern.value.lower()
    if pattern.type == "re" and pattern.value.startswith("(?i:") and pattern.value[4:-1].isalpha():
        return pattern.value[4:-1].lower()
    return None


def _first_words(origins) -> tuple[str, ...]:
    """The keywords the grammar's rules of these names begin with."""
    terminals = {t.name: t for t in lark_parser().terminals}
    words = []
    for rule in lark_parser().rules:
        if rule.origin.name in origins and rule.expansion and rule.expansion[0].is_term:
            word = keyword_of(terminals[rule.expansion[0].name])
            if word:
                words.append(word)
    return tuple(dict.fromkeys(words))


@functools.lru_cache(maxsize=None)
def statement_words() -> tuple[str, ...]:
    """The words a statement begins with (find, count, …, tag, untag), read
    from the grammar's `statement` rule."""
    alternatives = {r.expansion[0].name for r in lark_parser().rules
                    if r.origin.name == "statement" and r.expansion}
    return _first_words(alternatives)


@functools.lru_cache(maxsize=None)
def predicate_words() -> tuple[str, ...]:
    """The words a predicate begins with (tag, status, after, …), and `not`."""
    return _first_words({"predicate"}) + ("not",)


@functools.lru_cache(maxsize=None)
def keywords() -> tuple[str, ...]:
    """Every keyword of the grammar."""
    return tuple(sorted({w for t in lark_parser().terminals if (w := keyword_of(t))}))


def _terminal_words(names) -> tuple[str, ...]:
    terminals = {t.name: t for t in lark_parser().terminals}
    words = []
    for name in sorted(names, key=_expected_order):
        if name in _TOKEN_WORDS:
            words.append(_TOKEN_WORDS[name])
        elif name in terminals and terminals[name].pattern.type == "str":
            words.append(f"'{terminals[name].pattern.value}'")
        else:
            words.append(name.lower())
    return tuple(dict.fromkeys(words))


def _expected_order(name: str):
    # keys and values first, keywords after, punctuation and the end last
    rank = 0 if name in _TOKEN_WORDS and name not in ("_SEMI", "$END") else 1
    if not name.isalpha() and name not in _TOKEN_WORDS:
        rank = 2
    if name in ("_SEMI", "$END"):
        rank = 3
    return (rank, name)


def _keyword_names(expected) -> list[str]:
    terminals = {t.name: t for t in lark_parser().terminals}
    out = []
    for name in expected:
        t = terminals.get(name)
        if t is not None and t.pattern.type == "str" and t.pattern.value.isalpha():
            out.append(t.pattern.value.lower())
        elif name in ("_AND", "_OR", "_NOT"):
            out.append(name[1:].lower())
    return out


def _acceptable(err) -> set:
    """The tokens that can really come next. LALR merges states, so the
    lookahead set Lark reports can name tokens from elsewhere (a `diff`
    option after a `find`); trying each on a copy of the parser weeds them
    out."""
    parser = getattr(err, "interactive_parser", None)
    if parser is not None:
        try:
            return set(parser.accepts())
        except Exception:  # a parser state Lark cannot replay: fall back
            pass
    return set(getattr(err, "expected", None) or ())


def _words_fitting_at(source: str, pos: int) -> tuple[str, ...]:
    """The keywords (and, where a key may stand, the record fields) the
    grammar accepts at `pos`: a misspelt word is compared with what could
    have stood there (`tag x where latest 1` must not suggest `let`; `tag
    finished andd after …` suggests `and`)."""
    try:
        interactive = lark_parser().parse_interactive(source[:pos], start="program")
        interactive.exhaust_lexer()
        accepted = set(interactive.accepts())
    except Exception:  # the text before does not lex or parse: no position to fit
        return predicate_words() + statement_words() + tuple(fields.FIELDS)
    words = tuple(_keyword_names(accepted))
    return words + (tuple(fields.FIELDS) if "KEY" in accepted else ())


def _refs_fields(refs) -> dict:
    """A REFS (`refs` or `refs_where`) as the fields of its statement."""
    if isinstance(refs, tuple):
        return {"refs": refs}
    where, select = refs
    return {"where": where, "select": select}


def _describe_token(tok) -> str:
    if tok.type == "$END":
        return "the end of the program"
    word = _TOKEN_WORDS.get(tok.type)
    if word and not word.startswith("'") and tok.type not in ("OP", "_SEMI", "TEXT_OP"):
        return f"'{tok}' ({word})"
    return f"'{tok}'"


def _glued_error(token, source: str, filename: str | None) -> QuerySyntaxError:
    start = token.start_pos
    word = re.match(r"\w*", source[start:]).group(0)
    keyword, rest = str(token), word[len(token):]
    near = [n for n in closest(word, _words_fitting_at(source, start))
            if n.lower() != word.lower()]
    if near and not rest.isdigit():
        suggestion = f"{quoted_choices(near)} instead of '{word}'"
    else:
        suggestion = f"'{keyword} {rest}' (a space after '{keyword}')"
    error = QuerySyntaxError(f"unexpected '{word}': a keyword ends where its word does",
                             suggestion=suggestion)
    return error.at(source, start, start + len(word), filename=filename)


def _syntax_error(err: UnexpectedInput, source: str, filename: str | None) -> QuerySyntaxError:
    if isinstance(err, UnexpectedCharacters):
        expected = err.allowed or set()
        char = source[err.pos_in_stream] if err.pos_in_stream < len(source) else ""
        message = f"unexpected character '{char}'"
        if char in "\"'":
            message = f"a string that never ends: no closing {char} on this line"
            expected = set()
        start, end = err.pos_in_stream, err.pos_in_stream + 1
        previous = None
        history = getattr(err, "token_history", None) or []
        expected = _after_key(expected, history[-1] if history else None)
    else:  # UnexpectedToken, or UnexpectedEOF
        tok = err.token
        expected = _acceptable(err)
        if tok.type == "$END":
            message = "the program ends too early"
            start = end = len(source.rstrip())
        else:
            message = f"unexpected {_describe_token(tok)}"
            start, end = tok.start_pos, tok.end_pos
        history = getattr(err, "token_history", None) or []
        previous = history[-1] if history else None
        expected = _after_key(expected, previous)
    # a LITERAL_LIST is expected where '[' is: one way of reading a list
    expected = {e for e in expected if not e.startswith("__") and e != "LITERAL_LIST"}
    error = QuerySyntaxError(message, expected=_trim(_terminal_words(expected)),
                             suggestion=_suggest(err, expected, previous, source))
    if start is not None and start >= len(source) and source:
        start = end = len(source)
    return error.at(source, start, end, filename=filename)


# What may follow a key only when the key is `output` (`output("GLOB")`) or
# `outputs` (`outputs missing`): not worth offering after any other key.
_AFTER_OUTPUT = {"output": "LPAR", "outputs": "MISSING"}


def _after_key(expected: set, previous) -> set:
    if previous is None or previous.type != "KEY":
        return expected
    keep = _AFTER_OUTPUT.get(str(previous).lower())
    return {e for e in expected if e not in _AFTER_OUTPUT.values() or e == keep}


def _trim(words: tuple[str, ...], most: int = 14) -> tuple[str, ...]:
    return words if len(words) <= most else words[:most] + ("…",)


def _suggest(err, expected, previous, source) -> str | None:
    """"Did you mean": the offending word against the keywords expected
    there, and the word before it against the predicate and statement words
    (`aftr 2020-09-12` fails at the date, one token late)."""
    tok = getattr(err, "token", None)
    candidates = _keyword_names(expected)
    if tok is not None and tok.type not in ("$END",) and str(tok).isidentifier():
        near = closest(str(tok), candidates)
        if near:
            return quoted_choices(near)
    if (tok is not None and str(tok) == "=" and previous is not None and str(previous) == "="
            and previous.end_pos == tok.start_pos):
        return "'=' instead of '==' (smtql compares with a single =)"
    if previous is not None and previous.type in ("KEY", "WORD", "NAME", "REF_WORD"):
        # Lark's keywords have no word boundary: `andd` lexes as `and` `d`,
        # so the word as written starts where its run of letters does.
        start = previous.start_pos
        while start > 0 and (source[start - 1].isalnum() or source[start - 1] == "_"):
            start -= 1
        word = source[start:previous.end_pos]
        near = closest(word, _words_fitting_at(source, start))
        near = [n for n in near if n.lower() != word.lower()]
        if near:
            return f"{quoted_choices(near)} instead of '{word}'"
    if isinstance(err, UnexpectedCharacters):
        word = re.match(r"[\w]*", source[err.pos_in_stream:]).group(0)
        near = closest(word, candidates) if word else []
        if near:
            return quoted_choices(near)
    if (tok is not None and str(tok) in ("=", "!=", "<", "<=", ">", ">=", "~=")
            and previous is not None
            and str(previous).isidentifier() and previous.type not in ("KEY", "NAME")):
        # `count = 3`: a parameter named like a keyword needs `params.`
        return f"params.{previous} (a parameter named '{previous}')"
    return None
