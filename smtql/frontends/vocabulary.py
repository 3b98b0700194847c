"""What the store offers for completion: its tags, parameter keys, labels
and the values of keys, loaded in a background thread so the prompt never
waits for them."""

from __future__ import annotations

import heapq
import threading
from collections import Counter

from ..language import fields

# How many labels and values the vocabulary keeps.
MAX_LABELS = 5000
MAX_VALUES = 40


class Vocabulary:
    """What the store offers for completion: tags, parameter keys, labels
    and the values of keys. Empty until `load` (or `start`) fills it; every
    part may be read while the loader runs."""

    def __init__(self):
        self.tags: Counter = Counter()
        self.param_keys: Counter = Counter()
        self.labels: list[str] = []  # newest first
        self.values: dict[str, Counter] = {}  # field name or dotted key -> literal text -> count
        self.ready = threading.Event()
        self.error: Exception | None = None
        self._children: dict[str, list[str]] | None = None

    @classmethod
    def of(cls, tags=(), param_keys=(), labels=(), values=None) -> "Vocabulary":
        """A vocabulary given outright (for tests and callers without a store)."""
        v = cls()
        v.tags = Counter(tags)
        v.param_keys = Counter(param_keys)
        v.labels = list(labels)
        v.values = {k: Counter(vs) for k, vs in (values or {}).items()}
        v.ready.set()
        return v

    def start(self, store, lock: threading.Lock | None = None) -> threading.Thread:
        """Load from `store` in a daemon thread; `lock` guards the store
        against queries running at the same time."""
        thread = threading.Thread(target=self.load, args=(store, lock), daemon=True,
                                  name="smtql-vocabulary")
        thread.start()
        return thread

    def load(self, store, lock: threading.Lock | None = None) -> None:
        lock = lock or threading.Lock()
        try:
            with lock:
                self.tags = store.tag_counts()
            with lock:
                self.param_keys = store.param_keys()
                self._children = None
            with lock:
                self._load_rows(store)
        except (Exception, KeyboardInterrupt) as err:  # noqa: BLE001 - completion must
            self.error = err  # never break the prompt (Ctrl-C stops its statement too)
        finally:
            self.ready.set()

    def _load_rows(self, store) -> None:
        """Labels and values from the newest MAX_LABELS records, one scan."""
        from ..language import ast
        from ..language.spelling import path_text
        from ..params.model import folded, leaves
        from ..plan.planner import Plan
        from ..language.unparse import literal_text

        text_fields = [f.name for f in fields.FIELDS.values()
                       if f.kind == fields.TEXT and f.name not in ("stdout_stderr", "label")]
        wanted = frozenset(["label", "timestamp", "params"] + text_fields)
        plan = Plan(ast.All(), ast.All(), ast.All(), wanted, ("latest", MAX_LABELS))
        rows = heapq.nlargest(MAX_LABELS, store.scan(plan), key=lambda r: (r.timestamp, r.label))
        values: dict[str, Counter] = {}

        def add(key, literal):
            counter = values.setdefault(key, Counter())
            if len(counter) < 4 * MAX_VALUES or literal in counter:
                counter[literal] += 1

        for row in rows:
            for name in text_fields:
                value = getattr(row, name, None)
                if value and "\n" not in value and len(value) <= 80:
                    add(name, literal_text(value))
            if isinstance(row.params, dict):
                for path, value in leaves(folded(row.params)):
                    literal = literal_text(value)
                    if len(literal) <= 80:
                        add(path_text(tuple(path)), literal)
        self.values = values
        self.labels = [r.label for r in rows]

    def children(self, prefix: tuple) -> list:
        """The next segments (as in a path: str, int, KeyLiteral) of the
        parameter keys under the path `prefix` (() for the top level), most
        common first."""
        if self._children is None:
            table: dict[tuple, Counter] = {}
            for key, n in self.param_keys.items():
                path = key_path(key)
                for i, seg in enumerate(path):
                    counter = table.setdefault(path[:i], Counter())
                    counter[seg] = max(counter[seg], n if i == len(path) - 1 else 0)
            self._children = {h: [s for s, _ in c.most_common()] for h, c in table.items()}
        return self._children.get(tuple(prefix), [])

    def has_children(self, path: tuple) -> bool:
        return bool(self.children(path))


def key_path(text: str) -> tuple:
    """The path a key as typed names (`params.status` → ('status',); the
    bare `params` → (), the top of the set); () if it is no key."""
    from ..errors import SmtqlError
    from ..language.parser import read_key
    if text in ("", "params"):
        return ()
    try:
        key = read_key(text)
    except SmtqlError:
        return ()
    return getattr(key, "path", (text,))
