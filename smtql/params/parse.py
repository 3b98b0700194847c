"""Read stored Sumatra parameter sets without evaluating them.

Sumatra's Django store keeps each parameter set as a row ``(type, content)``:
``type`` is the class name and ``content`` is ``str(parameter_set)``.  Sumatra
reads it back with ``getattr(sumatra.parameters, type)(content)``
(``ParameterSet.to_sumatra`` in ``sumatra/recordstore/django_store/models.py``),
and for ``NTParameterSet`` and ``SimpleParameterSet`` that ends in ``eval()``
of the stored text.  A shared store must not be able to run code on the
machine of whoever queries it (DESIGN.md, principle 4), so this module reads
the same values with literal-only parsers:

NTParameterSet (``parameters.ParameterSet``)
    ``ast.parse(mode="eval")`` and a walk over literal nodes only: constants,
    dict/list/tuple/set displays, unary ``+``/``-`` on numbers, ``a+bj``
    complex literals, ``set()``, and the names the ``parameters`` package puts
    in its eval namespace that stand for plain values (``true``, ``false``,
    ``pi``), plus ``inf`` and ``nan``, which ``repr`` writes for infinite and
    NaN floats (Sumatra itself cannot read those back: ``NameError``).  The
    package's own semantics are mirrored: a falsy literal reads as ``{}``, the
    top level must be a dict, keys of dicts on the dict path must be strings
    other than ``parameters``/``names``, and a key ``"a.b"`` assigns into the
    already-present nested set ``a`` (a missing parent is an error, as in
    Sumatra).  Nested sets are returned as plain dicts (``as_dict()``); dicts
    inside lists are left as they are; tuples stay tuples, sets sets.
    Where Sumatra's reader trips over its own URL/file probing (``'{}'``, a
    ``/`` before the first ``:``, ``file://`` anywhere) the literal is read.
    The text ``repr`` writes for plain data is read first by a linear
    tokenizer (``literal.py``), which gives the same values, or leaves the
    text to ``ast`` (50 MB: seconds, not half a minute and gigabytes).
SimpleParameterSet
    Sumatra's own line format (``name = value``), each value read like its
    ``eval``; a value that would raise ``NameError`` (an unquoted word such as
    ``fast``, or ``inf``) becomes the raw text after ``=``, leading blank
    included, as Sumatra does.  Names that *are* defined where Sumatra
    evaluates (builtins, ``sumatra.parameters`` globals, the parser's locals)
    are refused.
YAMLParameterSet
    ``yaml.safe_load`` semantics (what Sumatra uses: YAML 1.1, ``yes`` is
    true, dates are ``datetime.date``), through libyaml's ``CSafeLoader`` where
    it is known to agree with the pure-Python ``SafeLoader`` Sumatra uses,
    else through that.  ``!!python/tuple`` (written by ``yaml.dump`` for
    tuples, which Sumatra then cannot read back) is read as a tuple; every
    other ``python/`` tag is refused, and so are recursive anchors and
    aliases expanding to more than a million values.
JSONParameterSet
    ``json.loads``.
ConfigParserParameterSet
    ``configparser`` with Sumatra's defaults: ``{section: {option: str}}``,
    DEFAULT options merged into every section, ``%(name)s`` interpolation
    expanded (with memoisation and a size cap, so an interpolation bomb
    cannot hang).
anything else
    Sumatra's fallbacks: ``'None'`` -> ``None``, ``'{}'`` -> ``{}``, other
    content -> the raw string.

Anything that cannot be read this way raises :class:`UnreadableParameters`.
Nothing here evaluates code, opens files or URLs named by the content, or
imports ``sumatra`` (whose ``parameters`` module pulls in SciPy).
"""

from __future__ import annotations

import ast
import builtins
import gc
import math
import re
import types
import warnings

from .literal import FALLBACK, read_literal

__all__ = ["UnreadableParameters", "parse_parameter_content"]


class UnreadableParameters(ValueError):
    """A stored parameter set that smtql cannot (or will not) read."""


# --------------------------------------------------------------------------
# dispatch

