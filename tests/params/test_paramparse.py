"""smtql.params.parse: reading stored parameter sets as Sumatra does, without eval.

Differential tests build each Sumatra parameter set class in-process, take
``str(ps)`` as the stored content (what the Django store keeps), and demand
that ``parse_parameter_content`` return what Sumatra's own reconstruction
(``ParameterSet.to_sumatra`` -> ``as_dict()``) returns, with exact types.
"""

import datetime
import json
import math
import os
import time

import sys

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import sumatra.parameters as sp
from smtql.params.parse import UnreadableParameters, parse_parameter_content

# Sumatra's own eval() of test contents warns (invalid escapes, `1[0]`)
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning",
                                        "ignore::DeprecationWarning")

SETTINGS = settings(max_examples=75, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
YAML_SETTINGS = settings(SETTINGS, max_examples=40)  # PyYAML is slow


# ---------------------------------------------------------------- helpers

def same(a, b):
    """Equal with identical types all the way down (1 != 1.0 != True,
    tuple != list); floats by repr, so nan == nan and -0.0 != 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    if isinstance(a, complex):
        return repr(a) == repr(b)
    if isinstance(a, dict):
        return (list(a) == list(b)
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def to_sumatra(type_name, content):
    """sumatra/recordstore/django_store/models.py ParameterSet.to_sumatra,
    normalised to plain data with as_dict()."""
    if hasattr(sp, type_name):
        ps = getattr(sp, type_name)(content)
    elif content == "None":
        return None
    elif content == "{}":
        return {}
    else:
        return content
    return ps.as_dict()


def is_url_probe_bug(exc):
    # parameters.ParameterSet.__init__ calls urlopen(content) and only
    # catches IOError: content without ':' (like '{}') or with '/' before
    # the first ':' raises ValueError('unknown url type').
    return isinstance(exc, ValueError) and "unknown url type" in str(exc)


def nt_without_url_probe(content):
    """What NTParameterSet(content) does once past its URL/file probing."""
    return sp.NTParameterSet(
        sp.NTParameterSet.read_from_str(content)).as_dict()


def outcome(f, *args):
    try:
        return True, f(*args)
    except Exception as e:  # noqa: BLE001 - any failure is "cannot read"
        return False, e


# ---------------------------------------------------------------- strategies

KEY_ALPHABET = st.sampled_from(list("abcxyz_-/ 0123456789") + ["μ", "é", "ñ", "日", "Ω"])
nt_keys = st.text(KEY_ALPHABET, min_size=1, max_size=8).filter(
    lambda k: k not in ("parameters", "names"))
# strings with quotes, backslashes, newlines and unicode.  Without
# parentheses for SimpleParameterSet, whose pretty() writes strings unescaped
# inside "...", so that Sumatra's eval of them can never call anything.
texts_no_parens = st.text(st.characters(blacklist_categories=("Cs",),
                                        blacklist_characters="()"), max_size=12)
texts_any = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
special_texts = st.sampled_from(
    ["", "'", '"', "\\", "a\nb", "it's", 'say "hi"', "tab\there", "C:\\dir\\n",
     "μtilde", "x=y", "# not a comment", "%", "%%", "yes", "no", "on", "null",
     "~", "2020-09-12", "1e3", "0x1F", "1:20", "-.inf", ".nan", "True"])
texts = texts_any | special_texts
finite_floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [-0.5, 1e-3, -1e-300, 6.02e23, 1e16, -0.0, 0.1])
scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
           | finite_floats | texts)
simple_scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
                  | finite_floats | texts_no_parens | special_texts)


def nested(keys, leaves, tuples=True):
    def extend(children):
        out = st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4)
        if tuples:
            out = out | st.lists(children, max_size=4).map(tuple)
        return out
    return st.recursive(leaves, extend, max_leaves=12)


def top_dicts(keys, leaves, tuples=True):
    return st.dictionaries(keys, nested(keys, leaves, tuples), max_size=6)


# ---------------------------------------------------------------- NTParameterSet

@SETTINGS
@given(top_dicts(nt_keys, scalars))
@example({})
@example({"a/b": 1, "c": {"d": (1, [2.5, None])}})
@example({"μtilde": -1e-3, "learning-rate": 0.5, "s": "it's \"q\" \\ \n"})
def test_nt_differential(data):
    ps = sp.NTParameterSet(data)
    content = str(ps)
    assume("file://" not in content)
    ours = parse_parameter_content("NTParameterSet", content)
    ok, theirs = outcome(to_sumatra, "NTParameterSet", content)
    if not ok:
        assert is_url_probe_bug(theirs), theirs
        theirs = nt_without_url_probe(content)
    assert same(ours, theirs), (content, ours, theirs)
    assert same(ours, ps.as_dict())


# raw NT contents exercising the parameters package's own rules: dotted keys,
# reserved names, non-string keys, falsy and non-dict top levels
raw_keys = st.sampled_from(["a", "b", "a.b", "b.a", "a.b.c", "a.", ".a", ".",
                            "names", "parameters", "x", 1, 2.5, (1, 2), True])
raw_nt_values = st.recursive(
    st.sampled_from([0, 1, -2.5, "s", None, True, "a.b"]),
    lambda c: (st.lists(c, max_size=3) | st.lists(c, max_size=3).map(tuple)
               | st.dictionaries(raw_keys, c, max_size=4)),
    max_leaves=10)


@SETTINGS
@given(raw_nt_values)
@example({"a": {}, "a.b": 1})
@example({"a.b": 1, "a": {}})
@example({"a": {"b": 1}, "a.b.c": 2})
@example({"a": {"b": {}}, "a.b.c": {"d": 1}, "a.b": {"e": 2}})
@example({"a": [{"b.c": 1, 2: 3}]})
@example([])
@example(0)
def test_nt_raw_differential(data):
    content = repr(data)
    ok, theirs = outcome(nt_without_url_probe, content)
    full_ok, full = outcome(to_sumatra, "NTParameterSet", content)
    if full_ok:
        assert ok and same(full, theirs)
    else:
        assert is_url_probe_bug(full) or not ok
    if ok:
        assert same(parse_parameter_content("NTParameterSet", content), theirs)
    else:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("NTParameterSet", content)


NT_EXAMPLES = [
    ("{'a': 1, 'b': {'c': [1, (2, 3)], 'd': 'x'}}",
     {"a": 1, "b": {"c": [1, (2, 3)], "d": "x"}}),
    ("{'dt': 0.1, 'n': -3, 'x': -1e-05, 'y': +2, 'z': 1_000}",
     {"dt": 0.1, "n": -3, "x": -1e-05, "y": 2, "z": 1000}),
    ("{'on': true, 'off': false, 'p': pi, 'n': None, 'b': True}",
     {"on": True, "off": False, "p": math.pi, "n": None, "b": True}),
    ("{'s': 'it\\'s', 't': \"q\\\"\", 'u': 'a\\nb', 'v': 'ab' 'cd', 'w': u'μ'}",
     {"s": "it's", "t": 'q"', "u": "a\nb", "v": "abcd", "w": "μ"}),
    ("{'t': (), 'one': (1,), 'l': [], 'nested': [[1, [2]], {'k': (3,)}]}",
     {"t": (), "one": (1,), "l": [], "nested": [[1, [2]], {"k": (3,)}]}),
    ("{'c': (1+2j), 'c2': (-0-1j), 'set': {1, 2}, 'empty': set(), 'b': b'x'}",
     {"c": 1 + 2j, "c2": -0 - 1j, "set": {1, 2}, "empty": set(), "b": b"x"}),
    ("{'a': 1, 'b': 0, 'a': 2}", {"a": 2, "b": 0}),
    ("{'a': 1 if 1 else 0}", None),
    ("{'lst': [{1: 'a', 1.0: 'b'}]}", {"lst": [{1: "b"}]}),
    ("{'a': {}, 'a.b': 1, 'a.c.d': 2}", None),  # a.c missing: KeyError in Sumatra
    ("{'a': {'c': {}}, 'a.b': 1, 'a.c.d': 2}", {"a": {"c": {"d": 2}, "b": 1}}),
    ("{'a': {'b': 1}, 'a.b': 2}", {"a": {"b": 2}}),
    ("{'a': [1], 'a.b': 2}", None),
    ("{'names': 1}", None),
    ("{'a': {'parameters': 1}}", None),
    ("{'a': [{'names': 1, 2: 3}]}", {"a": [{"names": 1, 2: 3}]}),
    ("{1: 2}", None),
    ("{'a': {(1, 2): 3}}", None),
    ("[1, 2]", None),
    ("[]", {}),
    ("0", {}),
    ("None", {}),
    ("''", {}),
    ("{}", {}),
    ("  \t{'a': 1}\n", {"a": 1}),
    ("{\n  'a': 1,  # comment\n  'b': [\n    2,\n  ],\n}", {"a": 1, "b": [2]}),
    ("{'x': 1e999, 'y': -1e999}", {"x": math.inf, "y": -math.inf}),
    ("{'x': 123456789012345678901234567890}", {"x": 123456789012345678901234567890}),
    ("", None),
    ("{'a': 1", None),
    ("{'a': [1, 2,]}", {"a": [1, 2]}),
    ("{'a': {[1]: 2}}", None),
    ("{'a': {[1], 2}}", None),
    ("{'a': -'x'}", None),
    ("{'a': not 1}", None),
    ("{'a': ~1}", None),
    ("{'a': ...}", None),
    ("{'a': Ellipsis}", None),
    ("{'a': ParameterRange([1, 2])}", None),
    ("{'a': url('http://example.com/p')}", None),
    ("{'a': ref('b')}", None),
    ("{'a': 1 + 2}", None),
    ("{**{'a': 1}}", None),
    ("{'a': [*()]}", None),
    ("{'a': frozenset()}", None),
    ("{'a': set([1])}", None),
]


@pytest.mark.parametrize("content,expected", NT_EXAMPLES)
def test_nt_examples(content, expected):
    if expected is None:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("NTParameterSet", content)
        return
    got = parse_parameter_content("NTParameterSet", content)
    assert same(got, expected), got


@pytest.mark.parametrize("content", [c for c, e in NT_EXAMPLES])
def test_nt_examples_agree_with_sumatra(content):
    """Each table row, against Sumatra's own reading (past the URL probe):
    the same value, or refused because reading it needs more than literals."""
    ok, theirs = outcome(nt_without_url_probe, content)
    mine_ok, mine = outcome(parse_parameter_content, "NTParameterSet", content)
    if mine_ok:
        assert ok and same(mine, theirs)
    else:
        assert isinstance(mine, UnreadableParameters)
        assert not ok or "not a literal" in str(mine), (content, theirs)


def test_nt_where_sumatra_itself_fails():
    """Contents Sumatra stores but cannot read back; smtql reads the literal."""
    # repr() writes inf/nan, which the eval namespace lacks (NameError)
    ps = sp.NTParameterSet({"tau": float("inf"), "lo": -math.inf, "x": [math.nan]})
    content = str(ps)
    with pytest.raises(NameError):
        to_sumatra("NTParameterSet", content)
    got = parse_parameter_content("NTParameterSet", content)
    assert got["tau"] == math.inf and got["lo"] == -math.inf and math.isnan(got["x"][0])
    # an empty set, or a '/' before the first ':', trips the URL probe
    for data in ({}, {"in/out": 1}):
        content = str(sp.NTParameterSet(data))
        with pytest.raises(ValueError, match="unknown url type"):
            to_sumatra("NTParameterSet", content)
        assert same(parse_parameter_content("NTParameterSet", content), data)
    # 'file://' anywhere makes Sumatra open (and eval) a local file
    content = str(sp.NTParameterSet({"data": "file:///nonexistent/x.dat"}))
    with pytest.raises(OSError):
        to_sumatra("NTParameterSet", content)
    assert parse_parameter_content("NTParameterSet", content) == {
        "data": "file:///nonexistent/x.dat"}


# ---------------------------------------------------------------- JSONParameterSet

json_scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
                | st.floats() | texts)


@SETTINGS
@given(top_dicts(nt_keys, json_scalars))
def test_json_differential(data):
    ps = sp.JSONParameterSet(json.dumps(data))
    content = str(ps)
    ours = parse_parameter_content("JSONParameterSet", content)
    assert same(ours, to_sumatra("JSONParameterSet", content))


@pytest.mark.parametrize("content,expected", [
    ('{"a": 1, "b": [1.5, "x", null, true], "c": {"d": {}}}',
     {"a": 1, "b": [1.5, "x", None, True], "c": {"d": {}}}),
    ('{"a": NaN, "b": -Infinity}', {"a": math.nan, "b": -math.inf}),
    ('{"a": 1, "a": 2}', {"a": 2}),
    ('{"μtilde": "\\u00e9"}', {"μtilde": "é"}),
    ("", {}),
    ("[1, 2]", [1, 2]),       # JSONParameterSet accepts any JSON value
    ("3", 3),
    ("{'a': 1}", None),
    ("{", None),
    ("[" * 100000 + "]" * 100000, None),
], ids=lambda c: repr(c[:40]) if isinstance(c, str) else None)
def test_json_examples(content, expected):
    if expected is None:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("JSONParameterSet", content)
        with pytest.raises(Exception):
            to_sumatra("JSONParameterSet", content)
        return
    got = parse_parameter_content("JSONParameterSet", content)
    assert same(got, expected)
    assert same(got, to_sumatra("JSONParameterSet", content))


# ---------------------------------------------------------------- YAMLParameterSet

yaml_scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
                | st.floats() | texts | st.dates()
                | st.datetimes(min_value=datetime.datetime(1900, 1, 1)))
yaml_keys = nt_keys | st.integers(-5, 5)


@YAML_SETTINGS
@given(top_dicts(yaml_keys, yaml_scalars, tuples=False))
def test_yaml_differential(data):
    ps = sp.YAMLParameterSet(yaml.safe_dump(data))
    content = str(ps)
    ours = parse_parameter_content("YAMLParameterSet", content)
    assert same(ours, to_sumatra("YAMLParameterSet", content))


YAML_TEXT = st.lists(st.sampled_from(
    list("ab01 -:,[]{}?&*!#'\"\n\t.|>%@`~") + ["yes", "no", "2020-01-02", "1:20",
                                               "!!set", "!!str", "0x1f", "null",
                                               "&x", "*x", "<<", "- ", ": "]),
    max_size=30).map("".join)


@YAML_SETTINGS
@given(YAML_TEXT)
@example("a: &x [1]\nb: *x\n")
@example("a: [1, 2\n")
@example("a:\n\t- 1\n")
# where libyaml and PyYAML disagree (found by fuzzing; smtql must follow PyYAML)
@example("a:\t1")
@example("? !")
@example("{a? }")
@example("a: 1\n\ufeff")
@example("a: 1\n\ufeffb: 2")
def test_yaml_text_differential(text):
    """Arbitrary YAML-ish text: where Sumatra (yaml.safe_load) reads a value
    smtql reads the same; where it cannot, neither can smtql (except the
    deeper nesting that only libyaml accepts, which this text cannot reach)."""
    ok, theirs = outcome(to_sumatra, "YAMLParameterSet", text)
    if ok:
        assert same(parse_parameter_content("YAMLParameterSet", text), theirs), text
    else:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("YAMLParameterSet", text)


def _tokens(loader, text):
    return [(type(t).__name__, t.start_mark.index, t.end_mark.index, getattr(t, "value", None))
            for t in yaml.scan(text, Loader=loader)]


def _scan(loader, text):
    ok, got = outcome(_tokens, loader, text)
    return ok, got if ok else (type(got).__name__, str(got))


@YAML_SETTINGS
@given(YAML_TEXT | st.lists(st.sampled_from(
    list("ab:-,[]{}?'\"# \n") + ["x" * 1010, "x" * 1030, "[" * 30, "{a: ", "? ", ": "]),
    max_size=40).map("".join))
@example("a: " + "[" * 30 + "b" * 1100 + "]" * 30)
@example("{" + "x" * 1010 + ": 1}")     # a simple key can be 1024 characters long
@example("[" + "x" * 1030 + ": 1]")
@example("[a\n: b]")
@example("a\nb: c")
def test_the_python_loaders_scanner_reads_as_pyyaml_does(text):
    """The scanner smtql's pure-Python loader uses, linear where PyYAML's is
    quadratic in the nesting depth, gives PyYAML's tokens and errors."""
    from smtql.params.parse import _get_yaml_loaders
    assert _scan(_get_yaml_loaders()[2], text) == _scan(yaml.SafeLoader, text)


@pytest.mark.parametrize("content,expected", [
    ("a: yes\nb: No\nc: on\nd: off\ne: ~\nf: null\n",
     {"a": True, "b": False, "c": True, "d": False, "e": None, "f": None}),
    ("d: 2020-09-12\nt: 2020-09-12 10:30:00\n",
     {"d": datetime.date(2020, 9, 12), "t": datetime.datetime(2020, 9, 12, 10, 30)}),
    ("a: 1:20\nb: 0x1f\nc: 0o17\nd: 017\ne: 1_000\nf: 1e3\ng: 1.0e3\nh: .inf\n",
     {"a": 80, "b": 31, "c": "0o17", "d": 15, "e": 1000, "f": "1e3", "g": "1.0e3",
      "h": math.inf}),   # PyYAML's YAML 1.1 floats need a dot and a signed exponent
    ("a: 1.0e+3\nb: 1.5e-3\nc: -.5\nd: -0.5\n",
     {"a": 1000.0, "b": 0.0015, "c": "-.5", "d": -0.5}),
    ("μtilde: -0.5\nlearning-rate: 1.0e-3\n", {"μtilde": -0.5, "learning-rate": 0.001}),
    ("a: !!python/tuple [1, 2]\nb: !!set {x: null}\n", {"a": (1, 2), "b": {"x"}}),
    ("a: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n", {"a": {"k": 1}, "b": {"k": 1, "j": 2}}),
    ("", {}),
    ("{}", {}),
    ("- 1\n- 2\n", None),
    ("just a string", None),
    ("# only a comment\n", None),
    ("a: [1, 2\n", None),
    ("a: !!python/object/apply:os.system [\"touch /tmp/pwned\"]\n", None),
    ("a: !!python/name:os.system\n", None),
    ("a: !!python/module:os\n", None),
    ("!!python/object/new:os.system [\"touch /tmp/pwned\"]\n", None),
    ("a: &x [*x]\n", None),
])
def test_yaml_examples(content, expected):
    if expected is None:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("YAMLParameterSet", content)
        return
    got = parse_parameter_content("YAMLParameterSet", content)
    assert same(got, expected)
    if "python/tuple" not in content:
        assert same(got, to_sumatra("YAMLParameterSet", content))


def test_yaml_deeper_than_pyyaml_can_read(monkeypatch):
    """PyYAML (Sumatra) hits the recursion limit at a nesting depth of about
    490; libyaml, used below a bounded depth, reads it: smtql gives a value
    where Sumatra raises RecursionError.  Deeper text goes to PyYAML and is
    refused, never to libyaml, which would overflow the C stack."""
    content = "a: " + "[" * 700 + "]" * 700 + "\n"
    # Python's default limit; other tests' libraries (IPython) may raise it.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(RecursionError):
            to_sumatra("YAMLParameterSet", content)
    finally:
        sys.setrecursionlimit(limit)
    got = parse_parameter_content("YAMLParameterSet", content)
    depth = 0
    node = got["a"]
    while node:
        node, depth = node[0], depth + 1
    assert depth == 699


def test_yaml_tuples_written_by_sumatra():
    """yaml.dump writes tuples (e.g. from `smt run p.yaml x='(1,2)'`) as
    !!python/tuple, which Sumatra's safe_load cannot read back; smtql can."""
    ps = sp.YAMLParameterSet("a: 1\n")
    ps.update({"x": (1, 2), "y": [(3, "s")]})
    content = str(ps)
    assert "!!python/tuple" in content
    with pytest.raises(SyntaxError):
        to_sumatra("YAMLParameterSet", content)
    assert same(parse_parameter_content("YAMLParameterSet", content),
                {"a": 1, "x": (1, 2), "y": [(3, "s")]})


def test_yaml_c_and_python_loaders_agree_on_dumped_text():
    from smtql.params import parse as paramparse
    _, c_loader, py_loader = paramparse._get_yaml_loaders()
    if c_loader is None:
        pytest.skip("PyYAML without libyaml")

    @YAML_SETTINGS
    @given(top_dicts(yaml_keys, yaml_scalars))
    def check(data):
        text = yaml.dump(data, indent=4)
        assert same(yaml.load(text, Loader=c_loader), yaml.load(text, Loader=py_loader))
    check()


# ---------------------------------------------------------------- SimpleParameterSet

simple_names = st.text(st.sampled_from(list("abxyz_-0123μé. ")), min_size=1, max_size=8).map(
    str.strip).filter(lambda s: s and not s.startswith("#"))
simple_values = (simple_scalars | st.just(math.inf) | st.just(-math.inf)
                 | st.lists(simple_scalars, max_size=3)
                 | st.lists(simple_scalars, max_size=3).map(tuple))


@SETTINGS
@given(st.dictionaries(simple_names, simple_values, max_size=6))
@example({"a": "x", "b": math.inf, "c": [1.0, -math.inf]})
def test_simple_differential(data):
    text = "\n".join("%s = %r" % (k, v) for k, v in data.items())
    made, ps = outcome(sp.SimpleParameterSet, text)
    assume(made)
    content = str(ps)
    ok, theirs = outcome(to_sumatra, "SimpleParameterSet", content)
    if ok:
        assert same(parse_parameter_content("SimpleParameterSet", content), theirs), content
    else:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("SimpleParameterSet", content)


# value expressions built from literals and names Sumatra's eval does not
# know (NameError -> raw text), plus a few it does (refused by smtql)
_atoms = st.sampled_from(["1", "-2", "2.5e-3", "-.5", "'s'", '"d"', "'it\\'s'", "True",
                          "None", "foo", "inf", "nan", "true", "x_y", "name", "POP_NONE",
                          "len", "()", "[]", "{}", "1j", "b'x'"])


def _exprs():
    return st.recursive(_atoms, lambda c: st.one_of(
        st.lists(c, max_size=3).map(lambda xs: "[%s]" % ", ".join(xs)),
        st.lists(c, min_size=1, max_size=3).map(lambda xs: "(%s,)" % ", ".join(xs)),
        st.lists(st.tuples(c, c), max_size=2).map(
            lambda kv: "{%s}" % ", ".join("%s: %s" % p for p in kv)),
        st.lists(c, min_size=1, max_size=2).map(lambda xs: "{%s}" % ", ".join(xs)),
        c.map(lambda x: "-" + x),
        st.tuples(c, st.sampled_from(["+", "-", "*", " if 1 else "]), c).map("".join),
        c.map(lambda x: x + ".real"),
        c.map(lambda x: x + "[0]"),
    ), max_leaves=6)


@SETTINGS
@given(st.lists(_exprs(), min_size=1, max_size=3),
       st.sampled_from(["", " ", "\t", "   "]))
@example(["foo"], " ")
@example(["[1, foo]"], "")
@example(["foo.bar"], " ")
@example(["'a', 'b'"], " ")
@example(["name"], " ")
def test_simple_value_differential(values, blank):
    content = "\n".join("k%d =%s%s" % (i, blank, v) for i, v in enumerate(values))
    ok, theirs = outcome(to_sumatra, "SimpleParameterSet", content)
    mine_ok, mine = outcome(parse_parameter_content, "SimpleParameterSet", content)
    if mine_ok:
        assert ok and same(mine, theirs), (content, mine, theirs)
    else:
        assert isinstance(mine, UnreadableParameters)
        # smtql refuses only what Sumatra cannot read either, or what needs
        # evaluation beyond literals (operators, attributes, known names)
        assert not ok or "not a literal" in str(mine), (content, mine, theirs)


@pytest.mark.parametrize("content,expected", [
    ('a = 1\nb = "x"\nc = 2.5\nd = True\ne = None\nf = [1, 2]\ng = (1, "y")',
     {"a": 1, "b": "x", "c": 2.5, "d": True, "e": None, "f": [1, 2], "g": (1, "y")}),
    ("# comment\n\n  x=  -3  # trailing\n", {"x": -3}),
    ("mode = fast", {"mode": " fast"}),            # NameError -> raw text
    ("t = inf\nu = [1.0, nan]", {"t": " inf", "u": " [1.0, nan]"}),
    ("a = true", {"a": " true"}),
    ("s = 'x=y'", {"s": "x=y"}),
    ('s = "a", "b"', {"s": "('a', 'b')"}),        # str() of the tuple
    ('s = "a\\nb"', {"s": "a\nb"}),
    ("dup = 1\ndup = 2", {"dup": 2}),
    ("", {}),
    ("a = {'k': 1}", None),       # a dict is not a simple value
    ("a = {1, 2}", None),
    ("a = 1j", None),
    ("a = 1 +", None),
    ("no equals sign", None),
    ('s = "x"y"', None),
    ("a = os", None),
    ("a = POP_NONE", None),
    ("a = name", None),
    ("a = __import__('os').system('touch /tmp/pwned')", None),
])
def test_simple_examples(content, expected):
    if expected is None:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("SimpleParameterSet", content)
        return
    got = parse_parameter_content("SimpleParameterSet", content)
    assert same(got, expected), got
    if "pwned" not in content:
        assert same(got, to_sumatra("SimpleParameterSet", content))


# ---------------------------------------------------------------- ConfigParserParameterSet

cfg_names = st.text(st.sampled_from(list("abcxyzAB_-μ")), min_size=1, max_size=5)
cfg_sections = st.text(st.sampled_from(list("abcxyzS_ -μ")), min_size=1, max_size=5).map(
    str.strip).filter(bool)
cfg_pieces = st.sampled_from(["x", "1", " ", "%%", "%", "%(a)s", "%(b)s", "%(A)s",
                              "%(zz)s", "%(a)d", "μ", "/p/q", "#", ";", "2.5"])
cfg_values = st.lists(cfg_pieces, max_size=4).map("".join)


@SETTINGS
@given(st.dictionaries(cfg_sections | st.just("DEFAULT"),
                       st.dictionaries(cfg_names, cfg_values, max_size=4),
                       max_size=3))
@example({"DEFAULT": {"a": "1"}, "s": {"b": "%(a)s/x", "c": "%%"}})
@example({"s": {"a": "%(b)s", "b": "%(a)s"}})
def test_configparser_differential(data):
    text = "".join("[%s]\n%s" % (s, "".join("%s = %s\n" % kv for kv in opts.items()))
                   for s, opts in data.items())
    made, ps = outcome(sp.ConfigParserParameterSet, text)
    assume(made)
    content = str(ps)
    ok, theirs = outcome(to_sumatra, "ConfigParserParameterSet", content)
    if ok:
        assert same(parse_parameter_content("ConfigParserParameterSet", content), theirs)
    else:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("ConfigParserParameterSet", content)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d", "B"]),
                       st.lists(st.sampled_from(["x", " ", "%%", "%(a)s", "%(b)s", "%(c)s",
                                                 "%(d)s", "%(D)s"]), max_size=4).map("".join),
                       max_size=5),
       st.dictionaries(st.sampled_from(["a", "c", "e"]), st.sampled_from(["1", "%(a)s%(a)s", "%%"]),
                       max_size=2))
