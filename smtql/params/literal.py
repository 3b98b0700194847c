"""A linear reader of the Python literals `repr` writes, for large parameter sets.

`parse.py` reads an NTParameterSet with ``ast.parse`` and a walk over literal
nodes: exact, but ``ast.parse`` builds a node object for every token, so a
50 MB set took half a minute and gigabytes. This reader covers the text
``repr`` writes for plain data — dicts, lists, tuples, quoted strings with
the escapes ``repr`` uses, decimal ints and floats, ``True``/``False``/
``None`` and the NTParameterSet names (``true``, ``false``, ``pi``, ``inf``,
``nan``, a ``-`` before a number) — with one compiled regular expression and
a stack, building the values as it goes.

It never guesses: whatever lies outside that subset (comments, sets, string
prefixes or concatenation, line continuations, other escapes, underscores in
numbers, complex numbers, operators, unhashable keys, deep nesting, odd
whitespace) makes it answer `FALLBACK`, and the caller reads the text the
exact way. So where it answers, it answers what ``ast.parse`` and the
literal walk would (tests/params/test_literal.py checks this against
``ast.literal_eval`` on generated literals). It never evaluates anything.

Most text gets there faster, as JSON (`_read_as_json`): with its quotes
swapped, most of what repr writes already is JSON with the same meaning, so
only the rest (strings with quotes or escapes, names, tuples) is rewritten,
token by token, and ``json`` builds the value in C. Whatever that route
cannot take goes to the token reader above, which is exact on its own.
"""

from __future__ import annotations

import json
import math
import re
from json import loads as _json_loads
from json.encoder import encode_basestring as _json_string

__all__ = ["FALLBACK", "read_literal"]


class _Fallback:
    def __repr__(self):
        return "FALLBACK"


FALLBACK = _Fallback()  # "not in the subset: read it the exact way"

# A number as JSON writes it: the same value read by json.loads as by Python.
_JSON_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
# A string with nothing to unescape and no quote inside: its value is the
# text between the quotes, whichever quotes JSON puts around it.
_PLAIN_STRING = r"'[^'\"\\\x00-\x1f]*'"
_FLAT_ITEM = rf"[ \t\n]*(?:{_JSON_NUMBER}|{_PLAIN_STRING})[ \t\n]*"
_FLAT_PAIR = rf"[ \t\n]*{_PLAIN_STRING}[ \t\n]*:{_FLAT_ITEM}"

# One token, after blanks and newlines (which Python ignores inside
# brackets). Each alternative is one group; `lastindex` tells which matched.
# A number must not run on into a name, a dot or another number (`1if`,
# `1.5j`, `1_000`, `0x1`): the lookahead sends those to the exact reader.
# A flat list or dict of plain numbers and strings (most of a large set) is
# one token, read by json.loads once its quotes are made JSON's.
_STRING_TOKEN = (r"'[^'\\\n]*(?:\\[^\n][^'\\\n]*)*'"
                 r'|"[^"\\\n]*(?:\\[^\n][^"\\\n]*)*"')
_TOKEN = re.compile(rf"""[ \t\n]*(?:(,)[ \t\n]*)?(?:                 # 1 a comma before
    (\[(?:{_FLAT_ITEM},)*(?:{_FLAT_ITEM})?[ \t\n]*\]
    |{{(?:{_FLAT_PAIR},)*(?:{_FLAT_PAIR})?[ \t\n]*}})       # 2 a flat list or dict
   |({_STRING_TOKEN})[ \t\n]*:                               # 3 a string and a colon
   |({_STRING_TOKEN})                                        # 4 a string
   |(-?(?:0|[1-9][0-9]*))(?![\w.])                          # 5 an int
   |(-?(?:[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?
         |[0-9]+[eE][+-]?[0-9]+))(?![\w.])                  # 6 a float
   |([\[{{(])                                                # 7 an opening bracket
   |([\]}})])                                                # 8 a closing bracket
   |(-?[A-Za-z]+)(?![\w.])                                  # 9 a name
   |(:)                                                     # 10 a colon
)""", re.VERBOSE)
_FLAT, _KEY, _STRING, _INT, _FLOAT, _OPEN, _CLOSE, _NAME, _COLON = range(2, 11)
_OPENING = {"]": "[", "}": "{", ")": "("}