def parse_parameter_content(type_name: str, content: str, max_depth: int | None = None):
    """The value Sumatra itself would read from a stored parameter set, as plain Python data:
    dict (nested dicts), list, tuple, str, int, float, bool, None, datetime.date/datetime (YAML). Never evaluates code.
    With `max_depth`, a set whose containers nest deeper is unreadable."""
    if not isinstance(content, str):
        raise UnreadableParameters(
            "parameter content is %s, not text" % type(content).__name__)
    reader = _READERS.get(type_name)
    if reader is not None:
        return reader(content, max_depth)
    if type_name in _OTHER_SUMATRA_PARAMETERS_ATTRS or (
            isinstance(type_name, str) and hasattr(_A_MODULE, type_name)):
        # `hasattr(sumatra.parameters, type)` holds, so Sumatra would call
        # that attribute with the content: never a parameter set.
        raise UnreadableParameters(
            "type %r is not a parameter set class" % (type_name,))
    if content == "None":
        return None
    if content == "{}":
        return {}
    return content


# Module-level names of sumatra.parameters (sumatra 0.8.1) other than the five
# parameter set classes.  Hard-coded because importing sumatra.parameters
# imports SciPy (0.7 s); tests check this against the real module.
_OTHER_SUMATRA_PARAMETERS_ATTRS = frozenset([
    "ConfigParser", "MissingSectionHeaderError", "NoOptionError", "POP_NONE",
    "ParameterSet", "Path", "StringIO", "__builtins__", "__cached__",
    "__doc__", "__file__", "__loader__", "__name__", "__package__",
    "__spec__", "_dict_diff", "abc", "build_parameters", "component",
    "component_type", "conditional_component", "filterfalse",
    "get_registered_components", "json", "os", "parameters", "re", "shutil",
    "yaml", "yaml_loaded",
])
_A_MODULE = types.ModuleType("sumatra.parameters")


# --------------------------------------------------------------------------
# Python literals (NTParameterSet, SimpleParameterSet)

class _Undefined(Exception):
    """A name that eval would not find: Sumatra's eval raises NameError."""


_OPERATOR_SYMBOLS = {
    "Add": "+", "Sub": "-", "Mult": "*", "MatMult": "@", "Div": "/",
    "Mod": "%", "Pow": "**", "LShift": "<<", "RShift": ">>", "BitOr": "|",
    "BitXor": "^", "BitAnd": "&", "FloorDiv": "//", "Not": "not",
    "Invert": "~", "UAdd": "+", "USub": "-",
}
_NODE_WORDS = {
    "Lambda": "lambda", "ListComp": "list comprehension",
    "SetComp": "set comprehension", "DictComp": "dict comprehension",
    "GeneratorExp": "generator expression", "JoinedStr": "f-string",
    "FormattedValue": "f-string", "IfExp": "conditional expression",
    "Subscript": "subscript", "Starred": "* unpacking", "Compare":
    "comparison", "BoolOp": "boolean operator", "NamedExpr":
    "assignment expression", "Await": "await", "Yield": "yield",
    "YieldFrom": "yield", "Slice": "slice",
}


def _not_literal(node, what=None):
    if what is None:
        kind = type(node).__name__
        if kind == "Call":
            try:
                func = ast.unparse(node.func)
            except Exception:  # pragma: no cover - unparse is total on parsed trees
                func = "a function"
            if type(node.func) not in (ast.Name, ast.Attribute):
                func = "(%s)" % func
            if len(func) > 40:
                func = func[:37] + "..."
            what = "call to " + func
        elif kind == "Attribute":
            what = "attribute access ." + node.attr
        elif kind in ("BinOp", "UnaryOp"):
            what = "operator " + _OPERATOR_SYMBOLS.get(
                type(node.op).__name__, type(node.op).__name__)
        elif kind == "Name":
            what = "name %r" % node.id
        else:
            what = _NODE_WORDS.get(kind, kind)
    line = getattr(node, "lineno", None)
    where = " at line %d" % line if line is not None else ""
    return UnreadableParameters("not a literal: %s%s" % (what, where))


_Constant, _Dict, _List, _Tuple, _Set = ast.Constant, ast.Dict, ast.List, ast.Tuple, ast.Set
_UnaryOp, _USub, _UAdd, _Name, _Call, _BinOp = (
    ast.UnaryOp, ast.USub, ast.UAdd, ast.Name, ast.Call, ast.BinOp)

