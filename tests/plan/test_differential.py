"""The planned engine against the reference evaluator (DESIGN.md, Testing).

Hypothesis generates bound filters (every predicate, nested and/or/not,
values drawn from what the store holds plus random ones). The planned engine
(planner split, SQL pre-filter, Python post-filter, COUNT and `latest N`
pushdown) must return exactly the labels that smtql.plan.evaluate returns on the
Rows Sumatra's own API reads from the same store (RecordStore.list, in a
child process: one Django store per process). Stores: SQLite, PostgreSQL,
MariaDB, built by `python -m smtql.demo build` with the same records; and a
shelve store of the same seed, read through Sumatra's API, whose answers
must equal the SQLite store's.
"""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.store_support import ListStore, demo_store  # noqa: E402

from smtql.language import ast, fields  # noqa: E402

from smtql.plan import planner
from smtql.language.dates import Period  # noqa: E402
from smtql.stores.registry import open_store  # noqa: E402
from smtql.stores.django import reader  # noqa: E402
from smtql.plan.evaluate import compile_filter  # noqa: E402
from smtql.executor import Executor  # noqa: E402
from smtql.params.model import folded, leaves  # noqa: E402

UTC = timezone.utc
RECORDS, SEED = 150, 7
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])

TRICKY = ["", " ", "a", "A", "%", "_", "%_", "\\", "'", "''", '"', "'; DROP TABLE x; --",
          "μ", "Μ", "e", "é", "finished ", "Finished", "FINISHED", "_finished_", "lr", "LR",
          "converged ", "Traceback", "trace", "\n", "*", "?", "[a-z]*", "0.01",
          # U+0000: SQLite's text functions stop at it, PostgreSQL's text cannot hold it
          "\0", "nul\0byte", "conv\0", "\0erged"]


# ------------------------------------------------------------------ strategies

class Vocabulary:
    """What the store holds, for drawing values."""

    def __init__(self, rows):
        self.tags = sorted({t for r in rows for t in r.tags})
        self.text = {name: sorted({str(getattr(r, name) or "") for r in rows})
                     for name, info in fields.FIELDS.items() if info.kind == fields.TEXT}
        self.paths = sorted({p for r in rows for p in r.outputpath})
        self.durations = sorted({r.duration for r in rows if r.duration is not None})
        self.times = sorted(r.timestamp for r in rows)
        self.leaves: dict[tuple, list] = {}
        for r in rows:
            for path, value in leaves(folded(r.params)):
                self.leaves.setdefault(path, [])
                if value not in self.leaves[path] and len(self.leaves[path]) < 12:
                    self.leaves[path].append(value)
        self.param_paths = sorted(self.leaves, key=repr)


def _pieces(values):
    """Whole values and pieces of them (prefixes, suffixes, middles)."""
    @st.composite
    def piece(draw):
        v = draw(st.sampled_from(values)) if values else ""
        if not v or draw(st.booleans()):
            return v
        i = draw(st.integers(0, len(v)))
        j = draw(st.integers(i, len(v)))
        return v[i:j]
    return piece()


_VARIANTS = (str.upper, str.lower, str.swapcase, lambda v: v + " ", lambda v: v.rstrip(),
             lambda v: v.replace("μ", "Μ"), lambda v: v.replace("e", "é"),
             lambda v: v.replace("_", "%"), lambda v: v[:2] + "\0" + v[2:])


def _variants(values):
    """Store values as a case-, accent- or space-insensitive collation would
    confuse them: upper case, a trailing space, é for e, …"""
    return st.builds(lambda v, f: f(v), _pieces(values), st.sampled_from(_VARIANTS))


def text_value(values):
    return st.one_of(_pieces(values), _variants(values), st.sampled_from(TRICKY),
                     st.text(alphabet=string.ascii_letters + "μé_%' ", max_size=6))