def test_configparser_interpolation_differential(options, defaults):
    """References between options and DEFAULT, chains, cycles (too deep)."""
    text = "[DEFAULT]\n%s[s]\n%s" % (
        "".join("%s = %s\n" % kv for kv in defaults.items()),
        "".join("%s = %s\n" % kv for kv in options.items()))
    ok, theirs = outcome(to_sumatra, "ConfigParserParameterSet", text)
    if ok:
        assert same(parse_parameter_content("ConfigParserParameterSet", text), theirs)
    else:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("ConfigParserParameterSet", text)


@pytest.mark.parametrize("content,expected", [
    ("[sim]\ndt = 0.1\nn = 3\n", {"sim": {"dt": "0.1", "n": "3"}}),
    ("[DEFAULT]\nbase = /data\n[run]\npath = %(base)s/x\n",
     {"run": {"base": "/data", "path": "/data/x"}}),
    ("[a]\nKey = v\nmulti = one\n\ttwo\n", {"a": {"key": "v", "multi": "one\ntwo"}}),
    ("[a]\np = 50%%\n", {"a": {"p": "50%"}}),
    ("[a]\np = 50%\n", None),
    ("[a]\np = %(missing)s\n", None),
    ("[a]\nx = %(y)s\ny = %(x)s\n", None),
    ("no section\n", None),
    ("[a]\nx = 1\nx = 2\n", None),
    ("", {}),
])
def test_configparser_examples(content, expected):
    if expected is None:
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("ConfigParserParameterSet", content)
        with pytest.raises(Exception):
            to_sumatra("ConfigParserParameterSet", content)
        return
    got = parse_parameter_content("ConfigParserParameterSet", content)
    assert same(got, expected)
    assert same(got, to_sumatra("ConfigParserParameterSet", content))


