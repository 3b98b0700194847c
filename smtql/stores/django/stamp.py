"""What an SQLite store file was like when smtql last found every record's
timestamp surely readable (Compiler.timestamp_check), kept beside the
parameter index: while the file is as it was, a new process need not test
every record's timestamp again (a scan of the store at each command: 45 ms
at 10^5 records, the most of a parameter count).

The stamp is the file's inode, size and modification time, and SQLite's
file change counter (header bytes 24-27, which every write transaction
bumps in rollback-journal mode). The reader compares it inside its read
transaction, after a read took SQLite's shared lock, so no write can land
between the comparison and the statement it spares. A store with a
write-ahead log (its `-wal` file present) is never stamped: a commit there
leaves the header as it was.
"""

from __future__ import annotations

import json
import os

from .paramindex import index_path

_HEADER = 28  # bytes of the SQLite header up to the file change counter's end


def stamp(path: str) -> list | None:
    """The file's stamp now, or None (a write-ahead log, no such file)."""
    path = os.fspath(path)
    if os.path.exists(path + "-wal"):
        return None
    try:
        status = os.stat(path)
        with open(path, "rb") as f:
            header = f.read(_HEADER)
    except OSError:
        return None
    if len(header) < _HEADER:
        return None
    return [status.st_ino, status.st_size, status.st_mtime_ns,
            int.from_bytes(header[24:28], "big")]


def _kept_at(uri: str):
    return index_path(uri).with_suffix(".sure")


def unchanged(uri: str, path: str) -> bool:
    """Whether the store is as it was when its timestamps were found sure."""
    now = stamp(path)
    if now is None:
        return False
    try:
        return json.loads(_kept_at(uri).read_text("utf-8")) == now
    except (OSError, ValueError):
        return False


def keep(uri: str, path: str) -> None:
    """Every timestamp of the store, as it is now, is surely readable."""
    now = stamp(path)
    if now is None:
        return
    target = _kept_at(uri)
    part = target.with_name(f"{target.name}.{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        part.write_text(json.dumps(now), "utf-8")
        os.replace(part, target)  # whole or not at all
    except OSError:
        pass  # an unwritable cache: tested again next time


def forget(uri: str) -> None:
    try:
        _kept_at(uri).unlink()
    except OSError:
        pass
