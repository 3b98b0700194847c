"""A persistent index of a Django store's parameter sets (DESIGN.md,
principle 3), kept outside the user's store.

Parsing every stored parameter set in every new process is what made
parameter predicates slow (10^5 sets: seconds; 10^6: minutes and gigabytes).
This index parses each set once per store, not once per process: an SQLite
file in the user's cache directory (`<cache>/smtql/index/<hash>.sqlite`,
or $SMTQL_INDEX_DIR), one per store location (a file store's real path; a
server's scheme, host, port and database, never its password). The
parameter-set table is store-wide (projects share it), so one index serves
every project of a store; counts per project come from the store.

What it holds, per set: its id, a hash of its stored text, whether smtql
could read it, and one row per node of the parsed value (`nodes`): the
node's path with every `inputs` segment left out (so a task-folded path and
the full path of the same node have the same key, see `canonical`), its kind
(number, big number, boolean, string, null, list, dict, other), and its
number or text; plus one row per scalar element of a list (`elem = 1`, for
`contains`). The task-folded key names a set has (what `keys` and
completion list) are kept per distinct shape.

What it answers: candidates. A parameter predicate becomes a query over the
nodes that returns every set that MAY satisfy it (a necessary bound:
`candidates`); the reader then parses just those sets and decides exactly,
so answers never depend on the index being clever, only on it being
complete. Completeness: a set the index has not seen is always a candidate
(sets newer than the index's newest, sets it could not index).

Keeping it up to date: Sumatra appends parameter sets with increasing ids
and never rewrites one. `refresh` (at the start of each read transaction
that needs parameters, within that transaction's snapshot) reads only the
sets added since; it detects a store whose sets were deleted or which was
rebuilt (fewer sets than indexed among the newest ids, or a different text
under the newest indexed id), and an index written by another smtql
version, and rebuilds. Sets committed out of id order (concurrent writers
on a server) are noticed by the same count and filled in. That count
covers the newest CHECK_WINDOW ids only, read by primary key: counting
every set is a full scan of the store's biggest table (0.6 s at 10^6 on
PostgreSQL) at every query. It is enough because Sumatra deletes sets only
when it empties the whole store (`delete_all`: caught by the text of the
newest set, and the count), and saves each set in a transaction of its
own (Django's autocommit), which commits moments after taking its id, not
after ten thousand later sets have. What the window cannot see: a set
whose transaction stayed open while CHECK_WINDOW later sets committed (it
would be missing from answers until `smtql index --rebuild`), and sets
deleted by hand below the window (harmless: no record names them).

Concurrency: several smtql processes may refresh one index at once. Each
change is one SQLite transaction taken with BEGIN IMMEDIATE (SQLite's own
lock on a local file), which re-reads the index's state before deciding
what to add, and the index is in WAL mode, so readers see a consistent
index while another process writes. A first build commits in batches, so
two builders share the work instead of repeating it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable
from urllib.parse import urlparse

from ...language import ast
from ...params import cache as paramcache
from ...params.model import Unreadable
from ...plan.values import is_list, is_number
from ...progress import progress
from ..base import parameter_key_names
from . import schema as S
from .schema import Sql

FORMAT = 3  # bump when the tables or what goes into them change
SEP = "\x1f"  # between the segments of a node's key
BATCH = 5000  # sets read from the store per statement while building
PARALLEL_FROM = 20000  # sets to index from which worker processes flatten them
MAX_WORKERS = 4
COMMIT_EVERY = 20000  # sets per index transaction while building
WAL_LIMIT = 16 * 2 ** 20  # bytes of write-ahead log kept after a checkpoint
CHECK_WINDOW = 10000  # newest set ids compared with the store at each refresh
LOCK_TIMEOUT = 600.0  # seconds a process waits for another one's index transaction
_EXACT = 2 ** 53

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS sets (id INTEGER PRIMARY KEY, hash TEXT NOT NULL,
    readable INTEGER NOT NULL, indexed INTEGER NOT NULL, exact INTEGER NOT NULL,
    reason TEXT, shape INTEGER);
CREATE TABLE IF NOT EXISTS paths (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS shapes (id INTEGER PRIMARY KEY, names TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS nodes (set_id INTEGER NOT NULL, path INTEGER NOT NULL,
    elem INTEGER NOT NULL, kind TEXT NOT NULL, num REAL, text TEXT);
"""
# Made once the sets are in (`_append`): building an index over a full
# table is several times faster than keeping it while rows go in.
_INDEXES = """
CREATE INDEX IF NOT EXISTS nodes_num ON nodes (path, elem, kind, num, set_id);
CREATE INDEX IF NOT EXISTS nodes_text ON nodes (path, elem, kind, text, set_id);
CREATE INDEX IF NOT EXISTS sets_unindexed ON sets (indexed) WHERE indexed = 0;
CREATE INDEX IF NOT EXISTS sets_inexact ON sets (exact) WHERE exact = 0;
CREATE INDEX IF NOT EXISTS sets_unreadable ON sets (readable) WHERE readable = 0;
"""
_TABLES = ("meta", "sets", "paths", "shapes", "nodes", "structures", "codes")
# Which shape each structure of set has (_Writer._shape_for), kept so that a
# fresh process indexing new sets does not work out the key names of every
# structure again (236 of 1,000 new sets at 10^6: a third of the CPU of
# bringing the index up to date). Made when missing: an index written
# before it was kept is still this format.
_STRUCTURES = "CREATE TABLE IF NOT EXISTS structures (sig TEXT PRIMARY KEY, shape INTEGER NOT NULL)"
# Each key's value codes, while the index stays as it was (ParamIndex._keep_codes).
_CODES = "CREATE TABLE IF NOT EXISTS codes (path TEXT PRIMARY KEY, state TEXT NOT NULL, data TEXT NOT NULL)"
SORT_THREADS = max(1, min(4, (os.cpu_count() or 2) - 1))  # SQLite's, beside the caller's
WRITE_CACHE = -32768  # KiB of page cache while writing (the default, 2 MB, rereads index pages)


def _script(conn, text: str) -> None:
    for statement in text.split(";"):
        if statement.strip():
            conn.execute(statement)


class IndexUnavailable(Exception):
    """The index cannot be kept (an unwritable cache directory, a lock held
    too long): the reader falls back to parsing in memory."""


