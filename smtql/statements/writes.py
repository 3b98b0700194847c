"""The write statements, `tag`, `untag` and `undo` (LANGUAGE.md §7): the
tag names checked as Sumatra would take them, the change planned from the
matched records, shown (dry run) or confirmed, applied in one transaction
by the store's writer, journalled, and answered with the count and the
inverse statement.

Writers: Sumatra's Django stores (SQLite, PostgreSQL, MariaDB), whichever
engine reads them, are written with SQL (stores/django_writes.py); shelve
stores through Sumatra's API (stores/sumatra_api.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

from ..language import ast, fields
from ..plan import planner
from ..errors import QueryError, SmtqlError, StoreError
from ..stores.django.schema import TAG_NAME_LENGTH
from .journal import Journal, JournalWriteError, journal_path
from .selection import sort_rows
from ..result import TextResult
from ..language.unparse import filter_text, selection_text, string_text, tag_text

# Sumatra's STATUS_PATTERN (sumatra.core) and the statuses `smt tag` knows.
STATUS_PATTERN = re.compile(r"_(([^.]*)(\.\.\.)?)_")
SUMATRA_STATUSES = ("initialized", "pre_run", "running", "finished", "failed", "killed",
                    "succeeded", "crashed")
SHOWN_LABELS = 5  # labels a confirmation or a dry run lists
FULL_INVERSE = 50  # inverse statements with up to this many labels are printed whole


class WriteRefused(QueryError):
    """A write refused before anything changed."""


@dataclass(frozen=True)
class Change:
    """What to do to one record: tags to add and remove (a no-op where the
    record already agrees); `restore`: (column now, column to put back) for
    an undo, used when the record's column is still what the write left;
    `items`: for an undo, the tagged-item rows the write deleted, as
    (id, db_id, name), put back with their ids."""

    label: str
    add: frozenset = frozenset()
    remove: frozenset = frozenset()
    restore: tuple | None = None
    items: tuple = ()


@dataclass
class Preview:
    """A planned write, as a confirmation prompt or a dry run shows it."""

    op: str  # tag, untag, undo
    tags: tuple
    statement: str
    matched: int
    labels: list[str]  # the records that change
    description: str  # "tag 3 records with figure1"
    # The records that change in the journal's form (label, added, removed),
    # made only when asked: only a dry run shows the inverse before the write.
    planned: Callable[[], list] = list

    @cached_property
    def inverse(self) -> str:
        return inverse_statement(self.planned())

    @property
    def count(self) -> int:
        return len(self.labels)

    def summary(self, shown: int = SHOWN_LABELS) -> str:
        head = ", ".join(self.labels[:shown])
        more = f", … ({self.count - shown} more)" if self.count > shown else ""
        return f"{self.description}: {head}{more}"


# ------------------------------------------------------------------ validation

def check_tag(tag: str, op: str) -> str | None:
    """Why smtql refuses to add or remove `tag`, or None."""
    shown = repr(tag)
    op = "add" if op == "tag" else "remove"
    if not tag:
        return "an empty tag name"
    if STATUS_PATTERN.match(tag) or (len(tag) >= 2 and tag.startswith("_") and tag.endswith("_")):
        return (f"{shown} is a Sumatra status tag (anything like `_…_` is): Sumatra sets "
                f"status tags as a run goes; smtql does not {op} them")
    if tag in fields.STATUS_WORDS or tag in SUMATRA_STATUSES:
        return (f"{shown} is a status word: `tag {tag}` means the status tag _{tag}_ in a "
                f"filter, so smtql does not {op} a tag of that name")
    if "," in tag:
        return f"{shown} contains a comma: Sumatra joins a record's tags with commas"
    if any(c.isspace() for c in tag):
        return f"{shown} contains white space: Sumatra would split it into several tags"
    if '"' in tag:
        return f"{shown} contains a double quote: Sumatra's tag parser reads quotes as grouping"
    if len(tag) > TAG_NAME_LENGTH:
        return (f"{shown:.60} is {len(tag)} characters long; Sumatra's tag names hold at most "
                f"{TAG_NAME_LENGTH}")
    return None


def validate(tags, op: str) -> None:
    for tag in tags:
        why = check_tag(tag, op)
        if why:
            raise WriteRefused(f"refused to {op} {tag!r:.60}: {why}; nothing changed")


# ------------------------------------------------------------------ text

def tags_text(tags) -> str:
    return ", ".join(tag_text(t) for t in tags)


def labels_list(labels) -> str:
    return "[" + ", ".join(string_text(x) for x in labels) + "]"


def inverse_statement(records: list[dict]) -> str:
    """The statement(s) that put back what `records` (journal form: label,
    added, removed) changed: one per distinct change."""
    groups: dict[tuple, list] = {}
    for r in records:
        if r["added"]:
            groups.setdefault(("untag", tuple(r["added"])), []).append(r["label"])
        if r["removed"]:
            groups.setdefault(("tag", tuple(r["removed"])), []).append(r["label"])
    return "; ".join(f"{op} {tags_text(tags)} where label in {labels_list(labels)}"
                     for (op, tags), labels in sorted(groups.items()))


def short_inverse(inverse: str, n_labels: int, undo: bool = True) -> str:
    """The inverse statement as printed: whole up to FULL_INVERSE labels;
    longer, its start and what to type instead."""
    if n_labels <= FULL_INVERSE:
        return inverse
    start = inverse[:200].rsplit(",", 1)[0]
    return start + f", …] ({n_labels} labels, too many to print" + (
        "; type `undo` to revert exactly this write)" if undo else ")")


# ------------------------------------------------------------------ writers

def is_server(uri: str) -> bool:
    from ..stores.location import SERVER_SCHEMES
    return uri.startswith(SERVER_SCHEMES)


def store_journal(store) -> Journal:
    return Journal(journal_path(store.location, is_server(store.location)))


class _Writer:
    """The store's writer and journal."""

    def __init__(self, store):
        self.store = store
        self.project = store.project
        self.backend = store.writer()
        self.apply = self.backend.apply
        self.current = self.backend.current
        self.journal = store_journal(store)

    def close(self):
        self.backend.close()
        self.store.refresh()


