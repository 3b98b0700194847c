"""Large parameter sets for the tests of linear reading and cutting (issue 16, item 12)."""

from __future__ import annotations

import random


def large_set(n_groups: int, seed: int = 1) -> dict:
    """A parameter set of `n_groups` groups (about 330 characters of repr
    each) mixing what real sets hold: nested dicts, lists of ints and
    floats, tuples, booleans, None, strings with quotes and newlines."""
    rng = random.Random(seed)
    return {f"g{i:06d}": {"name": f"layer{i}", "sizes": [rng.randint(1, 1000) for _ in range(8)],
                          "rate": rng.random(), "on": rng.random() < .5, "none": None,
                          "weights": [rng.gauss(0, 1) for _ in range(20)],
                          "tag": ("a", i, -1.5e-3),
                          "sub": {"x": i, "y": "it's \"q\"\n", "z": [1, [2, {"w": 3}]]}}
            for i in range(n_groups)}
