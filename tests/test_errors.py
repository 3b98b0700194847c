"""`closest` ("did you mean") over many candidates (smtql/errors.py): past
MANY_CANDIDATES it compares the word with its neighbours in sorted order,
by its start and by its end, and still finds a slip at either end; it
compares with far fewer than all of them."""

from __future__ import annotations

import difflib
import random

from smtql import errors


def labels(n: int) -> list[str]:
    rng = random.Random(3)
    return [f"2020{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}-"
            f"{rng.randrange(240000):06d}_{rng.getrandbits(24):06x}" for _ in range(n)]


def test_closest_finds_slips_at_either_end_among_many(monkeypatch):
    pool = labels(50_000)
    target = pool[1234]
    compared = []
    real = difflib.get_close_matches
    monkeypatch.setattr(difflib, "get_close_matches",
                        lambda word, possibilities, **kw: compared.append(len(possibilities))
                        or real(word, possibilities, **kw))
    assert errors.closest(target + "x", pool, cutoff=0.5)[0] == target  # a slip at the end
    assert errors.closest("1" + target[1:], pool, cutoff=0.5)[0] == target  # at the start
    assert errors.closest(target.upper(), pool)[0] == target  # case does not matter
    assert max(compared) <= errors.MANY_CANDIDATES * 2 < len(pool)


def test_few_candidates_are_all_compared():
    assert errors.narrowed(["x"], ["a", "b"]) == ["a", "b"]
    assert errors.closest("finsihed", ["finished", "failed", "figure1"]) == ["finished"]
