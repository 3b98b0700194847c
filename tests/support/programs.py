"""Hypothesis strategies that write smtql programs as text, from the grammar
(smtql/language/smtql.lark) outward: every statement, predicate and literal
form, with the extremes a person or a generated script can type (huge and
tiny numbers, dates at the edges of the calendar, long lists, deep nesting,
Unicode and control characters), then the same programs mutated, and plain
random text. The pipeline fuzzer (tests/test_fuzz.py) and its slow profile
(benchmarks/fuzz.py) draw from `programs()`.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import strategies as st

CORPUS = Path(__file__).resolve().parents[1] / "data" / "fuzz" / "corpus.jsonl"

STATUS = ["initialized", "pre_run", "running", "finished", "failed", "killed", "crashed",
          "finshed", "Finished"]
FIELDS = ["label", "timestamp", "reason", "outcome", "main_file", "script", "version", "user",
          "script_arguments", "task", "stdout_stderr", "stdout", "duration", "outputs",
          "outputpath", "executable", "repository", "tags", "status"]
PARAMS = ["seed", "lr", "optimizer.lr", "model.layers", "model.layers.0", "params.label",
          "`status`", "`learning-rate`", "μtilde", "x", "a.b.c.d.e", "n_steps", "durationn"]
TAGS = ["finished", "failed", "best", "x", "baseline", "unfinished-review", "a.b-c", "μ"]
OPS = ["=", "!=", "<", "<=", ">", ">=", "~="]
TEXT_OPS = ["contains", "startswith", "endswith"]

# Literals at the edges: the calendar's first and last days, numbers past a
# float, a C int, a 64-bit integer.
EDGE_DATES = ["0001", "0001-01-01", "0000", "9999", "9999-12", "9999-12-31",
              "9999-12-31T23:59", "9999-12-31T23:59:59", "2020-13-01", "2020-02-30",
              "2020-09-12T25:00", "20200912", "2020-09", "2020", "2021-09-30T23:59:59"]
EDGE_NUMBERS = ["0", "-0", "1", "-1", "0.5", "1e-400", "1e400", "-1e400", "1e308", "2.5e-324",
                "9223372036854775807", "9223372036854775808", "99999999999999999999999",
                "1" + "0" * 400, ".5", "+3", "007"]
AGO_AMOUNTS = ["0", "1", "3", "0.5", "1e9", "100000000", "99999999999", "1" + "0" * 30, "1e400",
               "9999"]
REGEXES = ["a", "^2020", "(", "[a-", "a{4294967296}", "a{2,1}", "(?P<x>a)(?P=x)", "\\",
           "(" * 600 + "a" + ")" * 600, "(a|b)*c", "a**", ".*" * 50, "\\d+\\.\\d+",
           "(?i)finished", "[" + "a" * 10 + "]"]
ODD_TEXT = ["", " ", "μ", "\u00e9", "\u200b", "\x00", "\x1b[31m", "\t", "\\n", "'", '"',
            "%", "_", "'; DROP TABLE x; --", "\U0001f600", "a" * 300, "\r", "\ud7ff"]


def _quote(text: str) -> str:
    """A string literal as a person writes it: double quotes, with the
    escapes the lexer knows."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + body + '"'


words = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "Pc", "Pd"]),
                min_size=1, max_size=8)
keys = st.one_of(st.sampled_from(FIELDS), st.sampled_from(PARAMS),
                 words.filter(lambda w: w[0].isalpha()))
strings = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=12)).map(_quote)
numbers = st.one_of(st.sampled_from(EDGE_NUMBERS), st.integers().map(str),
                    st.floats(allow_nan=False, allow_infinity=False).map(repr))
durations = st.sampled_from(["90s", "5m", "10h", "2d", "1h30m", "0s", "99999999999999999999w",
                             "1.5h", "3w"])
ago = st.builds(lambda n, u: f"{n} {u} ago", st.sampled_from(AGO_AMOUNTS),
                st.sampled_from(["seconds", "minutes", "hours", "days", "weeks", "day", "week"]))
dates = st.one_of(st.sampled_from(EDGE_DATES), ago, st.sampled_from(["today", "yesterday", "$d"]))
scalars = st.one_of(numbers, strings, dates, durations,
                    st.sampled_from(["true", "false", "null", "none", "$v", "20201119-075320_7b84e7"]))


def lists(values, max_size: int = 6):
    return st.lists(values, max_size=max_size).map(lambda vs: "[" + ", ".join(vs) + "]")


values = st.recursive(scalars, lambda inner: lists(inner), max_leaves=8)


@st.composite
def long_list(draw):
    """A list of hundreds to thousands of labels or strings: the cost must
    grow linearly, and SQL must respect the bound-parameter limits."""
    n = draw(st.sampled_from([0, 1, 300, 1200]))
    kind = draw(st.sampled_from(["label", "reason", "seed"]))
    items = [f'"l{i}"' if kind != "seed" else str(i) for i in range(n)]
    return f"{kind} in [" + ", ".join(items) + "]"