# ------------------------------------------------------------------ tag / untag

def run_tag_write(stmt: ast.TagWrite, ctx) -> TextResult:
    """`tag NAMES where FILTER`, `untag NAMES where FILTER`."""
    return ctx.refusals_located(stmt, _tag_write, stmt, ctx)


def _tag_write(stmt: ast.TagWrite, ctx) -> TextResult:
    op, tags = stmt.op, tuple(dict.fromkeys(stmt.tags))
    validate(tags, op)
    statement = f"{op} {tags_text(tags)} where {filter_text(stmt.filter)}{selection_text(stmt.select)}"
    # newest first (as previews list them), or in the selection's order
    rows = (ctx.select_where(stmt.filter, stmt.select, fields={"tags"}) if stmt.select
            else _selected_newest_first(ctx, stmt.filter))
    notes = ctx.notes(stmt.filter) if not rows else []
    if not rows:
        return TextResult(f"no record matches `{filter_text(stmt.filter)}`; nothing changed",
                          data=_data(op, tags, 0, 0, [], ""), notes=notes)
    wanted = frozenset(tags)
    changing = []
    for row in rows:
        after = (row.tags | wanted) if op == "tag" else (row.tags - wanted)
        if after != row.tags:
            changing.append((row, after))
    verb = "tagged" if op == "tag" else "untagged"
    if not changing:
        have = "already have" if op == "tag" else "do not have"
        return TextResult(f"0 records changed: the {len(rows)} matched record"
                          f"{'s' if len(rows) != 1 else ''} {have} {tags_text(tags)}",
                          data=_data(op, tags, len(rows), 0, [], ""))
    limit = ctx.store.tags_column_limit
    if limit is not None:
        too_long = [row.label for row, after in changing if len(",".join(after)) > limit]
        if too_long:
            raise WriteRefused(_too_long(too_long, limit))
    changes = [Change(row.label, add=wanted) if op == "tag" else Change(row.label, remove=wanted)
               for row, _ in changing]
    def planned():
        return [{"label": row.label, "added": sorted(after - row.tags),
                 "removed": sorted(row.tags - after)} for row, after in changing]
    preposition = "with" if op == "tag" else "from"
    description = (f"{op} {len(changing)} record{'s' if len(changing) != 1 else ''} "
                   f"{preposition} {tags_text(tags)}")
    preview = Preview(op, tags, statement, len(rows), [r.label for r, _ in changing],
                      description, planned)
    return _carry_out(ctx, preview, changes, verb, undoes=None)


