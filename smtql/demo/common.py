"""What every part of the demo builder shares: the project's name, the marker
file of a built demo, and its errors."""

from __future__ import annotations

import datetime as _dt
import pathlib

DEMO_PROJECT = "demo"

#: Marker written into every demo project; its presence is what allows a rebuild.
MARKER = pathlib.Path(".smt") / "smtql-demo.json"

_UTC = _dt.timezone.utc
_PACKAGE_PARENT = pathlib.Path(__file__).resolve().parents[2]  # the directory holding smtql/


class DemoError(RuntimeError):
    """The demo project could not be built."""


class NotADemoDirectory(DemoError, FileExistsError):
    """The target directory exists, is not empty, and is not an earlier demo project."""