def period(vocab: Vocabulary):
    @st.composite
    def draw_period(draw):
        if vocab.times and draw(st.integers(0, 3)):
            t = draw(st.sampled_from(vocab.times))
        else:
            t = datetime(2020, 8, 1, tzinfo=UTC) + timedelta(
                seconds=draw(st.integers(0, 500 * 86400)))
        kind = draw(st.sampled_from(["instant", "second", "day", "month", "year"]))
        if kind == "instant":
            return Period(t, t, t.isoformat())
        if kind == "second":
            s = t.replace(microsecond=0)
            return Period(s, s + timedelta(seconds=1), s.isoformat())
        if kind == "day":
            s = t.replace(hour=0, minute=0, second=0, microsecond=0)
            return Period(s, s + timedelta(days=1), s.date().isoformat())
        if kind == "month":
            s = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            e = (s + timedelta(days=32)).replace(day=1)
            return Period(s, e, s.strftime("%Y-%m"))
        s = t.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        return Period(s, s.replace(year=s.year + 1), str(s.year))
    return draw_period()


def atoms(vocab: Vocabulary):
    tag = st.one_of(st.sampled_from(vocab.tags or ["x"]), st.sampled_from(fields.STATUS_WORDS),
                    _variants(vocab.tags or ["x"]), st.sampled_from(TRICKY))
    c = lambda v: ast.Const(v)  # noqa: E731
    has_tags = st.lists(tag, min_size=1, max_size=2).map(lambda ts: ast.HasTags(tuple(ts)))
    tag_like = st.one_of(
        _pieces(vocab.tags).map(lambda p: p + "*"), _pieces(vocab.tags).map(lambda p: "*" + p),
        st.sampled_from(["*", "_*_", "?*", "[a-f]*", "*-*", "*.*", "μ*", "[!_]*", "_?"]),
    ).map(ast.TagLike)
    status = st.sampled_from(fields.STATUS_WORDS).map(ast.Status)
    time_range = st.builds(  # as bound: `on` an instant means its day
        lambda op, p: ast.TimeRange(op, c(p.day() if op == "on" and p.is_instant else p)),
        st.sampled_from([">=", "<", "on"]), period(vocab))

    text_ops = ["=", "!=", "<", "<=", ">", ">=", "contains", "startswith", "endswith"]

    @st.composite
    def text_compare(draw):
        name = draw(st.sampled_from(sorted(vocab.text)))
        values = vocab.text[name]
        op = draw(st.sampled_from(text_ops + ["in", "matches"]))
        if op == "in":
            v = tuple(draw(st.lists(text_value(values), max_size=3)))
        elif op == "matches":
            v = draw(st.one_of(_pieces(values).map(re.escape),
                               st.sampled_from(["^conv", "lr$", "(?i)TRACE", "[0-9]{2}", "^$",
                                                "μ", r"\d+\.\d+"])))
        else:
            v = draw(st.one_of(text_value(values), st.just(None)) if op in ("=", "!=")
                     else text_value(values))
        return ast.Compare(ast.Field(name), op, c(v))

    number = lambda values: st.one_of(  # noqa: E731
        st.sampled_from(values) if values else st.just(1.0),
        st.floats(-10, 200000, allow_nan=False), st.integers(-5, 100000),
        st.sampled_from([0, 1, 2, 3, 3600.0, 60.0, 1e-9]))

    @st.composite
    def number_compare(draw):
        name = draw(st.sampled_from(["duration", "outputs"]))
        values = vocab.durations if name == "duration" else [0, 1, 2, 3, 4]
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "in", "~="]))
        if op == "in":
            v = tuple(draw(st.lists(st.one_of(number(values), st.just(None)), max_size=3)))
        else:
            v = draw(number(values))
        return ast.Compare(ast.Field(name), op, c(v))

    @st.composite
    def time_compare(draw):
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "in"]))
        v = tuple(draw(st.lists(period(vocab), max_size=3))) if op == "in" else draw(period(vocab))
        return ast.Compare(ast.Field("timestamp"), op, c(v))

    @st.composite
    def path_compare(draw):
        op = draw(st.sampled_from(text_ops))
        return ast.Compare(ast.Field("outputpath"), op, c(draw(text_value(vocab.paths))))

    @st.composite
    def tags_compare(draw):
        op = draw(st.sampled_from(["=", "!=", "contains"]))
        if op == "contains":
            return ast.Compare(ast.Field("tags"), op, c(draw(tag)))
        v = tuple(sorted(set(draw(st.lists(tag, max_size=2)))))
        return ast.Compare(ast.Field("tags"), op, c(v if len(v) != 1 else v[0]))

    scalar = st.one_of(st.integers(-3, 200), st.floats(-5, 5, allow_nan=False), st.booleans(),
                       st.none(), st.sampled_from(["gru", "lstm", "sine", "lorenz", "draft",
                                                   "exp-A", "", "1", "yes", "true"]))

    @st.composite
    def param_compare(draw):
        path = draw(st.sampled_from(vocab.param_paths)) if vocab.param_paths else ("x",)
        if draw(st.integers(0, 4)) == 0:  # a prefix (a dict), or a key no record has
            path = draw(st.sampled_from([path[:max(1, len(path) - 1)], path + ("nope",),
                                         ("optimizer",), ("lr",), ("status",), ("params",)]))
        known = vocab.leaves.get(path) or [0]
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "~=", "in", "contains",
                                   "startswith", "endswith", "matches"]))
        value = st.one_of(st.sampled_from(known), scalar)
        if op == "in":
            v = tuple(draw(st.lists(value, max_size=3)))
        elif op in ("startswith", "endswith"):
            v = draw(st.one_of(_pieces([k for k in known if isinstance(k, str)] or ["g"]), scalar))
        elif op == "matches":
            v = draw(st.sampled_from(["^g", "u$", "[0-9]", "^$", "."]))
        else:
            v = draw(value)
            if isinstance(v, list):
                v = tuple(v)
        return ast.Compare(ast.Param(path), op, c(v))

    exists = st.sampled_from(vocab.param_paths + [("nope",), ("optimizer",), ("label",)]).map(
        lambda p: ast.Exists(ast.Param(p)))
    label_in = st.lists(st.sampled_from(vocab.text["label"]), max_size=3).map(
        lambda ls: ast.Compare(ast.Field("label"), "in", c(tuple(ls))))

    return st.one_of(has_tags, tag_like, status, time_range, text_compare(), number_compare(),
                     time_compare(), path_compare(), tags_compare(), param_compare(), exists,
                     label_in, st.just(ast.All()))