def _selected_newest_first(ctx, f) -> list:
    """The rows the filter selects, newest first as previews list them
    (ordered by the store where it can: a Python sort of 10^5 rows costs
    more than the write)."""
    plan = planner.plan(f, ctx.store, fields={"tags"}, newest_first=True)
    rows = ctx.select_plan(plan)
    return rows if ctx.store.orders_newest_first else sort_rows(rows)


def _too_long(labels, limit: int) -> str:
    shown = ", ".join(labels[:SHOWN_LABELS]) + (f", … ({len(labels) - SHOWN_LABELS} more)"
                                                 if len(labels) > SHOWN_LABELS else "")
    return (f"refused: the tags of {len(labels)} record{'s' if len(labels) != 1 else ''} would "
            f"not fit Sumatra's tags column ({limit} characters): {shown}; "
            "nothing changed")


def _data(op, tags, matched, changed, labels, inverse, **more) -> dict:
    return {"op": op, "tags": list(tags), "matched": matched, "changed": changed,
            "labels": labels, "inverse": inverse, **more}


def _carry_out(ctx, preview: Preview, changes, verb, undoes,
               guard=None, drop_tags=()) -> TextResult:
    if ctx.dry_run:
        return TextResult(
            f"dry run: would {preview.summary()}\n"
            f"inverse: {short_inverse(preview.inverse, preview.count, preview.op != 'undo')}"
            "\nnothing changed",
            data=_data(preview.op, preview.tags, preview.matched, 0, preview.labels,
                       preview.inverse, dry_run=True))
    if ctx.confirm is not None and not ctx.confirm(preview):
        return TextResult("not confirmed; nothing changed",
                          data=_data(preview.op, preview.tags, preview.matched, 0, [], ""))
    writer = _Writer(ctx.store)
    try:
        return _apply(writer, preview, changes, verb, undoes, guard, drop_tags)
    finally:
        writer.close()


