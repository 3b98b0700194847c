"""What an answer should say about its question: tags and parameter keys
that no record has (with the closest that exist), and what the store could
not read."""

from __future__ import annotations

from typing import Iterator

from ..errors import closest, narrowed
from ..language import ast, fields
from ..plan.evaluate import tag_alternatives


def filter_notes(store, f, keys=()) -> list[str]:
    notes = _tag_notes(store, [t for t in walk(f, ast.HasTags) for t in t.tags])
    params = [c.key for c in walk(f, (ast.Compare, ast.Exists)) if isinstance(c.key, ast.Param)]
    params += [k for k in keys if isinstance(k, ast.Param) and k.path != ()]
    notes += _param_notes(store, params)
    notes += _label_notes(store, named_labels(f))
    notes += store.statement_notes()  # e.g. parameter sets it could not read
    return notes


def _tag_notes(store, tags) -> list[str]:
    if not tags:
        return []
    notes = []
    alternatives = [a for t in tags for a in tag_alternatives(t)]
    present = store.present_tags(alternatives)  # a cheap check first; all names only for hints
    names = None
    for tag in dict.fromkeys(tags):
        if not any(a in present for a in tag_alternatives(tag)):
            if names is None:
                names = sorted(store.tag_names())
            notes.append(_missing_tag_note(tag, names))
    return notes


def _missing_tag_note(tag: str, names) -> str:
    """What to say of a tag no record has: the closest tags other than the
    one typed (a status word is among the candidates, and must not suggest
    itself), and for a status word on a store without any status tag, why."""
    candidates = [t for t in dict.fromkeys(list(names) + list(fields.STATUS_WORDS)) if t != tag]
    near = closest(tag, candidates)
    note = f"no record has tag '{tag}'"
    if tag in fields.STATUS_WORDS:
        note += f" (nor the status tag {fields.status_tag(tag)})"
        if not any(is_status_tag(t) for t in names):
            note += "; this store holds no status tags at all, so status words match nothing"
    return note + (f"; closest: {', '.join(near)}" if near else "")


def is_status_tag(tag: str) -> bool:
    return len(tag) > 2 and tag.startswith("_") and tag.endswith("_")


def _param_notes(store, params) -> list[str]:
    notes, known = [], None
    for key in {p.path: p for p in params}.values():
        if store.has_param(key.path):
            continue
        if known is None:  # the vocabulary, only for suggestions
            known = store.param_keys()
        if key.dotted in known:
            continue
        near = closest(key.dotted, list(known), cutoff=0.5)
        field_near = closest(key.dotted, fields.FIELDS)
        hint = near + [f"{n} (a field)" for n in field_near]
        notes.append(f"no record has parameter '{key.dotted}'"
                     + (f"; closest: {', '.join(hint)}" if hint else ""))
    return notes


def named_labels(f) -> list[str]:
    """The labels a filter names outright (`label = "…"`, `label in […]`)."""
    labels = []
    for c in walk(f, ast.Compare):
        if c.key == ast.Field("label") and c.op in ("=", "in") and isinstance(c.value, ast.Const):
            value = c.value.value
            labels += [v for v in (value if isinstance(value, tuple) else (value,))
                       if isinstance(v, str)]
    return list(dict.fromkeys(labels))


# Missing labels named one by one, with the closest labels; past these,
# counted. Each suggestion compares the label with every label of the store:
# for all of `label in [10^5 labels]` that would be 10^5 times the store.
LABELS_SUGGESTED = 5


def _label_notes(store, labels) -> list[str]:
    """A label no record has is said as an unknown tag is, with the closest
    labels; the store is asked for these labels only, and for all of them
    only to suggest (for the first LABELS_SUGGESTED missing ones)."""
    if not labels:
        return []
    from ..plan import planner
    wanted = ast.Compare(ast.Field("label"), "in", ast.Const(tuple(labels)))
    found = {row.label for row in store.scan(planner.plan(wanted, store, fields=("label",)))}
    missing = [label for label in labels if label not in found]
    if not missing:
        return []
    every = [row.label for row in store.scan(planner.plan(ast.All(), store, fields=("label",)))]
    every = narrowed(missing[:LABELS_SUGGESTED], every)  # sorted once, not once a label
    notes = []
    for label in missing[:LABELS_SUGGESTED]:
        near = closest(label, every, cutoff=0.5)
        notes.append(f"no record has label '{label}'" + (f"; closest: {', '.join(near)}" if near else ""))
    more = len(missing) - LABELS_SUGGESTED
    if more > 0:
        notes.append(f"and {more:,} more label{'s' if more != 1 else ''} no record has")
    return notes


def walk(f, kinds) -> Iterator:
    """Every node of the filter of these kinds."""
    if isinstance(f, kinds):
        yield f
    for child in getattr(f, "items", ()):
        yield from walk(child, kinds)
    if isinstance(f, ast.Not):
        yield from walk(f.item, kinds)