_NAMES = {"True": True, "False": False, "None": None,
          # the names NTParameterSet's eval namespace gives a plain value,
          # and those repr writes for infinite and NaN floats
          "true": True, "false": False, "pi": math.pi, "inf": math.inf, "nan": math.nan,
          "-pi": -math.pi, "-inf": -math.inf, "-nan": -math.nan}

# The escapes repr writes (and the other one-letter ones); anything else
# after a backslash (octal, \N{…}, an invalid escape, which warns) is left
# to the exact reader.
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})"
                     r"|([\\'\"abfnrtv]))")
_ONE_LETTER = {"\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f",
               "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
# Python source cannot hold these (a null byte, lone surrogates) or reads
# them in ways this reader does not follow (carriage returns, form feeds).
_AWKWARD = "\x00\r\x0c"
_SURROGATE = re.compile("[\ud800-\udfff]")

_TRAILING = re.compile("[ \t]*\n?")
MAX_DEPTH = 150  # below the parser's own limit (200 nested brackets): deeper is read exactly


def _unescape(body: str):
    def one(m):
        x, u, big, letter = m.groups()
        if letter is not None:
            return _ONE_LETTER[letter]
        code = int(x or u or big, 16)
        if code > 0x10FFFF:
            raise ValueError
        return chr(code)
    # the escapes taken out, no backslash may be left
    if "\\" in _ESCAPE.sub("", body):
        return FALLBACK
    try:
        return _ESCAPE.sub(one, body)
    except ValueError:
        return FALLBACK


# ------------------------------------------------------------------ as JSON

# The text is read with its two quote characters swapped, so that the strings
# repr writes with single quotes are JSON's. What JSON already reads as
# Python does, copied as it is: strings with no quote, backslash, newline or
# bracket inside (brackets left out so every bracket of the JSON text opens
# or closes a container: the depth is counted on it), brackets, commas,
# colons, blanks, and the characters of numbers — not checked here: json
# reads every number it takes as Python does, and takes no other word made
# of `e`, `E`, digits, `.`, `+` and `-` (`1.`, `1e`, `1-2` make it refuse),
# while `j`, `_`, `x` and names stop the run (`1j`, `1_0`, `0x1`, `1if`).
# A `-` before a name is the name's (`-inf`). Possessive: a run never gives back.
_RUN = r"""(?:[ \t\n,:\[\]{}0-9.eE+]++|"[^"'\\\n\[\](){}]*+"|-(?![A-Za-z]))*+"""
# A tuple of such strings and numbers (with a comma: `(1)` is 1, not a tuple).
_SWAPPED_PLAIN = r""""[^"'\\\n\[\](){}]*\""""
_TUPLE_ITEM = rf"[ \t\n]*(?:{_JSON_NUMBER}(?![\w.])|{_SWAPPED_PLAIN})[ \t\n]*"
# After a run: another string, a name, a tuple, or the end.
_JSON_STEP = re.compile(rf"""{_RUN}(?:
    ({_STRING_TOKEN})                                        # 1 a string (quotes swapped)
   |(-?[A-Za-z]+)(?![\w.])                                  # 2 a name
   |(\((?:{_TUPLE_ITEM},)+(?:{_TUPLE_ITEM})?\)|\([ \t\n]*\)) # 3 a flat tuple
   |\Z)""", re.VERBOSE)
_J_STRING, _J_NAME, _J_TUPLE = 1, 2, 3
_JSON_NAMES = {"True": "true", "False": "false", "None": "null", "true": "true", "false": "false"}
# No bracket inside a rewritten string either (see _RUN).
_BRACKET = re.compile(r"[\[\]{}]")
_NO_BRACKETS = str.maketrans({"[": "\\u005b", "]": "\\u005d", "{": "\\u007b", "}": "\\u007d"})
# A value JSON cannot write (a tuple, inf, pi) stands in the text as `NaN`,
# which json hands to parse_constant, in the order of the text.
_PLACEHOLDER = "NaN"
_DECODER = json.JSONDecoder(strict=False)  # strict: no tab inside a string; Python allows it
_SCAN_ONCE = _DECODER.scan_once
_BRACKETS_ONLY = bytes(c for c in range(256) if chr(c) not in "[]{}")


def _read_as_json(src: str, max_depth: int):
    """The value of `src` read as the JSON text it almost is, or FALLBACK."""
    text, stand_ins = _json_text(src)
    if text is FALLBACK:
        return FALLBACK
    # a flat tuple is one level below where it stands
    if stand_ins and max_depth == 0 or _json_deeper_than(text, max_depth - bool(stand_ins)):
        return FALLBACK
    decoder = _DECODER
    if stand_ins:
        decoder = json.JSONDecoder(strict=False, parse_constant=_next_of(stand_ins))
    try:
        return decoder.decode(text)
    except (ValueError, RecursionError):  # not JSON: not this route's to read
        return FALLBACK


def _next_of(values: list):
    following = iter(values).__next__
    return lambda _name: following()


def _json_text(src: str):
    """(the JSON text of src, the values standing in it as NaN), or (FALLBACK, None)."""
    # by way of a null byte, which src cannot hold (_awkward): translate
    # would go character by character through a dict on non-ASCII text
    swapped = src.replace("'", "\x00").replace('"', "'").replace("\x00", '"')
    step = _JSON_STEP.match
    pieces: list = []
    stand_ins: list = []
    at = 0
    while True:
        m = step(swapped, at)
        if m is None:
            return FALLBACK, None
        token = m.lastindex
        if token is None:  # the end
            pieces.append(swapped[at:])
            return "".join(pieces), stand_ins
        start, at = m.span(token)
        pieces.append(swapped[m.start():start])
        if token == _J_STRING:
            value = src[start + 1:at - 1]  # unswapped: the text as written
            if "\\" in value:
                value = _unescape(value)
                if value is FALLBACK:
                    return FALLBACK, None
            value = _json_string(value)
            if _BRACKET.search(value):
                value = value.translate(_NO_BRACKETS)
            pieces.append(value)
            continue
        if token == _J_NAME:
            name = m.group(_J_NAME)
            word = _JSON_NAMES.get(name)
            if word is not None:
                pieces.append(word)
                continue
            value = _NAMES.get(name, FALLBACK)
        else:
            value = _flat_tuple(m.group(_J_TUPLE))
        if value is FALLBACK:
            return FALLBACK, None
        pieces.append(_PLACEHOLDER)
        stand_ins.append(value)


def _flat_tuple(text: str):
    inner = text[1:-1].rstrip(" \t\n")
    if inner.endswith(","):
        inner = inner[:-1]
    array = f"[{inner}]"
    try:
        items, end = _SCAN_ONCE(array, 0)  # the decoder's C scanner, without its Python wrapper
    except (StopIteration, ValueError):  # an int longer than sys.get_int_max_str_digits()
        return FALLBACK
    return tuple(items) if end == len(array) else FALLBACK


def _json_deeper_than(text: str, limit: int) -> bool:
    """Whether the containers of a JSON text, every bracket of which is one
    (see _RUN), nest more than `limit` deep: its brackets alone, innermost
    pairs taken away, level by level. Unmatched brackets (not JSON) count
    as too deep."""
    brackets = text.encode("utf-8", "surrogatepass").translate(None, _BRACKETS_ONLY)
    brackets = brackets.replace(b"{", b"[").replace(b"}", b"]")
    for _ in range(limit):
        if not brackets:
            return False
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):  # `][`: no pair left
            return True
        brackets = inner
    return bool(brackets)


