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
     "records": [{"label", "db_id", "added", "removed", "column_before", "column_after"}, …]}
    {"event": "commit", "id": "…"}        the write is in the store
    {"event": "abort", "id": "…"}         it was rolled back: nothing changed

`begin` is written (and fsynced) inside the store's transaction, before
the changes; `commit` after COMMIT. A `begin` with neither is a writer that
died in between: the next write or undo on the store (which holds the
journal's lock, so the writer is certainly gone) reads the records and
settles it as committed or aborted, and says so.

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

SUFFIX = ".smtql-journal.jsonl"


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
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # a line cut short by a crash: it never happened
                continue
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
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as err:
            raise StoreError(f"cannot write the undo journal {self.path}: {err.strerror or err}") \
                from None

    def begin(self, project: str, op: str, tags, statement: str, records: list,
              undoes: str | None = None) -> str:
        entry_id = uuid.uuid4().hex
        self._append({"event": "begin", "id": entry_id,
                      "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      "project": project, "op": op, "tags": list(tags), "statement": statement,
                      "undoes": undoes, "records": records})
        return entry_id

    def finish(self, entry_id: str, committed: bool) -> None:
        self._append({"event": "commit" if committed else "abort", "id": entry_id})

    def settle(self, project: str, current) -> list[str]:
        """Decide pending entries (writers that died mid-write) from the
        store's state: `current(labels)` gives {label: frozenset of tags}.
        Returns notes saying what was found."""
        notes = []
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
