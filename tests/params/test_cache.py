"""smtql/params/cache.py: the depth guard every parsed set goes through."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smtql.params import cache, parse


def depth(value) -> int:
    """Levels of containers in `value` (a leaf: 0), recursively."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, (list, tuple, set, frozenset)):
        return 1 + max(map(depth, value), default=0)
    return 0


hashable = st.recursive(st.integers(0, 3) | st.none(),
                        lambda c: st.tuples(c, c) | st.frozensets(c, max_size=3), max_leaves=6)
values = st.recursive(
    st.integers(0, 3) | st.text(max_size=2) | st.none(),
    lambda c: (st.lists(c, max_size=3) | st.lists(c, max_size=3).map(tuple)
               | st.dictionaries(st.text(max_size=2), c, max_size=3) | st.sets(hashable, max_size=3)),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(values, st.integers(0, 8))
def test_deeper_than_counts_container_levels(value, limit):
    assert parse.deeper_than(value, limit) == (depth(value) > limit)


def test_a_set_nested_too_deep_is_unreadable():
    text = "{'a': " + "[" * 120 + "]" * 120 + "}"
    got = cache.read("NTParameterSet", text)
    assert isinstance(got, cache.Unreadable) and "nested more than 100" in str(got)
    nested: list = []
    for _ in range(97):
        nested = [nested]
    assert cache.read("NTParameterSet", "{'a': " + "[" * 98 + "]" * 98 + "}") == {"a": nested}


def test_a_dotted_key_that_moves_a_value_too_deep_is_unreadable():
    # read as 100 levels; `a.b.c` puts its list under a and b: 102
    text = "{'a': {'b': {}}, 'a.b.c': " + "[" * 99 + "]" * 99 + "}"
    got = cache.read("NTParameterSet", text)
    assert isinstance(got, cache.Unreadable) and "nested more than 100" in str(got)
    text = "{'a': {'b': {}}, 'a.b.c': " + "[" * 97 + "]" * 97 + "}"  # 100
    assert not isinstance(cache.read("NTParameterSet", text), cache.Unreadable)