def test_configparser_interpolation_bomb_is_refused_quickly():
    lines = ["[DEFAULT]", "x0 = " + "y" * 10]
    for i in range(1, 10):
        lines.append("x%d = %s" % (i, ("%%(x%d)s" % (i - 1)) * 64))
    lines.append("[s]")
    content = "\n".join(lines) + "\n"
    start = time.process_time()
    with pytest.raises(UnreadableParameters):
        parse_parameter_content("ConfigParserParameterSet", content)
    assert time.process_time() - start < 2.0


# ---------------------------------------------------------------- other types

@pytest.mark.parametrize("type_name,content,expected", [
    ("NoneType", "None", None),
    ("dict", "{}", {}),
    ("dict", "{'a': 1}", "{'a': 1}"),      # Django store: raw string, never eval'd
    ("SomethingElse", "anything", "anything"),
    ("", "None", None),
])
def test_fallbacks(type_name, content, expected):
    got = parse_parameter_content(type_name, content)
    assert same(got, expected)
    assert same(got, to_sumatra(type_name, content))


@pytest.mark.parametrize("type_name", ["ParameterSet", "Path", "os", "json", "build_parameters",
                                       "__class__", "__getattribute__", "POP_NONE"])
def test_non_parameter_set_attributes_are_refused(type_name):
    with pytest.raises(UnreadableParameters):
        parse_parameter_content(type_name, "x")