# Names with a plain value in the namespace parameters.ParameterSet.read_from_str
# evaluates in (true/false/pi), and inf/nan, which repr() writes for floats.
_NT_NAMES = {"true": True, "false": False, "pi": math.pi,
             "inf": math.inf, "nan": math.nan}

# Names eval finds inside SimpleParameterSet._parse_parameter_from_line:
# builtins, sumatra.parameters' globals and the method's bound locals.
_SIMPLE_DEFINED_NAMES = frozenset(dir(builtins)) | frozenset(
    ["ConfigParserParameterSet", "JSONParameterSet", "NTParameterSet",
     "SimpleParameterSet", "YAMLParameterSet", "self", "line", "parts",
     "name", "value"]) | _OTHER_SUMATRA_PARAMETERS_ATTRS


def _number(value, node):
    if type(value) in (int, float, complex, bool):
        return value
    raise _not_literal(node, "operator on a non-number")


def _lit(node, names, simple):
    """Value of a literal expression node, in eval's order of evaluation.

    `names`: value of the names allowed.  `simple`: SimpleParameterSet mode,
    where an undefined name raises _Undefined (Sumatra's NameError) and a
    defined one is refused."""
    t = type(node)
    if t is _Constant:
        value = node.value
        if value is Ellipsis:
            raise _not_literal(node, "Ellipsis")
        return value
    if t is _Dict:
        keys = []
        values = []
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise _not_literal(v, "** unpacking")
            keys.append(_lit(k, names, simple))
            values.append(_lit(v, names, simple))
        result = {}
        try:
            for k, v in zip(keys, values):
                result[k] = v
        except TypeError:
            raise _not_literal(node, "unhashable dict key") from None
        return result
    if t is _List:
        return [_lit(e, names, simple) for e in node.elts]
    if t is _Tuple:
        return tuple([_lit(e, names, simple) for e in node.elts])
    if t is _UnaryOp:
        ops = []
        while type(node) is _UnaryOp:  # iterative: `- - - … 1` may be long
            op = type(node.op)
            if op is not _USub and op is not _UAdd:
                if simple:
                    _raise_if_name_error_first(node)
                raise _not_literal(node)
            ops.append((op, node))
            node = node.operand
        value = _lit(node, names, simple)
        for op, opnode in reversed(ops):
            value = _number(value, opnode)
            value = -value if op is _USub else +value
        return value
    if t is _Name:
        ident = node.id
        if ident in names:
            return names[ident]
        if simple and ident not in _SIMPLE_DEFINED_NAMES:
            raise _Undefined(ident)
        raise _not_literal(node)
    if t is _Set:
        elements = [_lit(e, names, simple) for e in node.elts]
        try:
            return set(elements)
        except TypeError:
            raise _not_literal(node, "unhashable set element") from None
    if t is _Call:
        # `set()`, which repr() writes for an empty set (`set` is the builtin
        # in both of Sumatra's eval namespaces).
        func = node.func
        if (type(func) is _Name and func.id == "set" and not node.args
                and not node.keywords):
            return set()
    elif t is _BinOp:
        # a+bj / a-bj: how repr() writes a complex number
        op = type(node.op)
        right = node.right
        if ((op is ast.Add or op is ast.Sub) and type(right) is _Constant
                and type(right.value) is complex):
            left = _lit(node.left, names, simple)
            if type(left) in (int, float):
                return left + right.value if op is ast.Add else left - right.value
    if simple:
        _raise_if_name_error_first(node)
    raise _not_literal(node)


# What eval evaluates first in these nodes (Python's evaluation order).
_FIRST_EVALUATED = {
    ast.Call: lambda n: n.func, ast.Attribute: lambda n: n.value,
    ast.BinOp: lambda n: n.left, ast.Subscript: lambda n: n.value,
    ast.Compare: lambda n: n.left, ast.BoolOp: lambda n: n.values[0],
    ast.IfExp: lambda n: n.test, ast.UnaryOp: lambda n: n.operand,
}