def filters(vocab: Vocabulary, no_repository: bool = False):
    leaf = atoms(vocab)
    if no_repository:
        leaf = leaf.filter(lambda f: not (isinstance(f, ast.Compare)
                                          and isinstance(f.key, ast.Field)
                                          and f.key.name == "repository"))
    return st.recursive(
        leaf,
        lambda child: st.one_of(
            st.lists(child, min_size=2, max_size=3).map(lambda xs: ast.And(tuple(xs))),
            st.lists(child, min_size=2, max_size=3).map(lambda xs: ast.Or(tuple(xs))),
            child.map(ast.Not)),
        max_leaves=7)


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def backend_kind(request):
    return request.param


# Every store with the persistent parameter index (candidates from the
# index, decided on the parsed candidates) and without it (every set parsed
# in memory): both must equal the reference.
@pytest.fixture(scope="module", params=["index", "no-index"])
def backend(request, backend_kind, tmp_path_factory):
    project, oracle = demo_store(backend_kind, tmp_path_factory, RECORDS, SEED)
    store = open_store(project, index=request.param == "index")
    assert type(store).__name__ == "DjangoSqlStore"
    assert store.use_index == (request.param == "index")
    yield backend_kind, store, oracle, Vocabulary(oracle)
    if request.param == "index":  # it was used, not fallen back from
        assert store.index_problem is None and store._param_index is not None
        # on SQLite, ATTACHed: the pre-filter is part of the store's statement
        assert store._index_attached == (backend_kind == "sqlite")
    store.close()


# ------------------------------------------------------------------ the properties

def planned_labels(store, f) -> tuple[list[str], object]:
    plan = planner.plan(f, store, fields=())
    keep = compile_filter(plan.post)
    return sorted(r.label for r in store.scan(plan) if keep(r)), plan