def _apply(writer, preview: Preview, changes, verb, undoes, guard, drop_tags) -> TextResult:
    journal = writer.journal
    with journal.locked():
        notes = journal.settle(writer.project, writer.current)
        if guard is not None:
            guard()
        state = {}

        def prepare(records, new_tags=()):
            limit = writer.store.tags_column_limit
            if limit is not None:
                over = [r["label"] for r in records if len(r["column_after"] or "") > limit]
                if over:
                    raise WriteRefused(_too_long(over, limit))
            state["id"] = journal.begin(writer.project, preview.op, preview.tags,
                                        preview.statement, records, undoes=undoes,
                                        new_tags=new_tags)

        def commit_hook(ok):
            if "id" in state and ok is not None:
                _record_outcome(journal, state["id"], ok, notes)

        # only an undo of a write that made tag rows (Django stores) drops them
        more = {"drop_tags": drop_tags} if drop_tags else {}
        try:
            done = writer.apply(changes, prepare, commit_hook, **more)
        except SmtqlError:
            raise
        except Exception as err:  # noqa: BLE001 - e.g. the test hook; always rolled back
            raise StoreError(f"the write failed ({type(err).__name__}: {err}); the transaction "
                             "was rolled back: nothing changed") from None
        if not done and undoes is not None and "id" not in state:
            # every record was changed back meanwhile: the write is undone all
            # the same, or each later `undo` would find it again, never the one before
            journal.finish(journal.begin(writer.project, preview.op, preview.tags,
                                         preview.statement, [], undoes=undoes), True)
    inverse = inverse_statement(done)
    labels = [r["label"] for r in done]
    n = len(done)
    if preview.op == "undo":
        text = f"undid `{preview.statement:.200}`: {n} record{'s' if n != 1 else ''} changed back"
    else:
        text = (f"{verb} {n} record{'s' if n != 1 else ''} "
                f"({'with' if preview.op == 'tag' else 'from'} {tags_text(preview.tags)})")
    if n < preview.count:
        text += f"; {preview.count - n} changed meanwhile and needed nothing"
    if n:
        text += f"\ninverse: {short_inverse(inverse, n, preview.op != 'undo')}"
        if preview.op != "undo":
            text += "\n(`undo` or `smtql undo` reverts it)"
    return TextResult(text, data=_data(preview.op, preview.tags, preview.matched, n, labels,
                                       inverse, journal=str(journal.path)),
                      notes=writer.store.statement_notes() + notes)


def _record_outcome(journal, entry_id: str, committed: bool, notes: list) -> None:
    """Journal the outcome; if the journal cannot take it (a full disk),
    the entry stays pending, which the next write or undo settles from the
    store: the write itself stands, so say so rather than fail it."""
    try:
        journal.finish(entry_id, committed)
    except JournalWriteError as err:
        if committed:
            notes.append(f"the write was made, but the undo journal {journal.path} could not "
                         f"record that it was ({err.reason}); the next write or `undo` on this "
                         "store will find it in the store and settle it")


# ------------------------------------------------------------------ undo

def run_undo(stmt: ast.Undo, ctx) -> TextResult:
    """`undo`: revert the last write not undone yet."""
    return ctx.refusals_located(stmt, _undo, ctx)


def _undo(ctx) -> TextResult:
    store = ctx.store
    journal = store_journal(store)
    if ctx.dry_run or not journal.path.exists():  # read only: no lock file
        notes, entry = [], journal.last_undoable(store.project)
    else:
        writer = _Writer(store)
        try:
            with journal.locked():
                notes = journal.settle(writer.project, writer.current)
                entry = journal.last_undoable(writer.project)
        finally:
            writer.close()
    if entry is None:
        return TextResult(f"nothing to undo: smtql has made no write on this store "
                          f"(project {store.project}) that is not undone already",
                          data={"op": "undo", "changed": 0},
                          notes=store.statement_notes() + notes)
    changes = [Change(r["label"], add=frozenset(r["removed"]), remove=frozenset(r["added"]),
                      restore=(r.get("column_after"), r.get("column_before"))
                      if "column_after" in r else None,
                      items=tuple(tuple(i) for i in r.get("removed_items", ())))
               for r in entry["records"]]
    n = len(changes)
    preview = Preview("undo", tuple(entry["tags"]), entry["statement"], n,
                      [c.label for c in changes],
                      f"undo `{entry['statement']:.200}` ({entry['time']}) on {n} "
                      f"record{'s' if n != 1 else ''}",
                      lambda: entry["records"])
    def guard():  # another undo may have taken this write meanwhile
        latest = journal.last_undoable(store.project)
        if latest is None or latest["id"] != entry["id"]:
            raise QueryError("the undo journal changed while this undo waited (another "
                             "write or undo ran); nothing changed: run `undo` again")

    result = _carry_out(ctx, preview, changes, "undid", undoes=entry["id"],
                        guard=guard, drop_tags=tuple(entry.get("new_tags", ())))
    result.notes[:0] = notes
    return result