def test_hardcoded_sumatra_names_are_current():
    from smtql.params import parse as paramparse
    classes = set(paramparse._READERS)
    assert classes <= set(vars(sp))
    assert set(vars(sp)) - classes == paramparse._OTHER_SUMATRA_PARAMETERS_ATTRS
    import inspect
    src = inspect.getsource(sp.SimpleParameterSet._parse_parameter_from_line)
    assert "eval(value)" in src  # the locals our NameError rule assumes


def test_non_text_content():
    with pytest.raises(UnreadableParameters):
        parse_parameter_content("NTParameterSet", None)
    with pytest.raises(UnreadableParameters):
        parse_parameter_content("NTParameterSet", b"{}")


# ---------------------------------------------------------------- security

PWNED = "/tmp/pwned"

MALICIOUS_PY = [
    "__import__('os').system('touch /tmp/pwned')",
    "{'a': __import__('os').system('touch /tmp/pwned')}",
    "{'a': (lambda: 1)()}",
    "{'a': [x for x in ()]}",
    "{'a': {x: 1 for x in ()}}",
    "{'a': (x for x in ())}",
    "{'a': ().__class__.__bases__[0].__subclasses__()}",
    "{'a': os.system}",
    "{'a': f'{__import__(\"os\").system(\"touch /tmp/pwned\")}'}",
    "{'a': f'plain'}",
    "{'a': open('/tmp/pwned', 'w')}",
    "{'a': exec('import os')}",
    "{'a': (b := 1)}",
    "{'a': 10**10**10}",
    "{'a': 9**9**9**9}",
    "{'a': 'x' * 10**12}",
    "{'a': [1] * 10**12}",
    "{'a': 1 << 10**12}",
    "{'a': " + "-" * 100000 + "1}",
    "{'a': " + "[" * 100000 + "]" * 100000 + "}",
    "{'a': " + "(" * 5000 + ")" * 5000 + "}",
    "{'a': " + "not " * 100000 + "1}",
    "{'a': " + "1+" * 100000 + "1}",
    "{'a': x" + ".y" * 100000 + "}",
    "{'a': " + "9" * 100000 + "}",
    "{'a': '\0'}",
    "{'a': url('file:///etc/passwd')}",
    "{'a': ref('b')}",
    "{'a': ParameterRange([1, 2])}",
    "{'a': GammaDist(1, 2)}",
    "{'a': __builtins__}",
    "{'a': globals()}",
    "{'a': breakpoint()}",
    "{'a': 1 if __import__('os').system('touch /tmp/pwned') else 2}",
    "{'a': [1, 2][__import__('os').system('touch /tmp/pwned')]}",
    "{'a': {'b': -__import__('os').system('touch /tmp/pwned')}}",
    "{'a': (1+__import__('os').system('touch /tmp/pwned')j)}",
    "file:///etc/passwd",
    "http://127.0.0.1:9/params",
    "/etc/passwd",
]