def reference_labels(rows, f) -> list[str]:
    keep = compile_filter(f)
    return sorted(r.label for r in rows if keep(r))


def run_statement(store, stmt):
    program = ast.Program((stmt,))
    return list(Executor(store, {}, now=datetime(2021, 10, 1, tzinfo=UTC)).run(program))[-1]


# Fields `order by … limit N` sorts in the store (and one it does not).
ORDER_FIELDS = ("duration", "timestamp", "label", "reason", "outcome", "main_file", "outputs")


def test_planned_engine_equals_the_reference(backend):
    kind, store, oracle, vocab = backend
    reference = ListStore(oracle)

    @SETTINGS
    @given(f=filters(vocab), n=st.integers(0, 6), which=st.sampled_from(["latest", "earliest",
                                                                         "limit"]),
           order=st.lists(st.tuples(st.sampled_from(ORDER_FIELDS), st.booleans()), max_size=2))
    def check(f, n, which, order):
        got, plan = planned_labels(store, f)
        want = reference_labels(oracle, f)
        assert got == want, (kind, f, plan)
        # the split: f == pre and post, and pre never drops an answer
        pre = compile_filter(plan.pre)
        assert all(pre(r) for r in oracle if r.label in set(want))
        # COUNT pushdown (or rows, when a post-filter remains)
        assert int(run_statement(store, ast.Count(f)).count) == len(want)
        # latest / earliest / limit N: pushed as ORDER BY … LIMIT when the post-filter is trivial
        stmt = ast.Find(f, show=(ast.Field("label"),), limit=ast.Limit(which, n))
        res_sql, res_ref = run_statement(store, stmt), run_statement(reference, stmt)
        assert res_sql.labels == res_ref.labels, (kind, f, which, n)
        assert res_sql.hidden == res_ref.hidden
        # order by FIELD … limit N: sorted and cut in the store (issue 10)
        keys = tuple(ast.OrderKey(ast.Field(name), descending) for name, descending in order)
        stmt = ast.Find(f, show=(ast.Field("label"),), order=keys, limit=ast.Limit(which, n))
        res_sql, res_ref = run_statement(store, stmt), run_statement(reference, stmt)
        assert res_sql.labels == res_ref.labels, (kind, f, order, which, n)
        assert res_sql.hidden == res_ref.hidden

    check()


def test_latest_from_a_small_window_equals_the_reference(backend, monkeypatch):
    """`latest N` looked for among the newest records first (PostgreSQL's
    way: reader._newest_in_window), with a window small enough that it often
    holds too few answers or ends inside a run of equal timestamps: the
    answer is still exactly the reference's, on every database."""
    kind, store, oracle, vocab = backend
    reference = ListStore(oracle)
    monkeypatch.setattr(reader, "WINDOW", 1)
    monkeypatch.setattr(reader, "WINDOW_PER_ROW", 2)
    monkeypatch.setattr(store.dialect, "newest_in_window", True)

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(f=filters(vocab), n=st.integers(1, 6), which=st.sampled_from(["latest", "earliest"]))
    def check(f, n, which):
        stmt = ast.Find(f, show=(ast.Field("label"),), limit=ast.Limit(which, n))
        res_sql, res_ref = run_statement(store, stmt), run_statement(reference, stmt)
        assert res_sql.labels == res_ref.labels, (kind, f, which, n)

    check()


def test_the_split_does_not_depend_on_the_order_written(backend):
    kind, store, oracle, vocab = backend

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(items=st.lists(atoms(vocab), min_size=2, max_size=4), data=st.data())
    def check(items, data):
        for kind_ in (ast.And, ast.Or):
            shuffled = data.draw(st.permutations(items))
            a = planner.plan(kind_(tuple(items)), store)
            b = planner.plan(kind_(tuple(shuffled)), store)
            assert (a.pre, a.post) == (b.pre, b.post)

    check()


