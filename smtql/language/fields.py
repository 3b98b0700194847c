"""The record fields smtql knows, what kind of value each holds, and the
status words (LANGUAGE.md §2)."""

from __future__ import annotations

from dataclasses import dataclass

TEXT, TIME, DURATION, COUNT, PATHS, TAGS = "text", "time", "duration", "count", "paths", "tags"


@dataclass(frozen=True)
class FieldInfo:
    name: str
    kind: str
    nullable: bool = False  # only these can be null; null text reads as ""
    doc: str = ""


FIELDS: dict[str, FieldInfo] = {f.name: f for f in (
    FieldInfo("label", TEXT, doc="the record's label"),
    FieldInfo("timestamp", TIME, doc="when the run started (UTC)"),
    FieldInfo("reason", TEXT, doc="why the run was made"),
    FieldInfo("outcome", TEXT, doc="what came of it"),
    FieldInfo("main_file", TEXT, doc="the script that ran"),
    FieldInfo("version", TEXT, doc="the code version (commit)"),
    FieldInfo("user", TEXT, doc="who ran it"),
    FieldInfo("script_arguments", TEXT, doc="the command-line arguments"),
    FieldInfo("stdout_stderr", TEXT, doc="the captured output"),
    FieldInfo("duration", DURATION, nullable=True, doc="run time in seconds"),
    FieldInfo("outputs", COUNT, doc="the number of output files"),
    FieldInfo("outputpath", PATHS, doc="the paths of the output files"),
    FieldInfo("executable", TEXT, nullable=True, doc="the executable's path"),
    FieldInfo("repository", TEXT, nullable=True, doc="the repository's URL"),
    FieldInfo("tags", TAGS, doc="the record's tags"),
)}

ALIASES = {"script": "main_file", "task": "script_arguments", "stdout": "stdout_stderr"}

# What `show default` and a plain `find` show.
DEFAULT_COLUMNS = ("label", "timestamp", "tags", "reason", "outcome", "main_file", "duration")

# Sumatra 0.8.1 writes the first six (`Record.run`: `_initialized_`,
# `_pre_run_`, `_running_`, then `_finished_`, `_failed_` on a non-zero exit,
# `_killed_` on Ctrl-C); smttask writes `_crashed_`.
STATUS_WORDS = ("initialized", "pre_run", "running", "finished", "failed", "killed", "crashed")


def status_tag(word: str) -> str:
    """Sumatra's STATUS_FORMAT."""
    return f"_{word}_"


def tag_word(tag: str) -> str:
    """A tag as `tags` and `group by tag` show it: a status tag as its word."""
    if len(tag) > 2 and tag[0] == tag[-1] == "_" and tag[1:-1] in STATUS_WORDS:
        return tag[1:-1]
    return tag


def status_words(tags) -> list[str]:
    """The status words of a record's tags: Sumatra keeps one at a time, but
    a store may hold more (each is then a group of its own, like tags)."""
    return [w for w in STATUS_WORDS if status_tag(w) in tags]


def field_named(name: str) -> FieldInfo | None:
    return FIELDS.get(ALIASES.get(name, name))


_ORDERING = ("=", "!=", "<", "<=", ">", ">=", "in")
_TEXT_OPS = _ORDERING + ("contains", "startswith", "endswith", "matches")

# The operators each kind of field takes; parameters take them all.
OPERATORS = {
    TEXT: _TEXT_OPS,
    PATHS: _TEXT_OPS,
    TIME: _ORDERING,
    DURATION: _ORDERING + ("~=",),
    COUNT: _ORDERING + ("~=",),
    TAGS: ("=", "!=", "contains"),
}
