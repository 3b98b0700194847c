"""Completion that knows where the cursor is.

The text before the cursor is split into the word being typed and what
comes before it. The words before are fed to Lark's interactive LALR parser
(`parse_interactive`), which then says which tokens may come next
(`accepts()`); each token kind maps to a source of words:

    keywords (FIND, SHOW, AFTER, …)   the keyword itself
    KEY                               record fields and the store's parameter
                                      keys, one segment at a time, task-folded
    WORD after `tag`                  the store's tags and the status words
    WORD after `status`               the status words
    REF_WORD / LABEL                  the store's labels, newest first
    values after `KEY OP`             the values that key has in the store
    VAR                               the `$variables` bound so far

The store's words (`Vocabulary`) load in a background thread, so the prompt
never waits for them: until they are there, only the grammar's own words are
offered (vocabulary.py). `complete()` is plain Python and tested as such;
completer.py adapts it to prompt-toolkit.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from ..language import fields
from .vocabulary import MAX_VALUES, Vocabulary, key_path
from ..language.spelling import path_text, segment_text

MAX_CANDIDATES = 200  # candidates one completion offers at most


@dataclass(frozen=True)
class Candidate:
    """One completion: `text` replaces the last `replace` characters
    before the cursor."""

    text: str
    replace: int
    display: str | None = None
    meta: str = ""


# ------------------------------------------------------------------ context

_WORD_CHARS = re.compile(r"[$\w.\-:/]*$")
_KEYWORD_EXTRA = {
    # terminals whose pattern is not one plain word
    "NULL": ("null",),
    "TEXT_OP": ("contains", "startswith", "endswith"),
    "TIME_UNIT": ("hours", "days", "weeks"),
    "_AND": ("and",),
    "_OR": ("or",),
    "_NOT": ("not",),
}
_VALUE_TOKENS = {"NUMBER", "INT", "STRING", "DATE", "LABEL", "DURATION", "TRUE", "FALSE",
                 "NULL", "TODAY", "YESTERDAY", "VAR", "LSQB", "RSQB", "COMMA", "LITERAL_LIST"}


@dataclass
class Context:
    """Where the cursor stands: the word being typed (`word`), the tokens
    of its statement before it and the token kinds the grammar accepts next.
    `accepts` is None when the text before the word does not parse. `lets`:
    the names the statements before this one bind."""

    word: str
    tokens: list = field(default_factory=list)
    accepts: set | None = None
    quote: str = ""  # the word is inside an open string or back-quote
    lets: list = field(default_factory=list)


# Completion runs at every key, on all the text before the cursor. Only the
# cursor's statement is parsed there; the statements before it are parsed
# once each (cached by their text: statements are separated by top-level `;`
# and the grammar is a list of them, so each parses alone iff the program
# does), and the text is scanned for quotes, comments and `;` from where the
# previous key's scan left off (a checkpoint after a line end or a `;`,
# nothing open), so a key's work does not grow with the program before the
# cursor's statement.
_checkpoint: tuple = ("", 0, ())  # (text scanned, safe offset, `;` offsets before it)


def _scan(text: str) -> tuple[tuple, str, int, bool]:
    """(the offsets of the top-level `;`, the open quote or '', where it
    opened, whether the text ends in a comment)."""
    global _checkpoint
    old, i, bounds = _checkpoint
    if not text.startswith(old[:i]):
        i, bounds = 0, ()
    quote, start, safe = "", 0, (i, bounds)
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote != "`":
                i += 2
                continue
            if c == quote or c == "\n":
                quote = ""
        elif c in "\"'`":
            quote, start = c, i
        elif c == "#" or text.startswith("--", i) and (i == 0 or not text[i - 1].isalnum()):
            end = text.find("\n", i)
            if end < 0:
                _checkpoint = (text, *safe)
                return bounds, "", 0, True
            i = end
        elif c == ";":
            bounds += (i,)
        i += 1
        if not quote and text[i - 1] in ";\n":
            safe = (i, bounds)
    _checkpoint = (text, *safe)
    return bounds, quote, start if quote else 0, False


def _split_word(text: str) -> tuple[str, str, str, tuple] | None:
    """(text before the word, the word, open quote char or '', the offsets
    of the top-level `;` before it) or None when the cursor is in a
    comment."""
    bounds, quote, start, in_comment = _scan(text)
    if in_comment:
        return None
    statement = bounds[-1] + 1 if bounds else 0
    if quote == "`":
        # a back-quoted segment: the word is the whole key it belongs to
        m = re.search(r"[\w.`]*$", text[statement:start])
        begin = statement + m.start() if m else start
        return text[:begin], text[begin:], "`", bounds
    if quote:
        return text[:start], text[start:], quote, bounds
    m = _WORD_CHARS.search(text, statement)
    word = m.group(0)
    # `-` starts a comment or a number, not a word
    while word.startswith("-"):
        word = word[1:]
    return text[:len(text) - len(word)], word, "", bounds


def context(text: str) -> Context | None:
    """The completion context of the text before the cursor."""
    split = _split_word(text)
    if split is None:
        return None
    before, word, quote, bounds = split
    ctx = Context(word=word, quote=quote)
    starts = (0,) + tuple(b + 1 for b in bounds)
    for begin, end in zip(starts, bounds):  # the statements before the cursor's
        tokens, _ = _parsed(before[begin:end])
        if tokens is None:  # a mistake before: nothing to offer
            return ctx
        ctx.lets += _let_names(tokens)
    tokens, accepts = _parsed(before[starts[-1]:])
    ctx.tokens, ctx.accepts = list(tokens or ()), None if accepts is None else set(accepts)
    return ctx


@functools.lru_cache(maxsize=4096)
def _parsed(statement: str) -> tuple[tuple | None, frozenset | None]:
    """The tokens of one statement's text and the token kinds the grammar
    accepts after them; (None, None) if it does not parse."""
    from lark.exceptions import UnexpectedInput
    from ..language.parser import lark_parser

    parser = lark_parser().parse_interactive(statement, start="program")
    tokens = []
    try:
        for tok in parser.iter_parse():
            tokens.append(tok)
        return tuple(tokens), frozenset(parser.accepts())
    except UnexpectedInput:
        return None, None
    except Exception:  # noqa: BLE001 - a state Lark cannot replay
        return None, None


@functools.lru_cache(maxsize=None)
def _keyword_terminals() -> dict[str, tuple[str, ...]]:
    from ..language.parser import lark_parser
    out = {}
    for t in lark_parser().terminals:
        if t.pattern.type == "str" and t.pattern.value.isalpha():
            out[t.name] = (t.pattern.value.lower(),)
    out.update(_KEYWORD_EXTRA)
    return out


# ------------------------------------------------------------------ candidates

def complete(text: str, vocab: Vocabulary | None = None, variables=()) -> list[Candidate]:
    """The candidates for the cursor at the end of `text`."""
    vocab = vocab or Vocabulary()
    ctx = context(text)
    if ctx is None or ctx.accepts is None:
        return []
    word, accepts, tokens = ctx.word, ctx.accepts, ctx.tokens
    prev = tokens[-1].type if tokens else None
    out: list[Candidate] = []

    value_key = _compared_key(tokens)
    if value_key is not None and accepts & {"STRING", "NUMBER", "TRUE", "NULL"}:
        out += _values(word, value_key, vocab)
        if value_key != "timestamp":  # `today` compares with timestamps only
            accepts = accepts - {"TODAY", "YESTERDAY"}
    if "KEY" in accepts and not ctx.quote == '"' and not ctx.quote == "'":
        params_only = prev in ("EXISTS", "IGNORE") or _after_match_on(tokens)
        out += _keys(word, vocab, params_only=params_only)
    if "WORD" in accepts and not value_key:
        out += _tags(word, vocab, status_only=prev == "STATUS")
    if accepts & {"REF_WORD", "LABEL"} and not value_key:
        out += [Candidate(label, len(word), meta="record label")
                for label in vocab.labels if label.startswith(word)][:MAX_CANDIDATES]
    if "VAR" in accepts and (word == "" or word.startswith("$")):
        bound = list(dict.fromkeys(list(variables) + ctx.lets + _let_names(tokens)))
        out += [Candidate("$" + n, len(word), meta="variable (let or --set)")
                for n in bound if ("$" + n).startswith(word)]
    if not ctx.quote and not word.startswith("$"):
        out += _keywords(word, accepts)
    return _unique(out)[:MAX_CANDIDATES]


def _unique(cands: list[Candidate]) -> list[Candidate]:
    seen, out = set(), []
    for c in cands:
        if c.text not in seen:
            seen.add(c.text)
            out.append(c)
    return out


def _keywords(word: str, accepts: set) -> list[Candidate]:
    table = _keyword_terminals()
    lowered = word.lower()
    words = sorted({w for name in accepts for w in table.get(name, ())})
    upper = word.isupper() and len(word) > 1
    return [Candidate(w.upper() if upper else w, len(word), meta="keyword")
            for w in words if w.startswith(lowered) and w != lowered]


def _keys(word: str, vocab: Vocabulary, params_only: bool = False) -> list[Candidate]:
    out = []
    if "." not in word and not word.startswith("`"):
        if not params_only:
            names = list(fields.FIELDS) + list(fields.ALIASES)
            out += [Candidate(n, len(word), meta=_field_meta(n))
                    for n in names if n.startswith(word)]
        for seg in vocab.children(()):
            text = path_text((seg,))
            if segment_text(seg).startswith(word):
                out.append(Candidate(text, len(word), display=segment_text(seg),
                                     meta=_key_meta((seg,), vocab)))
        return out
    head, _, last = word.rpartition(".")
    prefix = key_path(head)
    for seg in vocab.children(prefix):
        text = segment_text(seg)
        if text.startswith(last):
            out.append(Candidate(text, len(last), meta=_key_meta(prefix + (seg,), vocab)))
    return out


def _field_meta(name: str) -> str:
    info = fields.field_named(name)
    if name in fields.ALIASES:
        return f"field (alias of {info.name})"
    return f"field: {info.doc}" if info.doc else "field"


def _key_meta(path: tuple, vocab: Vocabulary) -> str:
    """What a parameter key is, in words: a value, or a group of keys."""
    what = "parameter group (type . for its keys)" if vocab.has_children(path) else "parameter"
    return f"{what}, {records(vocab.param_keys.get(path_text(path), 0))}"


def records(n: int) -> str:
    return f"in {n} record{'' if n == 1 else 's'}"


def _tags(word: str, vocab: Vocabulary, status_only: bool) -> list[Candidate]:
    status_tags = {fields.status_tag(w) for w in fields.STATUS_WORDS}
    out = [Candidate(w, len(word),
                     meta=f"status, {records(vocab.tags.get(fields.status_tag(w), 0))}")
           for w in fields.STATUS_WORDS if w.startswith(word)]
    if not status_only:
        for tag, n in sorted(vocab.tags.items(), key=lambda kv: (-kv[1], kv[0])):
            if tag not in status_tags and tag.startswith(word):
                text = tag if re.fullmatch(r"[\w][\w\-.]*", tag) else _quoted(tag)
                out.append(Candidate(text, len(word), display=tag, meta=f"tag, {records(n)}"))
    return out


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _values(word: str, key: str, vocab: Vocabulary) -> list[Candidate]:
    counter = vocab.values.get(key)
    if not counter:
        return []
    out = []
    for literal, n in counter.most_common(MAX_VALUES):
        bare = literal[1:-1] if literal[:1] in "\"'" and len(literal) > 1 else literal
        if literal.startswith(word) or (word and bare.startswith(word.lstrip("\"'"))):
            out.append(Candidate(literal, len(word), meta=f"value of {key}, {records(n)}"))
    return out


def _compared_key(tokens) -> str | None:
    """The key whose value is being written: `KEY OP ▌`, `KEY in [a, ▌`,
    `KEY = [a, ▌` (a list literal holds that key's values, never labels)."""
    from ..language.parser import read_key
    from ..language import ast
    i = len(tokens) - 1
    if i < 0:
        return None
    if tokens[i].type in ("LSQB", "COMMA"):
        while i >= 0 and tokens[i].type in _VALUE_TOKENS:
            i -= 1
        if i < 0 or tokens[i].type not in ("IN", "OP"):
            return None
    elif tokens[i].type not in ("OP", "TEXT_OP", "MATCHES"):
        return None
    if i < 1 or tokens[i - 1].type != "KEY":
        return None
    key = read_key(str(tokens[i - 1]))
    return key.name if isinstance(key, ast.Field) else key.dotted


def _after_match_on(tokens) -> bool:
    types = [t.type for t in tokens]
    for i in range(len(types) - 1, -1, -1):
        if types[i] == "ON":
            return i >= 2 and types[i - 2] == "MATCH"
        if types[i] not in ("KEY", "COMMA"):
            return False
    return False


def _let_names(tokens) -> list[str]:
    return [str(tokens[i + 1]) for i, t in enumerate(tokens[:-1])
            if t.type == "LET" and tokens[i + 1].type == "NAME"]