@pytest.fixture(scope="module")
def shelve_and_sqlite(tmp_path_factory):
    shelf_project, shelf_oracle = demo_store("shelve", tmp_path_factory, RECORDS, SEED)
    sqlite_project, _ = demo_store("sqlite", tmp_path_factory, RECORDS, SEED)
    shelf = ListStore(shelf_oracle)  # what the shelve store answers through Sumatra's API
    sql = open_store(sqlite_project)
    yield shelf, sql, Vocabulary(shelf_oracle)
    sql.close()


def test_shelve_through_the_api_equals_sqlite_through_sql(shelve_and_sqlite):
    shelf, sql, vocab = shelve_and_sqlite
    # the same seed gives the same records (the project directory, and so
    # the repository URL, differs)
    assert sorted(r.label for r in shelf.rows) == sorted(r.label for r in sql.scan(None))

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(f=filters(vocab, no_repository=True))
    def check(f):
        assert planned_labels(sql, f)[0] == reference_labels(shelf.rows, f), f

    check()


# ------------------------------------------------------------------ group-bys (§9)

def group_bys(vocab: Vocabulary):
    """Group-bys over random filters: keys of every kind, aggregates over
    fields and parameters, some orders and limits."""
    from smtql.language.ast import Aggregate, Group, OrderKey, PeriodKey, StatusKey, TagKey
    params = [ast.Param(p) for p in vocab.param_paths[:8]] or [ast.Param(("x",))]
    key = st.one_of(
        st.sampled_from([ast.Field(n) for n in ("main_file", "user", "label", "reason")]),
        st.sampled_from([PeriodKey(u) for u in ast.PERIODS]),
        st.sampled_from([StatusKey(), TagKey(), ast.Field("duration")]),
        st.sampled_from(params))
    arg = st.one_of(st.sampled_from([ast.Field(n) for n in ("duration", "timestamp", "outputs",
                                                            "main_file")]),
                    st.sampled_from(params))
    aggregate = st.one_of(
        st.just(Aggregate("count")),
        st.builds(Aggregate, st.sampled_from(["count", "mean", "median", "std", "min", "max",
                                              "sum", "first", "last"]), arg),
        st.just(Aggregate("labels")))

    @st.composite
    def draw(d):
        keys = tuple(dict.fromkeys(d(st.lists(key, min_size=1, max_size=2))))
        items = tuple(dict.fromkeys(d(st.lists(aggregate, min_size=1, max_size=3))))
        order = tuple(OrderKey(k, descending=d(st.booleans()))
                      for k in d(st.lists(st.sampled_from(keys + items), max_size=1)))
        limit = d(st.one_of(st.none(), st.integers(0, 4).map(lambda n: ast.Limit("limit", n))))
        return Group(d(filters(vocab)), keys, items, order, limit)
    return draw()


def _same_lines(got, want) -> bool:
    import math
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        if list(g) != list(w):
            return False
        for name in w:
            a, b = g[name], w[name]
            if isinstance(a, float) and isinstance(b, (int, float)):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif not (a == b or (a != a and b != b)):
                return False
    return True


GROUP_SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much])


def test_group_by_equals_the_reference(backend):
    """Every group-by, pushed down as GROUP BY or streamed, gives the
    reference grouping's rows over the rows Sumatra's API read."""
    from smtql.plan.evaluate import reference_groups
    kind, store, oracle, vocab = backend

    @GROUP_SETTINGS
    @given(stmt=group_bys(vocab))
    def check(stmt):
        got = run_statement(store, stmt).rows
        want, _ = reference_groups(oracle, stmt)
        assert _same_lines(got, want), (kind, stmt, got[:3], want[:3])

    check()


def test_shelve_group_by_equals_the_reference(shelve_and_sqlite):
    from smtql.plan.evaluate import reference_groups
    shelf, _, vocab = shelve_and_sqlite

    @GROUP_SETTINGS
    @given(stmt=group_bys(vocab))
    def check(stmt):
        got = run_statement(shelf, stmt).rows
        assert _same_lines(got, reference_groups(shelf.rows, stmt)[0]), stmt

    check()