def _raise_if_name_error_first(node):
    """SimpleParameterSet: if eval of this non-literal `node` would start by
    looking up an undefined name, it raises NameError before doing anything
    else, and Sumatra keeps the raw text: raise _Undefined."""
    first = _FIRST_EVALUATED.get(type(node))
    while first is not None:
        node = first(node)
        first = _FIRST_EVALUATED.get(type(node))
    if type(node) is _Name and node.id not in _SIMPLE_DEFINED_NAMES:
        raise _Undefined(node.id)


def _parse_expression(text, what):
    """ast of `text` as eval would compile it (eval strips leading blanks)."""
    src = text.lstrip(" \t")
    try:
        if "\\" not in src:
            try:
                return ast.parse(src, mode="eval").body
            except SyntaxError:
                pass  # maybe a warning (`1if`) made an error by -W error: retry
        # invalid escapes warn (DeprecationWarning, SyntaxWarning on 3.12+),
        # which the warning filters may print or turn into SyntaxError
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(src, mode="eval").body
    except SyntaxError as e:
        msg = e.msg if isinstance(e.msg, str) else str(e)
        if e.lineno:
            msg += " at line %d" % e.lineno
        raise UnreadableParameters("%s: syntax error: %s" % (what, msg)) from None
    except (ValueError, MemoryError, RecursionError, OverflowError) as e:
        # null bytes; parser stack overflow on absurdly nested input
        raise UnreadableParameters(
            "%s: cannot be parsed (%s)" % (what, type(e).__name__)) from None


def _read_nt(content, max_depth=None):
    # the text repr writes for plain data, read in one linear pass (which
    # refuses values deeper than max_depth: no walk to check them); anything
    # else (and every error) the exact way, through ast
    value = _read_repr(content.lstrip(" \t"), max_depth)
    walk = value is FALLBACK
    if walk:
        tree = _parse_expression(content, "NTParameterSet")
        try:
            value = _lit(tree, _NT_NAMES, False)
        except RecursionError:
            raise UnreadableParameters("NTParameterSet: too deeply nested") from None
    # parameters.ParameterSet.read_from_str returns `D or {}`
    if not value:
        return {}
    if type(value) is not dict:
        raise UnreadableParameters(
            "NTParameterSet: top level is a %s, not a dict" % type(value).__name__)
    try:
        moved = _nt_set(value)
    except RecursionError:
        raise UnreadableParameters("NTParameterSet: too deeply nested") from None
    # a dotted key moves its value deeper (`'a.b': …` into the set `a`)
    return _within(value, max_depth) if walk or moved else value


