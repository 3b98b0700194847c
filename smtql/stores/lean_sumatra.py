"""Sumatra's `parameters` package, imported without SciPy's statistics.

Sumatra's records and record stores import the `parameters` package, whose
`parameters.random` imports scipy.stats when SciPy is installed (for the
random draws of GammaDist): 0.9 s of the 1.1 s that importing
sumatra.records takes, paid by every describe, diff, export and
`res.records`. smtql draws no random parameters, so `parameters` is
imported with scipy.stats hidden, and does without it as it does where
SciPy is absent (GammaDist.next then says SciPy was not found). Anything
importing scipy.stats afterwards gets it as usual; a `parameters` imported
before smtql is left as it is.
"""

from __future__ import annotations

import sys

_done = False


def load() -> None:
    """Import `parameters` as said above, once, before any Sumatra module
    that needs it."""
    global _done
    if _done:
        return
    _done = True
    if "parameters" in sys.modules or "scipy.stats" in sys.modules:
        return
    sys.modules["scipy.stats"] = None  # `import scipy.stats` raises ImportError
    try:
        import parameters  # noqa: F401
    except ImportError:
        pass  # Sumatra's own import says what is missing
    finally:
        if "scipy.stats" in sys.modules and sys.modules["scipy.stats"] is None:
            del sys.modules["scipy.stats"]