predicates = st.one_of(
    st.just("all"),
    st.lists(st.one_of(st.sampled_from(TAGS), strings, st.just("$t")), min_size=1, max_size=3)
    .map(lambda ts: "tag " + ", ".join(ts)),
    st.sampled_from(['"*"', '"_*_"', '"fin*"', '"[a-"', '""']).map(lambda g: f"tag like {g}"),
    st.sampled_from(STATUS).map(lambda s: f"status {s}"),
    st.builds(lambda w, d: f"{w} {d}", st.sampled_from(["after", "before", "on"]), dates),
    st.builds(lambda a, b: f"between {a} and {b}", dates, dates),
    st.builds(lambda k, o, v: f"{k} {o} {v}", keys, st.sampled_from(OPS), values),
    st.builds(lambda k, o, v: f"{k} {o} {v}", keys, st.sampled_from(TEXT_OPS), strings),
    st.builds(lambda k, v: f"{k} in {v}", keys, lists(values)),
    st.builds(lambda k, r: f"{k} matches {_quote(r)}", keys, st.sampled_from(REGEXES)),
    st.builds(lambda k: f"exists {k}", keys),
    st.builds(lambda r, k: f"match {r} on {k}", st.sampled_from(["latest", "earliest", "nosuch"]),
              st.sampled_from(["seed", "lr", "nokey"])),
    st.builds(lambda k, v: f"timestamp {k} {v}", st.sampled_from(OPS), dates),
    st.builds(lambda o, d: f"duration {o} {d}", st.sampled_from(OPS), st.one_of(durations, numbers)),
    st.sampled_from(["$f", "outputs missing"]),
    long_list(),
)


def filters_of(atoms):
    return st.recursive(atoms, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map(lambda fs: " and ".join(fs)),
        st.lists(inner, min_size=2, max_size=4).map(lambda fs: " or ".join(fs)),
        inner.map(lambda f: f"not {f}"),
        inner.map(lambda f: f"({f})"),
    ), max_leaves=10)


@st.composite
def deep(draw, atoms):
    """Nesting far past what a person writes: chained `not`s, parentheses,
    alternating `and`/`or`/`not`, lists in lists."""
    n = draw(st.sampled_from([50, 99, 101, 600, 3000]))
    atom = draw(atoms)
    shape = draw(st.sampled_from(["not", "paren", "mixed", "list"]))
    if shape == "not":
        return "not " * n + atom
    if shape == "paren":
        return "(" * n + atom + ")" * n
    if shape == "mixed":
        return f"not ({atom} or " * n + atom + ")" * n
    return "seed = " + "[" * n + "1" + "]" * n


@st.composite
def flat(draw, atoms):
    """Long flat programs: an `or` of thousands of equalities."""
    n = draw(st.sampled_from([2, 100, 1000, 3000]))
    field = draw(st.sampled_from(["reason", "label", "seed", "duration", "timestamp"]))
    value = {"reason": '"r{}"', "label": '"l{}"', "seed": "{}", "duration": "{}s",
             "timestamp": "2020-10-{:02}"}[field]
    joiner = draw(st.sampled_from([" or ", " and "]))
    return joiner.join(f"{field} = " + value.format(i % 28 + 1 if field == "timestamp" else i)
                       for i in range(n))


filters = st.one_of(filters_of(predicates), deep(predicates), flat(predicates))
refs = st.one_of(st.sampled_from(["latest", "earliest", "20201119-075320_7b84e7", '"nosuch"',
                                  "$r"]), filters.map(lambda f: f"where {f}"))
columns = st.one_of(st.sampled_from(["default"] + FIELDS + PARAMS), keys)


@st.composite
def show(draw):
    if draw(st.booleans()):
        return " show " + ", ".join(draw(st.lists(columns, min_size=1, max_size=5)))
    return " show " + ", ".join(f"k{i}" for i in range(draw(st.sampled_from([300, 2000]))))


clauses = st.one_of(
    show(),
    st.lists(st.builds(lambda k, d: k + d, keys, st.sampled_from(["", " asc", " desc"])),
             min_size=1, max_size=3).map(lambda ks: " order by " + ", ".join(ks)),
    st.builds(lambda w, n: f" {w} {n}", st.sampled_from(["limit", "latest", "earliest"]),
              st.sampled_from(["0", "1", "3", "99999999999999999999999", "$n", ""])),
    st.just(" merged"),
)

statements = st.one_of(
    st.builds(lambda find, f, cs: find + f + "".join(cs), st.sampled_from(["", "find "]),
              filters, st.lists(clauses, max_size=3)),
    filters.map(lambda f: f"count {f}"),
    refs.map(lambda r: f"describe {r}"),
    st.builds(lambda r, opts: f"diff {r}" + "".join(opts),
              st.one_of(st.just("latest, earliest"), refs),
              st.lists(st.sampled_from([" depth 1", " depth 99999999999999999999", " raw",
                                        " ignore seed"]), max_size=2)),
    filters.map(lambda f: f"keys {f}"),
    st.builds(lambda w, t, f: f"{w} {t} where {f}", st.sampled_from(["tag", "untag"]),
              st.sampled_from(TAGS + ["fuzzed", '"a b"']), filters),
    filters.map(lambda f: f"export {f}"),
    filters.map(lambda f: f"let f = {f}"),
    st.just("undo"),
    st.sampled_from(["explain count tag finished", "explain find reason = \"a\" or reason = \"b\"",
                     "explain tag x where all"]),
)

generated = st.lists(statements, min_size=1, max_size=3).map("; ".join)

# Characters a mutation splices in: the grammar's punctuation, keywords'
# letters, and the troublemakers (quotes, backquotes, control characters).
_SPLICE = st.one_of(st.sampled_from(list("()[],;=<>!~$`'\"#-.:*") + ["\n", "\x00", "\x7f", " and ",
                                                                    " or ", " not ", "9999",
                                                                    "μ", "\U0001f600"]),
                    st.text(max_size=3))


@st.composite
def mutated(draw):
    """A generated program with a few characters inserted, deleted or
    replaced: the half-typed and mistyped programs a REPL sees."""
    text = draw(generated)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 4)))
        text = text[:i] + draw(st.one_of(st.just(""), _SPLICE)) + text[j:]
    return text


random_text = st.text(max_size=60)

programs = st.one_of(generated, generated, mutated(), random_text)


def corpus() -> list[dict]:
    """The programs fuzzing once found failing, kept as regression cases."""
    if not CORPUS.exists():
        return []
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