@pytest.fixture
def no_pwned():
    existed = os.path.exists(PWNED)
    yield
    if not existed:
        assert not os.path.exists(PWNED), "a payload ran"


@pytest.mark.parametrize("content", MALICIOUS_PY, ids=lambda c: c[:50])
def test_malicious_python_is_refused(no_pwned, content):
    start = time.process_time()
    with pytest.raises(UnreadableParameters):
        parse_parameter_content("NTParameterSet", content)
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize("content", MALICIOUS_PY, ids=lambda c: c[:50])
def test_malicious_simple_values_are_refused_or_raw_text(no_pwned, content):
    """As a SimpleParameterSet value a payload is refused, or, where Sumatra's
    eval would stop at an undefined name first (`ref(...)`, `x.y`), kept as
    the raw text exactly as Sumatra keeps it; never evaluated."""
    content = "a = " + content
    start = time.process_time()
    try:
        got = parse_parameter_content("SimpleParameterSet", content)
    except UnreadableParameters:
        pass
    else:
        assert got == {"a": content[3:]}
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize("content", [
    "a: !!python/object/apply:os.system [\"touch /tmp/pwned\"]\n",
    "!!python/object/apply:os.system [\"touch /tmp/pwned\"]\n",
    "a: !!python/object/new:subprocess.Popen [[\"touch\", \"/tmp/pwned\"]]\n",
    "a: !!python/object:os.system {}\n",
    "a: !!python/name:os.system\n",
    "a: !!python/module:os\n",
    "a: !!python/complex 1+2j\n",
    "a: " + "[" * 100000 + "]" * 100000 + "\n",   # segfaults libyaml's composer
    "a:\n" + "- " * 100000 + "x\n",
    "a: " + "{b: " * 5000 + "1" + "}" * 5000 + "\n",
    "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        "%s: &%s [%s]\n" % (n, n, ", ".join(["*" + p] * 9))
        for p, n in zip("abcdefgh", "bcdefghi")),           # billion laughs
    "a: 1" + "0" * 100000 + "\n",
    "a: \0\n",
], ids=lambda c: repr(c[:40]))
def test_malicious_yaml_is_refused(no_pwned, content):
    start = time.process_time()
    with pytest.raises(UnreadableParameters):
        parse_parameter_content("YAMLParameterSet", content)
    assert time.process_time() - start < 5.0


