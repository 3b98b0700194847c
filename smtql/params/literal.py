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
"""

from __future__ import annotations

import math
import re
from json import loads as _json_loads

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
_AWKWARD = re.compile("[\x00\r\x0c\ud800-\udfff]")

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


def read_literal(src: str):
    """The value of the Python literal `src` (as ``eval`` would compile it,
    leading blanks already stripped), or FALLBACK."""
    if not src or src[0] in " \t\n" or _AWKWARD.search(src):
        return FALLBACK
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
            if len(stack) >= MAX_DEPTH:
                return FALLBACK
            stack.append((kind, items, comma))
            kind, items, comma = m.group(_OPEN), [], False
            continue
        else:
            text = m.group(token)
            if token == _FLAT:
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
    if stack or not after_value or len(items) != 1:
        return FALLBACK
    rest = src[end:]
    # trailing blanks and one newline at most: `{}\n\n ` is an indent error
    if rest and not _TRAILING.fullmatch(rest):
        return FALLBACK
    return items[0]