# ------------------------------------------------------------------ where

def disabled_by_environment() -> bool:
    return os.environ.get("SMTQL_INDEX", "").strip().lower() in ("0", "off", "no", "false")


def index_dir() -> Path:
    override = os.environ.get("SMTQL_INDEX_DIR")
    if override:
        return Path(override)
    import platformdirs
    return Path(platformdirs.user_cache_dir("smtql")) / "index"


def identity(uri: str) -> str:
    """What names a store: a file's real path; a server's scheme, user,
    host, port and database (never the password)."""
    if "://" in uri and not uri.startswith("sqlite://"):
        u = urlparse(uri)
        scheme = {"postgresql": "postgres", "mariadb": "mysql"}.get(u.scheme, u.scheme)
        return f"{scheme}://{u.username or ''}@{u.hostname or ''}:{u.port or ''}{u.path}"
    path = uri[len("sqlite://"):] if uri.startswith("sqlite://") else uri
    return "file://" + os.path.realpath(path)


def index_path(uri: str) -> Path:
    digest = hashlib.sha256(identity(uri).encode("utf-8")).hexdigest()[:24]
    return index_dir() / f"{digest}.sqlite"


def _version() -> str:
    from ... import __version__
    return f"{FORMAT}/{__version__}"


# ------------------------------------------------------------------ keys and values

def canonical(segments: Iterable) -> str:
    """A node's key: its segments as text, `inputs` left out. A lookup that
    reaches a node (LANGUAGE.md §3, task folding) differs from the node's
    stored path only by `inputs` segments it skipped, so both have this key."""
    return SEP.join(str(s) for s in segments if s != "inputs")


def _typed(v):
    """(kind, num, text) of a value: n number (exactly a float), N another
    number (an integer beyond 2^53), b boolean, s string, S a string SQLite
    cannot hold as text, z null, l list, d dict, o anything else."""
    if isinstance(v, bool):
        return "b", int(v), None
    if isinstance(v, int):
        if abs(v) < _EXACT:
            return "n", float(v), None
        return "N", None, None
    if isinstance(v, float):
        return "n", (None if math.isnan(v) else v), None
    if isinstance(v, str):
        if v.isascii():  # most strings: no need to encode them to know
            return "s", None, v
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates
            return "S", None, None
        return "s", None, v
    if v is None:
        return "z", None, None
    if isinstance(v, dict):
        return "d", None, None
    if is_list(v):
        return "l", None, None
    return "o", None, None


def _nodes(value, parts: tuple, out: list, own_row: bool = True, sig: list | None = None) -> bool:
    """Append the node rows of `value` at `parts`; return whether the set
    is exact: every folded path (str segments, no `inputs`) reaches the
    only node with its key, so a node row answers for the set. Not exact:
    an `inputs` key in a dict that is not a task, a key that is not text
    or holds the separator, two nodes with one key (a task key shadowing
    one of its inputs)."""
    kind, num, text = _typed(value)
    key = SEP.join(parts)
    if own_row:  # a task's `inputs` dict has its task's key: no row of its own
        out.append((key, 0, kind, num, text))
    exact = True
    if kind == "d":
        task = "taskname" in value and isinstance(value.get("inputs"), dict)
        if sig is not None:
            sig.append((parts, own_row, task))
        for k, v in value.items():
            if not isinstance(k, str) or SEP in k:
                exact = False
                if sig is not None:
                    sig.append(None)  # key names of non-text keys: not shared
            if k == "inputs":
                exact &= task
                exact &= _nodes(v, parts, out, own_row=not task, sig=sig)
            else:
                exact &= _nodes(v, parts + (str(k),), out, sig=sig)
    elif sig is not None:
        if kind == "l" and any(isinstance(x, dict) for x in value):
            # walked by index (model.leaves): its elements' structure names keys
            sig.append((parts, _structure(value)))
        else:
            sig.append((parts, kind == "l"))
    if kind == "l":
        # Scalar elements, for `contains`. Paths into a list (`layers.0.x`)
        # are answered by the list's own node (see `_atom`).
        out += [(key, 1) + _typed(x) for x in value if not isinstance(x, (dict, list, tuple))]
    return exact


def _structure(value):
    """What the key names under a value depend on (model.folded, model.leaves):
    dict keys with their types, which dicts are tasks, list lengths, and the
    types of leaves; values themselves left out, so the sets of one sweep
    share it."""
    if isinstance(value, dict):
        return ("d",) + tuple((type(k).__name__, k, _structure(v)) for k, v in value.items())
    if is_list(value):
        return ("l",) + tuple(_structure(v) for v in value)
    return type(value).__name__


def content_hash(type_name, content) -> str:
    text = f"{type_name}\0{content}"
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


# ------------------------------------------------------------------ predicates → candidates

def _num(x):
    """x as an exact float, or None."""
    if isinstance(x, int) and abs(x) >= _EXACT:
        return None
    return float(x)


def _eq(x) -> tuple[str, list]:
    """A condition on a node row that every stored value equal to x meets
    (LANGUAGE.md §3: 1 = 1.0, booleans only booleans, tuples lists)."""
    if isinstance(x, bool):
        return "(kind = 'b' AND num = ?)", [int(x)]
    if is_number(x):
        if isinstance(x, int) and abs(x) >= _EXACT:
            try:
                f = float(x)
            except OverflowError:
                return "(kind = 'N')", []
            return "(kind = 'N' OR (kind = 'n' AND num = ?))", [f]
        if isinstance(x, float) and math.isnan(x):
            return "(1 = 0)", []
        if abs(x) < _EXACT:
            # A big number (kind N, beyond 2^53) never equals it: without
            # that alternative the lookup is one range of the index.
            return "(kind = 'n' AND num = ?)", [float(x)]
        return "(kind IN ('n', 'N') AND (kind = 'N' OR num = ?))", [float(x)]
    if isinstance(x, str):
        if _typed(x)[0] == "S":
            return "(kind = 'S')", []
        # A string SQLite cannot hold (kind S, lone surrogates) never
        # equals one it can.
        return "(kind = 's' AND text = ?)", [x]
    if x is None:
        return "(kind = 'z')", []
    if is_list(x):
        return "(kind = 'l')", []
    return "(1 = 1)", []