def _read_repr(src, max_depth):
    """read_literal, with the cyclic garbage collector paused: a large set
    is millions of new containers, each of which would otherwise count
    towards a collection that finds nothing to free (a third of the time)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return read_literal(src) if max_depth is None else read_literal(src, max_depth)
    finally:
        if paused:
            gc.enable()


_NT_INVALID_NAMES = ("parameters", "names")  # parameters.ParameterSet.invalid_names


def _nt_set(d) -> bool:
    """Turn the literal dict `d`, in place, into what parameters.ParameterSet(d)
    holds (as_dict()): nested dict values become sets themselves, and dotted
    keys assign into the nested set named by their first segment. Whether
    a dotted key was found (and its value moved)."""
    dotted = moved = False
    for k, v in d.items():
        if type(k) is not str:
            raise UnreadableParameters(
                "NTParameterSet: key %r is not a string" % (k,))
        if k in _NT_INVALID_NAMES:
            raise UnreadableParameters(
                "NTParameterSet: %r is not allowed as a parameter name" % k)
        if type(v) is dict:
            moved |= _nt_set(v)
        if "." in k:
            dotted = True
    if dotted:
        items = list(d.items())
        d.clear()
        for k, v in items:
            _nt_assign(d, k, v)
    return moved or dotted


def _nt_assign(ps, name, value):
    # parameters.ParameterSet.__setitem__
    while True:
        head, dot, rest = name.partition(".")
        if not dot:
            ps[name] = value
            return
        try:
            parent = ps[head]
        except KeyError:
            raise UnreadableParameters(
                "NTParameterSet: key %r needs a parameter set %r before it"
                % (name, head)) from None
        if type(parent) is not dict:
            raise UnreadableParameters(
                "NTParameterSet: key %r assigns into a %s"
                % (name, type(parent).__name__))
        ps, name = parent, rest


def _read_simple(content):
    # SimpleParameterSet.__init__ / _parse_parameter_from_line
    result = {}
    for lineno, line in enumerate(content.split("\n"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pos = line.find("=")
        if pos < 0:
            raise UnreadableParameters(
                "SimpleParameterSet: not a 'name = value' line: %r" % line[:60])
        name = line[:pos].strip()
        value = line[pos + 1:]
        where = "SimpleParameterSet, line %d (%s)" % (lineno, name)
        tree = _parse_expression(value, where)
        try:
            parsed = _lit(tree, {}, True)
        except UnreadableParameters as e:
            raise UnreadableParameters("%s: %s" % (where, e)) from None
        except _Undefined:
            parsed = value  # Sumatra: `except NameError: value = str(value)`
        except RecursionError:
            raise UnreadableParameters("%s: too deeply nested" % where) from None
        else:
            stripped = value.strip()
            if stripped[:1] in ("'", '"') and stripped[-1:] == stripped[:1]:
                parsed = str(parsed)
        if parsed is not None and not isinstance(
                parsed, (int, float, str, bool, list, tuple)):
            raise UnreadableParameters(
                "%s: a %s is not a simple parameter value"
                % (where, type(parsed).__name__))
        result[name] = parsed
    return result


# --------------------------------------------------------------------------
# JSON

def _read_json(content):
    # JSONParameterSet.__init__: any JSON value, '' -> {}
    if not content:
        return {}
    import json
    try:
        return json.loads(content)
    except (ValueError, RecursionError, MemoryError) as e:
        raise UnreadableParameters(
            "JSONParameterSet: %s" % (str(e)[:200] or type(e).__name__)) from None


# --------------------------------------------------------------------------
# YAML

_yaml_loaders = None
# libyaml is ~10x faster than the pure-Python parser Sumatra uses
# (yaml.safe_load), and builds the same values with the same constructor and
# resolver; it is used only where it is known to agree:
# - differential fuzzing found it reading these differently: tabs as
#   separators (`a:\t1`, refused by PyYAML), a byte order mark inside the
#   text, the non-specific tag `!` (`? !`: {'': None} vs PyYAML's
#   {None: None}), `?` inside flow plain scalars (`{a? }`); text with any of
#   these characters goes to the Python parser;
# - it recurses on the C stack without a limit (segfault at a nesting depth
#   of about 10^5 with an 8 MB stack, 4000 with 1 MB); every nesting level
#   needs one of these characters, so their count bounds the depth.
# Whatever libyaml refuses, the Python parser decides.
_YAML_PY_ONLY = re.compile("[\t\ufeff!?]")
_YAML_NESTING_CHARS = "[{-?:"
_YAML_C_MAX_NESTING = 1000
_YAML_MAX_EXPANDED = 1_000_000  # alias expansion / billion laughs guard


class _LinearSimpleKeys:
    """PyYAML's scanner, minus a cost quadratic in the nesting depth.

    The scanner keeps one possible simple key per flow level and, before every
    token, walks all of them twice (to drop stale ones, to find the nearest);
    `a: [[[[...` then costs seconds before the composer's RecursionError.  The
    keys are saved in the order of their position, so the stale ones (on an
    earlier line, or more than 1024 characters back) are a prefix of the dict
    and the nearest is its first: the same answers, errors included, read from
    the front."""

    def next_possible_simple_key(self):
        for key in self.possible_simple_keys.values():
            return key.token_number
        return None

    def stale_possible_simple_keys(self):
        keys = self.possible_simple_keys
        while keys:
            level, key = next(iter(keys.items()))
            if key.line == self.line and self.index - key.index <= 1024:
                return
            if key.required:
                from yaml.scanner import ScannerError
                raise ScannerError("while scanning a simple key", key.mark,
                                   "could not find expected ':'", self.get_mark())
            del keys[level]


def _get_yaml_loaders():
    global _yaml_loaders
    if _yaml_loaders is None:
        import yaml

        def construct_tuple(loader, node):
            return tuple(loader.construct_sequence(node))

        class PySafe(_LinearSimpleKeys, yaml.SafeLoader):
            pass
        PySafe.add_constructor("tag:yaml.org,2002:python/tuple", construct_tuple)
        c_safe = None
        if getattr(yaml, "__with_libyaml__", False) and hasattr(yaml, "CSafeLoader"):
            class CSafe(yaml.CSafeLoader):
                pass
            CSafe.add_constructor("tag:yaml.org,2002:python/tuple", construct_tuple)
            c_safe = CSafe
        _yaml_loaders = (yaml, c_safe, PySafe)
    return _yaml_loaders


def _read_yaml(content):
    # YAMLParameterSet.__init__: '' -> {}; yaml.safe_load; must be a dict
    if not content:
        return {}
    yaml, c_loader, py_loader = _get_yaml_loaders()
    value = None
    done = False
    if (c_loader is not None and not _YAML_PY_ONLY.search(content)
            and sum(map(content.count, _YAML_NESTING_CHARS)) <= _YAML_C_MAX_NESTING):
        try:
            value = yaml.load(content, Loader=c_loader)
            done = True
        except Exception:
            pass  # the pure-Python parser decides, as in Sumatra
    if not done:
        try:
            value = yaml.load(content, Loader=py_loader)
        except yaml.YAMLError as e:
            raise UnreadableParameters("YAMLParameterSet: " + _yaml_error(e)) from None
        except (RecursionError, MemoryError):
            raise UnreadableParameters("YAMLParameterSet: too deeply nested") from None
        except Exception as e:  # e.g. ValueError from a date or a huge integer
            raise UnreadableParameters(
                "YAMLParameterSet: %s: %s" % (type(e).__name__, str(e)[:200])) from None
    if not isinstance(value, dict):
        raise UnreadableParameters(
            "YAMLParameterSet: top level is %s, not a mapping" % type(value).__name__)
    if "&" in content:  # anchors: shared or recursive structures
        _check_expansion(value, "YAMLParameterSet")
    return value


def _yaml_error(e):
    problem = getattr(e, "problem", None)
    if problem:
        mark = getattr(e, "problem_mark", None)
        if mark is not None:
            problem += " at line %d" % (mark.line + 1)
        return problem[:200]
    return " ".join(str(e).split())[:200] or "invalid YAML"


def _check_expansion(root, what):
    """Refuse recursive structures and ones whose expansion is huge."""
    containers = (dict, list, tuple, set, frozenset)
    size = {}
    active = set()
    stack = [(root, False)]
    while stack:
        obj, finished = stack.pop()
        i = id(obj)
        if finished:
            active.discard(i)
            total = 1
            for child in (_children(obj)):
                ci = id(child)
                if ci in size:
                    total += size[ci]
                elif isinstance(child, (str, bytes)):
                    total += 1 + len(child) // 100
                else:
                    total += 1
            if total > _YAML_MAX_EXPANDED:
                raise UnreadableParameters(
                    "%s: aliases expand to more than %d values" % (what, _YAML_MAX_EXPANDED))
            size[i] = total
            continue
        if i in size:
            continue
        if i in active:
            raise UnreadableParameters("%s: recursive structure" % what)
        active.add(i)
        stack.append((obj, True))
        for child in _children(obj):
            if isinstance(child, containers):
                ci = id(child)
                if ci in active:
                    raise UnreadableParameters("%s: recursive structure" % what)
                if ci not in size:
                    stack.append((child, False))


def _children(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield v
    else:
        yield from obj


# --------------------------------------------------------------------------
# ConfigParser

_CONFIG_MAX_DEPTH = 10  # configparser.MAX_INTERPOLATION_DEPTH


def _read_configparser(content):
    # ConfigParserParameterSet: ConfigParser() (BasicInterpolation) read from
    # the text, then as_dict(): {section: dict(self.items(section))}
    import configparser
    from io import StringIO
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_file(StringIO(content))
    except configparser.Error as e:
        raise UnreadableParameters(
            "ConfigParserParameterSet: %s" % " ".join(str(e).split())[:200]) from None
    except Exception as e:  # pragma: no cover - configparser raises its own errors
        raise UnreadableParameters(
            "ConfigParserParameterSet: %s: %s" % (type(e).__name__, str(e)[:200])) from None
    budget = [max(10_000_000, 4 * len(content))]
    result = {}
    for section in parser.sections():
        # DEFAULT merged with the section, in items()' order, not interpolated
        d = dict(parser.items(section, raw=True))
        memo = {}
        values = {}
        for option, raw in d.items():
            values[option] = _interpolate(raw, d, memo, budget, section, option)
        result[section] = values
    return result


def _interpolate(value, mapping, memo, budget, section, option):
    """configparser.BasicInterpolation.before_get, memoised per (name, depth)
    and with a total size budget (the original re-expands every reference,
    so a few lines can make it run for ever)."""
    if "%" not in value:
        return value
    keycre = _KEYCRE

    def expand(rest, depth):
        if depth > _CONFIG_MAX_DEPTH:
            raise UnreadableParameters(
                "ConfigParserParameterSet: [%s] %s: interpolation deeper than %d"
                % (section, option, _CONFIG_MAX_DEPTH))
        accum = []
        while rest:
            p = rest.find("%")
            if p < 0:
                accum.append(rest)
                break
            if p > 0:
                accum.append(rest[:p])
                rest = rest[p:]
            c = rest[1:2]
            if c == "%":
                accum.append("%")
                rest = rest[2:]
            elif c == "(":
                m = keycre.match(rest)
                if m is None:
                    raise UnreadableParameters(
                        "ConfigParserParameterSet: [%s] %s: bad interpolation "
                        "reference %r" % (section, option, rest[:40]))
                var = m.group(1).lower()  # ConfigParser.optionxform
                rest = rest[m.end():]
                try:
                    v = mapping[var]
                except KeyError:
                    raise UnreadableParameters(
                        "ConfigParserParameterSet: [%s] %s: no option %r to "
                        "interpolate" % (section, option, var)) from None
                if "%" in v:
                    key = (var, depth + 1)
                    if key not in memo:
                        try:
                            memo[key] = expand(v, depth + 1)
                        except UnreadableParameters as e:
                            memo[key] = e
                    got = memo[key]
                    if isinstance(got, UnreadableParameters):
                        raise got
                    accum.append(got)
                else:
                    accum.append(v)
            else:
                raise UnreadableParameters(
                    "ConfigParserParameterSet: [%s] %s: '%%' must be followed "
                    "by '%%' or '('" % (section, option))
        out = "".join(accum)
        budget[0] -= len(out)
        if budget[0] < 0:
            raise UnreadableParameters(
                "ConfigParserParameterSet: interpolation expands too far")
        return out

    return expand(value, 1)


_KEYCRE = re.compile(r"%\(([^)]+)\)s")  # BasicInterpolation._KEYCRE


# --------------------------------------------------------------------------
# Depth

_CONTAINERS = (dict, list, tuple, set, frozenset)


def deeper_than(value, limit: int) -> bool:
    """Whether containers nest in `value` more than `limit` deep (without
    recursion: the value may be nested deeper than Python's stack). Level
    by level, and only containers are kept for the next one: a large set
    is mostly leaves, which are looked at once."""
    level = [value] if isinstance(value, _CONTAINERS) else []
    for _ in range(limit):
        if not level:
            return False
        below: list = []
        for node in level:
            children = node.values() if isinstance(node, dict) else node
            below += [c for c in children if isinstance(c, _CONTAINERS)]
        level = below
    return bool(level)


def _within(value, max_depth):
    """`value`, or UnreadableParameters when it nests deeper than max_depth."""
    if max_depth is not None and deeper_than(value, max_depth):
        raise UnreadableParameters(f"nested more than {max_depth} levels deep")
    return value


def _walked(read):
    """A reader whose values are walked to check their depth."""
    def read_within(content, max_depth):
        return _within(read(content), max_depth)
    return read_within


_READERS = {
    "NTParameterSet": _read_nt,  # checks depth while reading
    "SimpleParameterSet": _walked(_read_simple),
    "YAMLParameterSet": _walked(_read_yaml),
    "JSONParameterSet": _walked(_read_json),
    "ConfigParserParameterSet": _walked(_read_configparser),
}