def test_huge_float_literal_is_a_value_not_a_hang():
    assert parse_parameter_content("NTParameterSet", "{'a': 1e99999999}") == {"a": math.inf}
    assert parse_parameter_content("SimpleParameterSet", "a = -1e99999999") == {"a": -math.inf}


# ---------------------------------------------------------------- speed

def test_typical_nt_content_parses_fast():
    data = {"model": {"layer%d" % i: {"size": 128 * i, "μtilde": 0.5 / (i + 1),
                                      "activation": "relu", "dropout": (0.1, 0.2),
                                      "weights": [0.01 * j for j in range(6)]}
                      for i in range(14)},
            "seed": 42, "learning-rate": 1e-3, "name": "run 'x'"}
    content = str(sp.NTParameterSet(data))
    assert 1500 < len(content) < 4000
    assert parse_parameter_content("NTParameterSet", content) == data
    n = 200
    start = time.process_time()
    for _ in range(n):
        parse_parameter_content("NTParameterSet", content)
    per_call = (time.process_time() - start) / n
    assert per_call < 0.005, per_call   # ~0.3 ms on a laptop; generous for CI


def test_parsing_never_warns():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_parameter_content("NTParameterSet", "{'a': '\\d'}") == {"a": "\\d"}
        assert parse_parameter_content("SimpleParameterSet", "a = '\\d'") == {"a": "\\d"}
        with pytest.raises(UnreadableParameters):
            parse_parameter_content("NTParameterSet", "{'a': 1[0]}")