def _surely_eq(x) -> tuple[str, list] | None:
    """A condition on a node row under which its value equals x for certain
    (for `!=`), or None."""
    if isinstance(x, bool):
        return "(kind = 'b' AND num = ?)", [int(x)]
    if is_number(x):
        f = _num(x)
        if f is None or math.isnan(f):
            return None
        return "(kind = 'n' AND num = ?)", [f]  # the same text as _eq: one query serves both
    if isinstance(x, str) and _typed(x)[0] == "s":
        return "(kind = 's' AND text = ?)", [x]
    if x is None:
        return "(kind = 'z')", []
    return None


# `IN` over many plain numbers or texts: one JSON array bound as one
# parameter, so 10^5 values are one condition (not 10^5 ORs, past SQLite's
# expression depth of 1000, nor 10^5 bound parameters).
_IN_JSON = "IN (SELECT value FROM json_each(?))"
_NUMS = {False: f"(kind IN ('n', 'N') AND (kind = 'N' OR num {_IN_JSON}))",
         True: f"(kind = 'n' AND num IS NOT NULL AND num {_IN_JSON})"}
_TEXTS = {False: f"(kind = 'S' OR (kind = 's' AND text {_IN_JSON}))",
          True: f"(kind = 's' AND text {_IN_JSON})"}


def _one_of(values: tuple, sure: bool) -> tuple[str, list] | None:
    """The condition on a node row for `value in values`: that it may hold
    (`_eq` of each), or, `sure`, that it holds for certain (`_surely_eq`;
    None: never certain). Plain numbers and texts go as JSON arrays; the
    few other values (booleans, null, huge integers, lists) one by one."""
    nums, texts, rest = [], [], {}
    for v in values:
        f = _num(v) if is_number(v) and not isinstance(v, bool) else None
        if f is not None and math.isfinite(f):
            nums.append(f)
        elif isinstance(v, str) and _typed(v)[0] == "s":
            texts.append(v)
        else:
            part = (_surely_eq if sure else _eq)(v)
            if part is not None:
                rest[repr(part)] = part
    parts = list(rest.values())
    if nums:
        parts.append((_NUMS[sure], [json.dumps(nums)]))
    if texts:
        parts.append((_TEXTS[sure], [json.dumps(texts)]))
    if not parts:
        return None if sure else ("(1 = 0)", [])
    return ("elem = 0 AND (" + " OR ".join(c for c, _ in parts) + ")",
            [v for _, p in parts for v in p])


def _value_cond(op: str, x) -> tuple[str, list]:
    """The condition a set's node rows at the key must meet (one of them)
    for `value OP x` to possibly hold."""
    node = "elem = 0"
    if op == "=":
        c, p = _eq(x)
        return f"{node} AND {c}", p
    if op == "in":
        if not isinstance(x, tuple):
            return node, []
        return _one_of(x, sure=False)
    if op == "!=":
        sure = _surely_eq(x)
        if sure is None:
            return node, []
        return f"{node} AND NOT COALESCE({sure[0]}, 0)", sure[1]
    if op in ("<", "<=", ">", ">="):
        if is_number(x):
            f = _num(x)
            if f is None:
                return f"{node} AND kind IN ('n', 'N', 'l')", []
            return f"{node} AND ((kind = 'n' AND num {op} ?) OR kind IN ('N', 'l'))", [f]
        if isinstance(x, str) and _typed(x)[0] == "s":
            return f"{node} AND ((kind = 's' AND text {op} ?) OR kind IN ('S', 'l'))", [x]
        if isinstance(x, str):
            return f"{node} AND kind IN ('s', 'S', 'l')", []
        if isinstance(x, bool) or x is None:
            return f"{node} AND kind = 'l'", []  # never holds, but lists are the only doubt
        return f"{node} AND kind IN ('o', 'l')", []
    if op == "~=":
        if is_number(x):
            f = _num(x)
            if f is None or not math.isfinite(f):
                return f"{node} AND kind IN ('n', 'N', 'l')", []
            t = 2 * (1e-8 + 1e-5 * abs(f))  # twice NumPy's tolerance: a bound
            return (f"{node} AND ((kind = 'n' AND num BETWEEN ? AND ?) OR kind IN ('N', 'l'))",
                    [f - t, f + t])
        return f"{node} AND kind = 'l'", []
    if op == "contains":
        if isinstance(x, str) and _typed(x)[0] == "s":
            c, p = _eq(x)
            return ("((elem = 0 AND (kind = 'S' OR (kind = 's' AND instr(text, ?) > 0))) "
                    f"OR (elem = 1 AND {c}))", [x] + p)
        if is_list(x) or not (isinstance(x, (str, bool, int, float)) or x is None):
            return f"{node} AND kind = 'l'", []  # list elements that are lists
        c, p = _eq(x)
        return f"(elem = 1 AND {c}) OR (elem = 0 AND kind = 'S')", p
    if op in ("startswith", "endswith", "matches"):
        return f"{node} AND kind IN ('s', 'S')", []
    return node, []


def _sure_cond(op: str, x) -> tuple[str, list] | None:
    """The condition on a node row under which `value OP x` holds for
    certain, in an exact set (see `_nodes`); None: never certain here."""
    node = "elem = 0"
    if op == "=":
        sure = _surely_eq(x)
        return None if sure is None else (f"{node} AND {sure[0]}", sure[1])
    if op == "in":
        if not isinstance(x, tuple):
            return None
        return _one_of(x, sure=True)
    if op == "!=":  # a value that cannot equal x
        c, p = _eq(x)
        return f"{node} AND NOT COALESCE({c}, 0)", p
    if op in ("<", "<=", ">", ">="):
        if is_number(x):
            f = _num(x)
            if f is None:
                return None
            return f"{node} AND kind = 'n' AND num {op} ?", [f]
        if isinstance(x, str) and _typed(x)[0] == "s":
            return f"{node} AND kind = 's' AND text {op} ?", [x]
        return None
    if op == "contains":
        if isinstance(x, str) and _typed(x)[0] == "s":
            return ("((elem = 0 AND kind = 's' AND instr(text, ?) > 0) "
                    "OR (elem = 1 AND kind = 's' AND text = ?))", [x, x])
        if isinstance(x, (bool, int, float)) or x is None:
            sure = _surely_eq(x)
            return None if sure is None else (f"elem = 1 AND {sure[0]}", sure[1])
        return None
    return None


