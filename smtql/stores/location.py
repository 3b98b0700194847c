"""Where a store is (StoreLocation) and which of its projects to read: the
facts every backend and the registry share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import StoreError, closest, quoted_choices

SERVER_SCHEMES = ("postgres://", "postgresql://", "mysql://", "mariadb://")
DJANGO, SHELVE = "django", "shelve"
NOT_A_STORE = "{path} is not a Sumatra record store (an SQLite or shelve file)"


@dataclass(frozen=True)
class StoreLocation:
    kind: str  # DJANGO or SHELVE
    uri: str  # a file path, or a server URI
    project: str | None  # the project's name, when a project directory named it
    project_dir: Path | None = None
    notes: tuple[str, ...] = ()  # what the user should know about how it was found


def choose_project(location: StoreLocation, requested: str | None, available: list[str]) -> str:
    """--project if given, else the project directory's own, else the only
    one the store holds."""
    if requested:
        if requested not in available and available:
            near = closest(requested, available)
            raise StoreError(f"the store {location.uri} holds no project '{requested}' "
                             f"(it holds: {', '.join(sorted(available)) or 'none'})",
                             suggestion=quoted_choices(near) if near else None)
        return requested
    if location.project:
        return location.project
    if len(available) == 1:
        return available[0]
    if not available:
        # An empty store (Sumatra writes the project row with the first
        # record): no project, no records. Every answer is empty, not an error.
        return ""
    raise StoreError(f"the store {location.uri} holds several projects "
                     f"({', '.join(sorted(available))}); choose one with --project NAME")