def read_literal(src: str, max_depth: int = MAX_DEPTH):
    """The value of the Python literal `src` (as ``eval`` would compile it,
    leading blanks already stripped), or FALLBACK; FALLBACK too for values
    nested more than `max_depth` levels deep (at most MAX_DEPTH), so the
    caller need not walk an answer to check its depth."""
    if not src or src[0] in " \t\n" or _awkward(src) or not _ends_well(src):
        return FALLBACK
    value = _read_as_json(src, min(max_depth, MAX_DEPTH))
    if value is FALLBACK:
        value = _read_tokens(src, min(max_depth, MAX_DEPTH))
    return value


def _awkward(src: str) -> bool:
    # `in` is a fast search; a regular expression looks at every character
    if any(c in src for c in _AWKWARD):
        return True
    return not src.isascii() and _SURROGATE.search(src) is not None


def _ends_well(src: str) -> bool:
    """Trailing blanks and one newline at most: `{}\n\n ` is an indent error."""
    end = len(src)
    while end and src[end - 1] in " \t\n":
        end -= 1
    return _TRAILING.fullmatch(src, end) is not None


def _read_tokens(src: str, max_depth: int):
    """The token reader: one token of the text at a time."""
    match = _TOKEN.scanner(src).match
    stack: list = []  # the containers open around this one: (kind, items, comma)
    items: list = []  # this container's items; a dict's keys and values in turn
    kind = ""  # its bracket; "" at the top level, which holds one value
    comma = False  # a comma was read in it (a tuple's mark)
    after_value = False  # the last token was a value: a comma, colon or close may follow
    end = 0
    while True:
        m = match()
        if m is None:
            break
        end = m.end()
        token = m.lastindex
        if m.start(1) >= 0:  # a comma before the token
            if not after_value or not kind or (kind == "{" and len(items) % 2):
                return FALLBACK  # `[,`, `1, 2` at the top, `{1, 2}` (a set)
            comma, after_value = True, False
        if token == _CLOSE:
            if kind != _OPENING[m.group(_CLOSE)]:
                return FALLBACK
            if kind == "{" and len(items) % 2:
                return FALLBACK  # `{1}` (a set), `{'a':}`
            if kind == "[":
                value = items
            elif kind == "{":
                try:
                    value = dict(zip(items[::2], items[1::2]))
                except TypeError:  # an unhashable key: the exact reader says so
                    return FALLBACK
            elif comma or not items:
                value = tuple(items)
            else:
                value = items[0]  # `(x)` is x
            kind, items, comma = stack.pop()
        elif token == _COLON:
            if not after_value or kind != "{" or not len(items) % 2:
                return FALLBACK
            after_value = False
            continue
        elif after_value:
            return FALLBACK  # `'a' 'b'`, `1 2`, `[1][0]`
        elif token == _OPEN:
            if len(stack) >= max_depth:
                return FALLBACK
            stack.append((kind, items, comma))
            kind, items, comma = m.group(_OPEN), [], False
            continue
        else:
            text = m.group(token)
            if token == _FLAT:
                if len(stack) >= max_depth:  # a container too, one level below
                    return FALLBACK
                try:
                    value = _json_loads(text.replace("'", '"'))
                except ValueError:  # an int longer than sys.get_int_max_str_digits()
                    return FALLBACK
            elif token == _STRING or token == _KEY:
                value = text[1:-1]
                if "\\" in value:
                    value = _unescape(value)
                    if value is FALLBACK:
                        return FALLBACK
                if token == _KEY:  # its colon read too: the value follows
                    if kind != "{" or len(items) % 2:
                        return FALLBACK
                    items.append(value)
                    continue
            elif token == _INT:
                try:
                    value = int(text)
                except ValueError:  # longer than sys.get_int_max_str_digits()
                    return FALLBACK
            elif token == _FLOAT:
                value = float(text)
            else:
                value = _NAMES.get(text, FALLBACK)
                if value is FALLBACK:
                    return FALLBACK
        items.append(value)
        after_value = True
    if stack or not after_value or len(items) != 1 or src[end:].strip(" \t\n"):
        return FALLBACK
    return items[0]