def _atom(f, db: str):
    """(candidates, sure) for one parameter predicate, each a SELECT of set
    ids or None (sure: none): candidates are every set with a node at the
    key meeting the condition (a path with a number segment, a list index
    or a dict key written as a number, or a `[true]` key, is cut before it: the node there
    exists in every set that may have the whole path); sure are the sets
    that satisfy it for certain if they are exact (`_nodes`), asked only
    for a folded path (text segments, no `inputs`)."""
    segments = []
    cut = False
    for s in f.key.path:
        if not isinstance(s, str):  # a number segment, or a key that is not text (`[true]`)
            cut = True
            break
        segments.append(s)
    key = canonical(segments)
    base = f"SELECT set_id FROM {db}nodes WHERE path = (SELECT id FROM {db}paths WHERE key = ?) AND "
    # An empty segment has no sure answer: the key `` (the text '') at the
    # top has the root's node key, ''.
    folded = not cut and "inputs" not in segments and all(
        s and SEP not in s for s in segments)
    if isinstance(f, ast.Exists):
        maybe = (base + "elem = 0", [key])
        return maybe, maybe if folded else None
    if cut:
        return (base + "elem = 0", [key]), None
    cond, params = _value_cond(f.op, f.value.value)
    maybe = (base + "(" + cond + ")", [key] + params)
    sure = _sure_cond(f.op, f.value.value) if folded else None
    return maybe, None if sure is None else (base + "(" + sure[0] + ")", [key] + sure[1])


# SQLite takes at most 500 SELECTs in one compound (SQLITE_MAX_COMPOUND_SELECT):
# more are combined in groups, each group one SELECT of the next level.
_COMPOUND = 400


def _combine(word: str, parts) -> tuple[str, list]:
    """One compound SELECT of the parts' set ids, in order of id: each part
    reads its ids in that order from an index (path, elem, kind, value,
    set_id), and a compound ordered so is merged, where one unordered
    builds a temporary B-tree of a side's ids (twice the time, at 10^5
    sets). So a compound ends in ORDER BY: put it in parentheses before
    adding to it."""
    parts = list(parts)
    while len(parts) > _COMPOUND:
        parts = [_combine(word, parts[i:i + _COMPOUND]) for i in range(0, len(parts), _COMPOUND)]
    return (word.join(f"SELECT set_id FROM ({s})" for s, _ in parts) + " ORDER BY 1",
            [v for _, p in parts for v in p])


def candidate_sql(f, db: str = ""):
    """(candidates, sure) for f (parameter predicates under and/or): two
    queries of set ids, or None (candidates: every set may; sure: none is
    certain). Sure holds only for exact sets: see ParamIndex.candidates.
    `db`: the schema the index's tables are in ("smtql_index." when it is
    ATTACHed to an SQLite store's connection), with its dot."""
    if isinstance(f, (ast.Compare, ast.Exists)) and isinstance(f.key, ast.Param):
        return _atom(f, db)
    if isinstance(f, (ast.And, ast.Or)):
        parts = [candidate_sql(i, db) for i in f.items]
        maybes = [m for m, _ in parts]
        sures = [s for _, s in parts]
        if isinstance(f, ast.And):
            known = [m for m in maybes if m is not None]
            maybe = _combine(" INTERSECT ", known) if known else None
            sure = _combine(" INTERSECT ", sures) if all(s is not None for s in sures) else None
        else:
            maybe = None if any(m is None for m in maybes) else _combine(" UNION ", maybes)
            known = [s for s in sures if s is not None]
            sure = _combine(" UNION ", known) if known else None
        return maybe, sure
    return None, None  # not: its complement is no bound; anything else: unknown


def _ids(conn, text: str, params, limit: int | None) -> list[int]:
    """The distinct set ids a SELECT of them reads (a single predicate can
    match a set at several list elements), at most `limit`."""
    more = f" LIMIT {int(limit)}" if limit is not None else ""
    return list(dict.fromkeys(r[0] for r in conn.execute(text + more, params)))


# ------------------------------------------------------------------ the index

