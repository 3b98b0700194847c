"""lark, imported without the third-party `regex` module.

lark imports `regex` whenever it is installed, to read Unicode categories
(`\\p{…}`) in grammars; smtql's grammar has none, and `regex` costs every
start-up 5-8 ms (a command-line answer is 200-300 ms in all). It is hidden
from lark's import only: imported later by anyone else, it loads as usual.
"""

from __future__ import annotations

import sys

if "lark" in sys.modules:  # imported before smtql (a notebook): as it is
    import lark
else:
    _hidden = "regex" not in sys.modules
    if _hidden:
        sys.modules["regex"] = None  # `import regex` raises ImportError
    try:
        import lark
        import lark.lark  # noqa: F401  both of lark's `import regex` are here
    finally:
        if _hidden:
            del sys.modules["regex"]

__all__ = ["lark"]
