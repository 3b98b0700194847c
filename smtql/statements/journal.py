"""The undo journal: every `tag`/`untag` (and every `undo`) smtql makes on a
store, so that `undo` can revert the last write exactly, once.

Where: next to a file store (`<store file>.smtql-journal.jsonl`, e.g.
`.smt/records.smtql-journal.jsonl`), and for a server store in the user's
data directory (platformdirs: `~/.local/share/smtql/journals/` on Linux,
one file per server and database; SMTQL_JOURNAL_DIR overrides the
directory for every store).

Format: JSON Lines, appended, one event per line:

    {"event": "begin", "id": "…", "time": "…", "project": "…", "op": "tag"|"untag"|"undo",
     "tags": [...], "statement": "…", "undoes": id|null,
     "records": {"labels": [...], "db_ids": [...], "change": [i, …],
                 "changes": [{"added", "removed", "column_before", "column_after"}, …],
                 "removed_items": [[[item id, db_id, tag], …] | null, …]},   (untag only)
     "new_tags": [...]}                  (only if the write made tag rows: Django stores)

`records` is stored by column: a write of 10^5 records makes few distinct
changes (records share their columns), so each record costs its label, its
id and the number of its change, not six keys (16 MB for 10^5 records
before, 3 MB now). Reading gives the records as dicts (label, db_id and the
change's keys), in their order; an entry of the earlier form (a list of
dicts) reads as it is.
    {"event": "commit", "id": "…"}        the write is in the store
    {"event": "abort", "id": "…"}         it was rolled back: nothing changed

`begin` is written (and fsynced) inside the store's transaction, before
the changes; `commit` after COMMIT. A `begin` with neither is a writer that
died in between: the next write or undo on the store (which holds the
journal's lock, so the writer is certainly gone) reads the records and
settles it as committed or aborted, and says so.

Whole entries: a line is only an entry if it parses and ends the file or a
newline follows it. An append that fails (a full disk) is cut back off the
file; one that was killed halfway leaves a torn tail, which the next write
ends with a newline (so the next entry is not glued onto it and lost) and
reports. A torn entry never hides a change to the store: a `begin` is
complete before the store changes, and a torn `commit`/`abort` leaves its
`begin` pending, to be settled from the store.

Undo semantics: `undo` reverts the most recent committed write (tag or
untag) on this store and project that has not been undone yet. An undo is
itself journalled (op "undo", `undoes` the write's id) but is not undoable:
a second `undo` reverts the write before that one, and so on back through
the journal; a write is never undone twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from ..errors import StoreError
from ..stores.faults import fault_point

SUFFIX = ".smtql-journal.jsonl"


class JournalWriteError(StoreError):
    """The journal could not take an entry (`reason`: why); raised before the
    store changes, or caught where the store already has."""

    def __init__(self, path, err: OSError):
        self.reason = err.strerror or str(err)
        super().__init__(f"cannot write the undo journal {path}: {self.reason}; nothing changed")


def journal_path(location: str, is_server: bool) -> Path:
    override = os.environ.get("SMTQL_JOURNAL_DIR")
    if is_server or override:
        if override:
            base = Path(override)
        else:
            import platformdirs
            base = Path(platformdirs.user_data_dir("smtql", appauthor=False)) / "journals"
        if is_server:
            u = urlparse(location)
            name = f"{u.scheme}-{u.hostname}-{u.port or ''}-{u.path.strip('/')}"
            key = f"{u.scheme}://{u.hostname}:{u.port}{u.path}"
        else:
            name, key = Path(location).name, str(Path(location).resolve())
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return base / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:8]}{SUFFIX}"
    return Path(str(location) + SUFFIX)


class Journal:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock_fh = None

    @contextmanager
    def locked(self):
        """Exclusive use of the journal (and so of smtql writes on the store)
        for the duration; released by the OS if the process dies."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(str(self.path) + ".lock", "a+")
        except OSError as err:
            raise StoreError(f"cannot write the undo journal {self.path}: {err.strerror or err}; "
                             "nothing changed") from None
        try:
            import fcntl
            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: no lock
            pass
        try:
            yield self
        finally:
            fh.close()

    # ------------------------------------------------------------------ reading
    def events(self) -> list[dict]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for line in data.split(b"\n"):
            event = _parse(line)
            if event is not None:
                if isinstance(event.get("records"), dict):
                    event["records"] = _expanded(event["records"])
                out.append(event)
        return out

    def entries(self, project: str | None = None) -> list[dict]:
        """Writes in order, each with its "state": committed, aborted or
        pending (no outcome recorded)."""
        entries, by_id = [], {}
        for ev in self.events():
            if ev.get("event") == "begin":
                ev = dict(ev, state="pending")
                by_id[ev["id"]] = ev
                entries.append(ev)
            elif ev.get("event") in ("commit", "abort") and ev.get("id") in by_id:
                by_id[ev["id"]]["state"] = "committed" if ev["event"] == "commit" else "aborted"
        return [e for e in entries if project is None or e.get("project") == project]

    def last_undoable(self, project: str) -> dict | None:
        entries = self.entries(project)
        undone = {e.get("undoes") for e in entries if e["op"] == "undo" and e["state"] == "committed"}
        for e in reversed(entries):
            if e["op"] != "undo" and e["state"] == "committed" and e["id"] not in undone:
                return e
        return None

    # ------------------------------------------------------------------ writing
    def _append(self, event: dict) -> None:
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            self._write(line.encode("utf-8"), f"journal-{event['event']}")
        except OSError as err:
            raise JournalWriteError(self.path, err) from None

    def _write(self, data: bytes, place: str) -> None:
        """Append `data` whole and fsync it, or leave the file as it was: a
        write that fails partway (a full disk) is cut back off."""
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            start = os.fstat(fd).st_size
            try:
                half = len(data) // 2
                _write_all(fd, data[:half])
                fault_point(place)  # tests: killed with half an entry in the file
                _write_all(fd, data[half:])
                os.fsync(fd)
            except BaseException:
                _cut_back(fd, start)
                raise
        finally:
            os.close(fd)
        if created:  # the new file's name on disk too, or a crash of the machine loses it
            _fsync_directory(self.path.parent)

    def seal(self) -> list[str]:
        """End a torn tail (an append killed halfway) with a newline, so the
        next entry starts a line of its own; a note saying so, if there was
        one. Called with the lock held: no append is under way."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                if fh.tell() == 0:
                    return []
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) == b"\n":
                    return []
                fh.seek(0)
                tail = fh.read().rsplit(b"\n", 1)[-1]
        except FileNotFoundError:
            return []
        try:
            self._write(b"\n", "journal-seal")
        except OSError as err:
            raise JournalWriteError(self.path, err) from None
        if _parse(tail) is not None:  # whole but for its newline
            return []
        return [f"the undo journal {self.path} ended in an entry cut short ({len(tail)} bytes; "
                "smtql was killed or the disk was full while writing it): it is skipped, and "
                "hid no change to the store"]

    def begin(self, project: str, op: str, tags, statement: str, records: list,
              undoes: str | None = None, new_tags=()) -> str:
        """`new_tags`: names the write gives a tag row (its undo deletes them
        again); recorded only when there are any."""
        entry_id = uuid.uuid4().hex
        event = {"event": "begin", "id": entry_id,
                 "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "project": project, "op": op, "tags": list(tags), "statement": statement,
                 "undoes": undoes, "records": _by_column(records)}
        if new_tags:
            event["new_tags"] = list(new_tags)
        self._append(event)
        return entry_id

    def finish(self, entry_id: str, committed: bool) -> None:
        self._append({"event": "commit" if committed else "abort", "id": entry_id})

    def settle(self, project: str, current) -> list[str]:
        """Decide pending entries (writers that died mid-write) from the
        store's state: `current(labels)` gives {label: frozenset of tags}.
        Returns notes saying what was found."""
        notes = self.seal()
        for e in self.entries(project):
            if e["state"] != "pending":
                continue
            labels = [r["label"] for r in e["records"]]
            now = current(labels)
            applied = all(set(r["added"]) <= now.get(r["label"], frozenset())
                          and not set(r["removed"]) & now.get(r["label"], frozenset())
                          for r in e["records"])
            self.finish(e["id"], applied)
            what = e["statement"] or e["op"]
            notes.append(f"an earlier write was interrupted ({what!s:.80}, {e['time']}): the store "
                         + ("shows it was applied in full" if applied
                            else "shows it was not applied; nothing had changed"))
        return notes


# Kept for each record, not folded into the shared changes: its label, its
# id, and the tag rows an untag deleted (with their ids, for an exact undo).
_PER_RECORD = ("label", "db_id", "removed_items")


def _by_column(records: list[dict]) -> dict:
    """The records as the journal stores them: labels, ids and the number
    of each record's change, the distinct changes once."""
    changes, index, numbers = [], {}, []
    for r in records:
        change = {k: v for k, v in r.items() if k not in _PER_RECORD}
        key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in change.items())
        if key not in index:
            index[key] = len(changes)
            changes.append(change)
        numbers.append(index[key])
    out = {"labels": [r["label"] for r in records], "db_ids": [r.get("db_id") for r in records],
           "change": numbers, "changes": changes}
    items = [r.get("removed_items") for r in records]
    if any(items):
        out["removed_items"] = items
    return out


def _expanded(stored: dict) -> list[dict]:
    """The records of `_by_column` as dicts again, in their order."""
    out = []
    items = stored.get("removed_items") or [None] * len(stored["labels"])
    for label, db_id, i, removed in zip(stored["labels"], stored["db_ids"], stored["change"],
                                        items):
        record = {"label": label, **stored["changes"][i]}
        if db_id is not None:
            record["db_id"] = db_id
        if removed:
            record["removed_items"] = removed
        out.append(record)
    return out


def _parse(line: bytes) -> dict | None:
    """The event on one line, or None for a blank or torn one."""
    if not line.strip():
        return None
    try:
        event = json.loads(line)
    except ValueError:  # cut short by a crash (also mid-character: UnicodeDecodeError)
        return None
    return event if isinstance(event, dict) else None


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _cut_back(fd: int, size: int) -> None:
    """Take a failed append's bytes off again (truncating frees space, so
    this works on a full disk); if even that fails, the next write's `seal`
    ends the torn tail."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        pass


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows: no directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse it
        pass
    finally:
        os.close(fd)