class ParamIndex:
    """The index file of one store. Methods taking `qy` read the store
    through that read transaction (smtql.stores.django.reader.Query)."""

    def __init__(self, uri: str, path: Path | None = None):
        self.uri = uri
        self.identity = identity(uri)
        self.path = Path(path) if path is not None else index_path(uri)
        self.conn: sqlite3.Connection | None = None
        self.built_now = 0  # sets this process added (tests, `index --status`)
        self.rebuilt = False

    # -- opening
    def open(self) -> "ParamIndex":
        if self.conn is not None:
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=LOCK_TIMEOUT, isolation_level=None,
                                   check_same_thread=False)
            self.conn = conn
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # A first build writes the whole index through the log: cut it
            # back after each checkpoint rather than keep it at that size.
            conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
            if not self._valid():
                self._write(self._recreate_if_invalid)
        except (OSError, sqlite3.Error) as err:
            self.close()
            raise IndexUnavailable(f"{self.path.parent}: {type(err).__name__}: {err}") from None
        return self

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass
            self.conn = None

    def _meta(self) -> dict:
        try:
            return dict(self.conn.execute("SELECT key, value FROM meta"))
        except sqlite3.OperationalError:  # no table yet
            return {}

    def _valid(self) -> bool:
        meta = self._meta()
        return meta.get("version") == _version() and meta.get("identity") == self.identity

    def _write(self, fn):
        """fn() in one write transaction (BEGIN IMMEDIATE: SQLite's lock,
        waited for up to LOCK_TIMEOUT)."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            out = fn()
            c.execute("COMMIT")
            return out
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    def _recreate_if_invalid(self) -> None:
        if not self._valid():  # looked at again under the lock
            self._recreate()

    def _recreate(self) -> None:
        """Empty tables of this version, dropping whatever was there (another
        version's tables too), inside the caller's write transaction: a
        reader sees the old index or the new one, never half."""
        c = self.conn
        for t in _TABLES:
            c.execute(f"DROP TABLE IF EXISTS {t}")
        _script(c, _SCHEMA)
        c.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("version", _version()), ("identity", self.identity), ("max_id", "0"),
            ("count", "0"), ("built", str(time.time()))])
        self.rebuilt = True

    def drop(self) -> None:
        """The index and what is kept beside it for the store (its `-wal`
        and `-shm`, stamp.py's `.sure`): every file named as it is."""
        self.close()
        for kept in self.path.parent.glob(self.path.stem + ".*"):
            try:
                kept.unlink()
            except FileNotFoundError:
                pass

    # -- state
    def state(self) -> tuple[int, int]:
        """(newest set id indexed, number of sets indexed)."""
        meta = self._meta()
        return int(meta.get("max_id", 0)), int(meta.get("count", 0))

    def status(self) -> dict:
        meta = self._meta()
        max_id, count = self.state()
        unreadable = self.conn.execute("SELECT COUNT(*) FROM sets WHERE readable = 0").fetchone()[0]
        size = sum(os.path.getsize(str(self.path) + s) for s in ("", "-wal")
                   if os.path.exists(str(self.path) + s))
        return {"index": str(self.path), "store": self.identity, "version": meta.get("version"),
                "sets": count, "newest set id": max_id, "unreadable sets": unreadable,
                "bytes": size}

    # -- keeping up with the store
    def refresh(self, qy) -> None:
        """Bring the index up to date with what the read transaction `qy`
        sees: add the sets new since, rebuild when the store's sets are not
        the ones indexed. Cheap when nothing changed: one statement (the
        store's newest id, its count and text at the index's newest)."""
        decision = self._decide(qy)
        if decision[0] == "ok":
            return
        total = decision[2] - decision[1] if decision[0] == "append" else None
        flattener = _flattener(total)
        try:
            with progress(total=total, description="indexing parameter sets") as bar:
                # Each step is one transaction that decides again under the
                # lock: another process may have done the work meanwhile.
                while not self._write(lambda: self._step(qy, bar, flattener)):
                    pass
        finally:
            flattener.close()

    def _step(self, qy, bar, flattener) -> bool:
        """One step of a refresh, in a write transaction; True when done."""
        if not self._valid():
            self._recreate()
        decision = self._decide(qy)
        kind = decision[0]
        if kind == "ok":
            return True
        if kind == "rebuild":
            self._recreate()
            return False
        if kind == "fill":
            try:
                self._fill(qy, decision[1])
            except _Rebuild:
                self._recreate()
            return False
        return self._append(qy, decision[1], decision[2], bar, flattener)

    def _decide(self, qy):
        max_id, count = self.state()
        store_max, n_store, kind, content = self._store_facts(qy, max_id)
        if store_max is None:
            return ("rebuild",) if count else ("ok",)
        if count:
            m = min(max_id, store_max)
            if m != max_id:  # the transaction's view is older than the index
                _, n_store, kind, content = self._store_facts(qy, m)
            n_index = self.conn.execute("SELECT COUNT(*) FROM sets WHERE id > ? AND id <= ?",
                                        (_window(m), m)).fetchone()[0]
            known = self.conn.execute("SELECT hash FROM sets WHERE id = ?", (m,)).fetchone()
            if n_store < n_index or (known and kind is not None
                                     and known[0] != content_hash(kind, _text(content))):
                return ("rebuild",)
            if n_store > n_index:
                return ("fill", m)
        if store_max > max_id:
            return ("append", max_id, store_max)
        return ("ok",)

    def _store_facts(self, qy, m: int):
        """(the store's newest set id, how many sets it has among the ids
        of CHECK_WINDOW up to m, and the type and text of set m), in one
        statement, each part read by primary key; asked once per
        transaction and m (the view of a transaction does not change)."""
        memo = qy.__dict__.setdefault("_index_facts", {})
        if m not in memo:
            P = S.PARAMETERSET.name
            row = qy.run(Sql(f"SELECT (SELECT MAX(id) FROM {P}), "
                             f"(SELECT COUNT(*) FROM {P} WHERE id > ? AND id <= ?), "
                             f"(SELECT {qy.dialect.q('type')} FROM {P} WHERE id = ?), "
                             f"(SELECT content FROM {P} WHERE id = ?)", [_window(m), m, m, m]))[0]
            memo[m] = (None if row[0] is None else int(row[0]), int(row[1] or 0), row[2], row[3])
        return memo[m]

    def _append(self, qy, after: int, upto: int, bar, flattener) -> bool:
        """Index the sets with ids in (after, upto], about COMMIT_EVERY of
        them; True when that was all. Each batch read goes to the flattener
        in chunks, whose results are written in order, at most
        `flattener.ahead` behind."""
        P = S.PARAMETERSET.name
        q = qy.dialect.q
        writer = _Writer(self)
        last, exhausted, waiting = after, False, []

        def write_oldest():
            flat = waiting.pop(0).result()
            writer.write(flat)
            bar.advance(len(flat))

        for _ in range(max(1, COMMIT_EVERY // BATCH)):
            rows = qy.run(Sql(f"SELECT id, {q('type')}, content FROM {P} WHERE id > ? "
                              f"AND id <= ? ORDER BY id LIMIT {BATCH}", [last, upto]))
            for at in range(0, len(rows), flattener.chunk):
                part = rows[at:at + flattener.chunk]
                waiting.append(flattener.submit([(i, k, _text(c)) for i, k, c in part],
                                                writer.knows))
                while len(waiting) > flattener.ahead:
                    write_oldest()
            if rows:
                last = rows[-1][0]
            if len(rows) < BATCH:
                exhausted = True
                break
        while waiting:
            write_oldest()
        writer.finish(max_id=upto if exhausted else last)
        if exhausted:
            # SQLite sorts for CREATE INDEX; a helper thread of its own
            # sorts beside it (10^5 sets, 2.3 million rows: 7.7 s → 4.8 s).
            self.conn.execute(f"PRAGMA threads = {SORT_THREADS}")
            _script(self.conn, _INDEXES)
        return exhausted

    def _fill(self, qy, upto: int) -> None:
        """Sets with ids the index has passed but not seen (committed out of
        order by concurrent writers): found by their ids, then read."""
        P = S.PARAMETERSET.name
        low = _window(upto)
        ids = {r[0] for r in qy.run(Sql(f"SELECT id FROM {P} WHERE id > ? AND id <= ?",
                                        [low, upto]))}
        have = {r[0] for r in self.conn.execute("SELECT id FROM sets WHERE id > ? AND id <= ?",
                                                (low, upto))}
        if have - ids:  # a set indexed that the store no longer has
            raise _Rebuild()
        missing = sorted(ids - have)
        writer = _Writer(self)
        for i in range(0, len(missing), BATCH):
            part = missing[i:i + BATCH]
            rows = qy.run(Sql(f"SELECT id, {qy.dialect.q('type')}, content FROM {P} WHERE ")
                          + qy.dialect.in_ints("id", part))
            writer.add(rows)
        writer.finish(max_id=None)

    # -- answering
    def candidates(self, f, limit: int | None = None) -> tuple[list[int] | None, list[int], int]:
        """(ids of the indexed sets that may satisfy f, or None for all;
        ids of those that satisfy it for certain; the newest id indexed).
        Sets newer than that are not in the index: the caller reads them
        too. One read transaction, so the three agree. `limit`: at most
        that many of each (whether some set may, or does)."""
        c = self.conn
        c.execute("BEGIN")
        try:
            max_id, _ = self.state()
            maybe, sure = candidate_sql(f)
            if maybe is None:
                return None, [], max_id
            # Each a statement of its own: a compound inside another loses
            # its order, and with it the merge (candidate_sql). The sets
            # not indexed have no nodes: no candidate is among them.
            found = (_ids(c, *maybe, limit) + _ids(
                c, "SELECT id FROM sets WHERE indexed = 0 AND readable = 1", [], limit))[:limit]
            return found, self._certain(maybe, sure, found, limit), max_id
        finally:
            c.execute("COMMIT")

    def _certain(self, maybe, sure, found: list[int], limit: int | None) -> list[int]:
        """The sets of `sure` the index is exact about (`found`: those of
        `maybe`, read already), in candidates' transaction."""
        if sure is None:
            return []
        c = self.conn
        inexact = {r[0] for r in c.execute("SELECT id FROM sets WHERE exact = 0")}
        if sure == maybe:  # the usual case: the candidates read, less the inexact sets
            return [i for i in found if i not in inexact]
        if not inexact:
            return _ids(c, *sure, limit)
        return _ids(c, f"SELECT set_id FROM ({sure[0]}) EXCEPT SELECT id FROM sets WHERE exact = 0",
                    sure[1], limit)

    def all_ids(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM sets ORDER BY id")]

    def unreadable(self) -> dict[int, str]:
        return dict(self.conn.execute("SELECT id, reason FROM sets WHERE readable = 0"))

    @contextmanager
    def reading(self):
        """One read transaction of the index: the statements within see one
        version of it."""
        self.conn.execute("BEGIN")
        try:
            yield self
        finally:
            self.conn.execute("COMMIT")

    def shape_names(self) -> dict[int, list[str]]:
        """Shape id -> its task-folded key names (few: one per structure)."""
        return {i: json.loads(n) for i, n in self.conn.execute("SELECT id, names FROM shapes")}

    def shapes_of(self, ids) -> dict[int, tuple[int, int | None]]:
        """Set id -> (readable, shape id or None) of these sets the index
        holds, in one statement."""
        return {i: (r, sh) for i, r, sh in self.conn.execute(
            "SELECT id, readable, shape FROM sets WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),))}

    def values(self, path) -> dict:
        """set id -> the value at the task-folded key `path` of every set the
        index answers for (readable, exact, indexed; the node there a number,
        boolean, string or null, or no node: MISSING), for a group-by's keys
        (issue 14). Other sets are left out: the caller parses those. A
        whole number reads as an int (the index keeps numbers as floats)."""
        from ...plan.values import MISSING
        if not path or not all(isinstance(s, str) and SEP not in s for s in path):
            return {}  # list indices are answered by the list's node: not here
        c = self.conn
        c.execute("BEGIN")
        try:
            out = {i: MISSING for (i,) in c.execute(
                "SELECT id FROM sets WHERE readable = 1 AND indexed = 1 AND exact = 1")}
            for set_id, kind, num, text in c.execute(
                    "SELECT n.set_id, n.kind, n.num, n.text FROM nodes n JOIN paths p "
                    "ON p.id = n.path WHERE p.key = ? AND n.elem = 0", (canonical(path),)):
                if set_id not in out:
                    continue
                if kind == "n":
                    out[set_id] = (math.nan if num is None else
                                   int(num) if num.is_integer() else num)
                elif kind in ("b", "s", "z"):
                    out[set_id] = bool(num) if kind == "b" else text
                else:  # a list, a dict, a big number: parsed by the caller
                    del out[set_id]
        finally:
            c.execute("COMMIT")
        return out


    def value_codes(self, path):
        """The values at the task-folded key `path`, for a server to group
        by (issue 14), coded (ValueCodes), or None for a path the index
        does not answer (list indices). Code k
        >= 0 is a value the index holds (a number, boolean, string or
        null, in an exact set); code -2 - id is a set the caller parses (a
        set the index is not exact about, could not index or read, or
        whose value there is a list, dict, big number or other); a set of
        neither, indexed, has no node there: MISSING. The ids are joined
        by SQLite (group_concat), so no row per set passes through Python."""
        if not path or not all(isinstance(s, str) and SEP not in s for s in path):
            return None
        key = canonical(path)
        c = self.conn
        c.execute("BEGIN")
        try:
            max_id, count = self.state()
            state = _codes_state(max_id, count)
            kept = self._kept_codes(key, state)
            if kept is None:
                kept = self._work_out_codes(key)
        finally:
            c.execute("COMMIT")
        self._keep_codes(key, state, kept)
        known, doubtful = kept
        return ValueCodes([_node_value(kind, num, text) for kind, num, text, _, _ in known],
                          [(members, n) for _, _, _, members, n in known], doubtful, max_id)

    def _work_out_codes(self, key: str):
        """([(kind, num, text, set ids joined, how many)] per value, the
        doubtful set ids) of the canonical key `key`."""
        c = self.conn
        # The nodes of the exact sets at the key, each value once with its
        # sets (one node a set: exact sets have one per key).
        at_key = ("FROM nodes WHERE path = (SELECT id FROM paths WHERE key = ?) AND elem = 0 "
                  "AND set_id NOT IN (SELECT id FROM sets WHERE exact = 0)")
        # Two statements, each read in the order of a covering index
        # (nodes_num, nodes_text): no row looked up, no sort.
        known = c.execute(f"SELECT kind, num, NULL, group_concat(set_id), COUNT(*) {at_key} "
                          f"AND kind IN ('n', 'b', 'z') GROUP BY kind, num", (key,)).fetchall()
        known += c.execute(f"SELECT kind, NULL, text, group_concat(set_id), COUNT(*) {at_key} "
                           f"AND kind = 's' GROUP BY text", (key,)).fetchall()
        doubtful = [r[0] for r in c.execute(
            f"SELECT set_id {at_key} AND kind IN ('l', 'd', 'N', 'S', 'o') "
            f"UNION ALL SELECT id FROM sets WHERE exact = 0", (key,))]
        return known, doubtful

    # A key's codes are kept in the index until it changes (its state: the
    # newest set id and the number of sets; a rebuild drops them): working
    # them out reads every node at the key, 0.24 s of a 2 s group-by at
    # 10^6 sets; reading them back is one row.
    def _kept_codes(self, key: str, state: str):
        if not self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'codes'").fetchone():
            return None  # an index made before codes were kept
        row = self.conn.execute("SELECT data FROM codes WHERE path = ? AND state = ?",
                                (key, state)).fetchone()
        return None if row is None else json.loads(row[0])

    def _keep_codes(self, key: str, state: str, kept) -> None:
        """Keep `kept` for `key` if the index is still at `state` and can be
        written at once: a reader never waits for another process's lock
        to keep what it can work out again."""
        c = self.conn
        c.execute("PRAGMA busy_timeout = 0")
        try:
            c.execute("BEGIN IMMEDIATE")
            try:
                if _codes_state(*self.state()) == state:
                    c.execute(_CODES)
                    c.execute("INSERT OR REPLACE INTO codes VALUES (?, ?, ?)",
                              (key, state, json.dumps(kept)))
                c.execute("COMMIT")
            finally:
                if c.in_transaction:
                    c.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # locked by a writer, or a read-only index: worked out again next time
        finally:
            c.execute(f"PRAGMA busy_timeout = {int(LOCK_TIMEOUT * 1000)}")


def _codes_state(max_id: int, count: int) -> str:
    """The index's state its kept codes belong to (ParamIndex._kept_codes)."""
    return f"{max_id}/{count}"


class ValueCodes:
    """A key's values coded (ParamIndex.value_codes): `values[k]` is code
    k's value, `members[k]` its sets (ids joined by commas, how many),
    `doubtful` the sets coded -2 - id, `newest` the newest id indexed."""

    def __init__(self, values: list, members: list, doubtful: list[int], newest: int):
        self.values, self.members, self.doubtful, self.newest = values, members, doubtful, newest

    def decoded(self) -> dict:
        """code -> value (-1: MISSING); a doubtful set's code is not here."""
        from ...plan.values import MISSING
        return {**dict(enumerate(self.values)), -1: MISSING}

    def arrays(self) -> tuple[str, str]:
        """(set ids, their codes): two PostgreSQL integer array texts."""
        ids = [m for m, _ in self.members] + [str(i) for i in self.doubtful]
        codes = [",".join([str(k)] * n) for k, (_, n) in enumerate(self.members)]
        codes += (str(-2 - i) for i in self.doubtful)
        return "{" + ",".join(ids) + "}", "{" + ",".join(codes) + "}"

    def sets_of(self, code: int) -> str:
        return "{" + self.members[code][0] + "}"


def _node_value(kind, num, text):
    """The value of a node row of kind n, b, s or z (a whole number as an
    int: the index keeps numbers as floats)."""
    if kind == "n":
        return math.nan if num is None else int(num) if num.is_integer() else num
    if kind == "b":
        return bool(num)
    return text if kind == "s" else None


class _Rebuild(Exception):
    pass


def _window(m: int) -> int:
    """The id after which the store and the index are compared set by set
    (the newest CHECK_WINDOW ids up to m): see the module's docstring."""
    return max(0, m - CHECK_WINDOW)


def _text(content):
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content).decode("utf-8", "replace")
    return content


def _node_order(row) -> tuple:
    _, path, elem, kind, num, text = row
    return path, elem, kind, num if num is not None else -math.inf, text or ""


def _never(structure) -> bool:
    return False


def _flatten_rows(rows, knows=_never) -> list[tuple]:
    """The index's view of each (id, type, text) set of a batch, worked out
    apart from the index (so in another process, for a first build):
    (id, content hash, why unreadable or None, exact, structure digest or
    None, key names or None, node rows with their keys, or None when too
    deep to index). Key names are worked out once per structure and batch,
    unless the writer `knows` the structure's shape."""
    flat, named = [], set()
    for pid, kind, content in rows:
        digest = content_hash(kind, content)
        parsed = paramcache.read(kind, content)  # not cached: the index is the cache
        if isinstance(parsed, Unreadable):
            flat.append((pid, digest, parsed.reason or "unreadable", False, None, None, None))
            continue
        out: list = []
        sig: list = []
        try:
            exact = _nodes(parsed, (), out, sig=sig)
            keys = [k for k, e, _, _, _ in out if not e]
            exact = exact and len(keys) == len(set(keys))
            structure = None if None in sig else hashlib.blake2b(
                repr(tuple(sig)).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
            names = None
            if structure is None or structure not in named and not knows(structure):
                names = parameter_key_names(parsed)
                named.add(structure)
        except (RecursionError, ValueError, TypeError):
            flat.append((pid, digest, None, False, None, None, None))
            continue
        flat.append((pid, digest, None, exact, structure, names, out))
    return flat


class _Serially:
    """Batches flattened here, each when its result is asked for."""

    ahead, chunk = 0, BATCH

    def submit(self, rows, knows):
        return _Later(rows, knows)

    def close(self):
        pass


class _Later:
    def __init__(self, rows, knows):
        self.rows, self.knows = rows, knows

    def result(self):
        return _flatten_rows(self.rows, self.knows)


class _InWorkers:
    """Batches flattened by worker processes while this one reads the store
    and writes the index (a first build: parsing and flattening are most of
    its time). At most `ahead` chunks of a batch wait (their rows come
    back to this process as they are done), so memory stays a few chunks."""

    chunk = 1000

    def __init__(self, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self.pool = ProcessPoolExecutor(workers, mp_context=context,
                                        initializer=_leave_interrupts_to_the_caller)
        self.ahead = 2 * workers

    def submit(self, rows, knows):
        # (what the writer knows stays here: each chunk names its structures)
        return self.pool.submit(_flatten_rows, rows)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


def _leave_interrupts_to_the_caller():
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the build in its process


def _flattener(sets: int | None):
    """Where a refresh that indexes `sets` sets flattens them."""
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if sets is None or sets < PARALLEL_FROM or workers < 2:
        return _Serially()
    return _InWorkers(workers)


class _Writer:
    """Rows for the index, inserted in batches within the caller's
    transaction; meta is updated last, in the same transaction."""

    def __init__(self, index: ParamIndex):
        self.index = index
        c = index.conn
        self.paths = dict(c.execute("SELECT key, id FROM paths"))
        self.shapes = dict(c.execute("SELECT names, id FROM shapes"))
        # Per transaction: another process may rebuild the index between two.
        self.by_structure = {}
        # Rows are sorted for indexes that exist (a refresh), not for those
        # made after the first build's last row.
        self.sorted = c.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' "
                                "AND name = 'nodes_num'").fetchone() is not None
        c.execute(_STRUCTURES)
        c.execute(f"PRAGMA cache_size = {WRITE_CACHE}")
        self.added = 0

    def _path(self, key: str) -> int:
        pid = self.paths.get(key)
        if pid is None:
            cur = self.index.conn.execute("INSERT INTO paths (key) VALUES (?)", (key,))
            pid = self.paths[key] = cur.lastrowid
        return pid

    def _shape(self, names) -> int:
        text = json.dumps(sorted(names), ensure_ascii=False)
        sid = self.shapes.get(text)
        if sid is None:
            cur = self.index.conn.execute("INSERT INTO shapes (names) VALUES (?)", (text,))
            sid = self.shapes[text] = cur.lastrowid
        return sid

    def knows(self, structure: str) -> bool:
        """Whether this structure's shape is known (kept in the index, or
        met in this transaction): its key names need not be worked out."""
        if structure not in self.by_structure:
            known = self.index.conn.execute("SELECT shape FROM structures WHERE sig = ?",
                                            (structure,)).fetchone()
            if not known:
                return False
            self.by_structure[structure] = known[0]
        return True

    def _shape_for(self, structure: str | None, names) -> int:
        """The shape (task-folded key names) of a set, worked out once per
        structure (sets of one sweep differ in values, not in keys):
        `structure` is its digest (None: no structure shared, `names` are
        its key names), and `names` are given the first time a batch meets
        it unless this writer `knows` it (_flatten_rows)."""
        if structure is None:
            return self._shape(names)
        if not self.knows(structure):
            shape = self.by_structure[structure] = self._shape(names)
            self.index.conn.execute("INSERT INTO structures VALUES (?, ?)", (structure, shape))
        return self.by_structure[structure]

    def add(self, rows) -> None:
        """Write these (id, type, text) sets."""
        self.write(_flatten_rows([(i, k, _text(c)) for i, k, c in rows], self.knows))

    def write(self, flat) -> None:
        """Write the sets of one batch, as _flatten_rows gave them."""
        sets, nodes = [], []
        known, path = self.paths.get, self._path  # most keys are known: no call to _path
        for pid, digest, reason, exact, structure, names, out in flat:
            if reason is not None:  # unreadable
                sets.append((pid, digest, 0, 0, 0, reason, None))
            elif out is None:  # too deep to index: always a candidate, the reader decides
                sets.append((pid, digest, 1, 0, 0, None, None))
            else:
                sets.append((pid, digest, 1, 1, int(exact), None, self._shape_for(structure, names)))
                nodes += [(pid, known(k) or path(k), e, t, n, x) for k, e, t, n, x in out]
        c = self.index.conn
        c.executemany("INSERT INTO sets VALUES (?, ?, ?, ?, ?, ?, ?)", sets)
        if self.sorted:
            # In the indexes' order (path, elem, kind, value): neighbouring
            # rows go to one index page, not each to its own (a fifth less time).
            nodes.sort(key=_node_order)
        c.executemany("INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?)", nodes)
        self.added += len(sets)
        self.index.built_now += len(sets)

    def finish(self, max_id: int | None) -> None:
        c = self.index.conn
        if self.added:
            c.execute("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT) "
                      "WHERE key = 'count'", (self.added,))
        if max_id is not None:
            c.execute("UPDATE meta SET value = ? WHERE key = 'max_id' AND CAST(value AS INTEGER) < ?",
                      (str(max_id), max_id))



# ------------------------------------------------------------------ the index ATTACHed

ATTACHED = "smtql_index"  # the schema name of the index on an SQLite store's connection


def attached_prefilter(f, db: str, inexact_sets: bool):
    """For the index ATTACHed to the store's connection as `db` (with its
    dot): (the sets the reader parses and decides: candidates the index is
    not certain of, and sets it could not index, or None: none; the sets
    that satisfy f for certain, or None), each a SELECT of set ids with its
    parameters; None when every set may satisfy f. `inexact_sets`: whether
    the index holds any set it is not exact about (`_nodes`). The certain sets stay in SQL: the
    store's statement reads them as a subquery, so no list of ids travels."""
    maybe, sure = candidate_sql(f, db)
    if maybe is None:
        return None
    unindexed = f"SELECT id FROM {db}sets WHERE indexed = 0 AND readable = 1"
    inexact = f"SELECT id FROM {db}sets WHERE exact = 0"
    if sure is None:
        return (f"SELECT set_id FROM ({maybe[0]}) UNION {unindexed}", maybe[1]), None
    # Less the inexact sets, if there are any: an EXCEPT of none still
    # builds a B-tree of every sure id (half the statement's time at 10^5).
    certain = (f"SELECT set_id FROM ({sure[0]}) EXCEPT {inexact}", sure[1]) if inexact_sets \
        else sure
    if sure == maybe:  # the usual case: the doubtful are the inexact candidates
        if not inexact_sets:  # (unindexed sets are inexact too)
            return None, certain
        return (f"SELECT set_id FROM ({maybe[0]}) WHERE set_id IN ({inexact}) UNION {unindexed}",
                maybe[1]), certain
    return (f"SELECT set_id FROM ({maybe[0]}) WHERE set_id NOT IN ({certain[0]}) "
            f"UNION {unindexed}", maybe[1] + certain[1]), certain
