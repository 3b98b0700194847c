"""A record store is other people's data: querying it must run nothing and
break nothing (DESIGN.md, principle 4).

Stores on SQLite, PostgreSQL and MariaDB get, besides a few demo records,
records saved with Sumatra's own RecordStore.save whose parameter content is
code (`__import__('os').system('touch …')` and variants, a YAML
`!!python/object/apply`, a file path Sumatra would open), and records whose
tags, labels and text hold quotes, `%`, `_`, backslashes and
`'; DROP TABLE …`. Queries (Python API and command line; counts, finds,
keys, describe, Record objects, explain) must create no file, report the
parameters as unreadable, still answer field predicates for those records,
match the odd values exactly, and leave every table as it was.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support.store_support import build_demo, child_env, run_child  # noqa: E402

import smtql  # noqa: E402
from smtql.params.model import Unreadable  # noqa: E402

DROP_RECORDS = "'; DROP TABLE django_store_record; --"
DROP_TAG = "';DROP_TABLE_django_store_tag;--"


def payloads(marker: str) -> list[tuple[str, str]]:
    cmd = f"touch {marker}"
    return [
        ("NTParameterSet", f"__import__('os').system('{cmd}')"),
        ("NTParameterSet", f"{{'a': __import__('os').system('{cmd}')}}"),
        ("NTParameterSet", f"(lambda: __import__('os').system('{cmd}'))()"),
        ("NTParameterSet", "{'a': [c for c in ().__class__.__base__.__subclasses__()]}"),
        ("SimpleParameterSet", f"a = __import__('os').system('{cmd}')\nb = 2"),
        ("YAMLParameterSet", f"!!python/object/apply:os.system ['{cmd}']"),
        ("NTParameterSet", "/etc/hostname"),  # Sumatra would open and eval this file
    ]


QUOTED = [  # label, tags, reason, outcome
    ("sec-quote'1", ["it's", "50%", "a_b", "back\\slash"], "it's 50% a_b back\\slash", DROP_RECORDS),
    ("sec-pct", ["50%x", "aXb", "backXslash"], "50 percent aXb backslash", "ok"),
    (f"x{DROP_RECORDS}", [DROP_TAG], 'quote"d \\ back', ""),
]

_ADD_RECORDS = r"""
import json, sys
from smtql.demo import build as demo
from sumatra.projects import load_project

directory, spec = sys.argv[1], json.loads(sys.argv[2])
project = load_project(directory)
if "mysql" in str(project.record_store._db_file):
    demo._install_mysql_driver()
demo._quiet_django()

class Planted:
    # what Sumatra's store saves for a parameter set: its type and str()
    def __init__(self, type_, content):
        self.type, self.content = type_, content
    def __str__(self):
        return self.content

records = demo.make_records(len(spec), 3, project_dir=directory)
for record, s in zip(records, spec):
    record.label = s["label"]
    record.tags = set(s["tags"])
    record.reason, record.outcome = s["reason"], s["outcome"]
    if s.get("ptype"):
        record.parameters = Planted(s["ptype"], s["content"])
demo.save_records(project.record_store, project.name, records)
"""

_COUNTS = r"""
import json, sys
from smtql.stores.django.reader import DjangoSqlStore
from smtql.stores.django import schema as S
from smtql.stores.django.schema import Sql
from smtql.stores.django.reader import Query
store = DjangoSqlStore(sys.argv[1])
out = {}
with Query(store) as q:
    for t in S.TABLES:
        out[t.name] = q.run(Sql(f"SELECT COUNT(*) FROM {t.name}"))[0][0]
print(json.dumps(out))
"""


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def hostile(request, tmp_path_factory):
    kind = request.param
    directory = tmp_path_factory.mktemp(f"hostile-{kind}") / "project"
    marker = tmp_path_factory.mktemp("markers") / "pwned"
    project = build_demo(kind, directory, records=5, seed=2)
    spec = [{"label": f"sec-eval-{i}", "tags": ["hostile"], "reason": "", "outcome": "",
             "ptype": t, "content": c} for i, (t, c) in enumerate(payloads(marker), 1)]
    spec += [{"label": l, "tags": t, "reason": r, "outcome": o} for l, t, r, o in QUOTED]
    run_child(_ADD_RECORDS, str(project), json.dumps(spec))
    conn = smtql.connect(project)
    assert type(conn.store).__name__ == "DjangoSqlStore"
    before = _table_counts(conn)
    yield conn, project, marker
    after = _table_counts(conn)
    conn.close()
    assert after == before  # nothing dropped, nothing written
    assert not marker.exists()


def _table_counts(conn):
    return json.loads(run_child(_COUNTS, conn.store.location))


def labels(conn, text, **variables):
    return sorted(conn.query(text, **variables).labels)


def test_code_in_parameters_runs_nothing_and_is_reported(hostile):
    conn, project, marker = hostile
    n_bad = len(payloads(marker))
    res = conn.query("count seed = 0")
    assert not marker.exists()
    notes = [n for n in res.notes if "could not read" in n]
    assert len(notes) == 1 and notes[0].startswith(f"{n_bad} records have parameters")
    # no parameter predicate holds for them, their negations do
    assert not [l for l in labels(conn, "exists seed") if l.startswith("sec-eval")]
    assert len([l for l in labels(conn, "not seed = 0") if l.startswith("sec-eval")]) == n_bad
    # and they still answer field predicates
    assert len(labels(conn, "tag hostile")) == n_bad
    assert labels(conn, 'label = "sec-eval-1" and reason = ""') == ["sec-eval-1"]
    for program in ("keys all", "find all show params", "explain optimizer.lr = 0.01",
                    "describe sec-eval-1", "describe sec-eval-6"):
        conn.query(program)
    records = conn.query("tag hostile").records
    assert len(records) == n_bad
    assert all(isinstance(r.parameters, str) for r in records)  # left as the stored text
    rows = [r for rows in conn.query("tag hostile show params").source_rows for r in rows]
    assert all(isinstance(r.params, Unreadable) for r in rows)
    assert not marker.exists()


def test_the_command_line_runs_nothing(hostile):
    conn, project, marker = hostile
    for program in ("keys all", "describe sec-eval-2", "count optimizer.lr = 0.01"):
        proc = subprocess.run([sys.executable, "-m", "smtql", "-C", str(project), program],
                              env=child_env(), capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
    assert not marker.exists()


def test_quotes_wildcards_and_backslashes_match_exactly(hostile):
    conn, _, _ = hostile
    q1, pct, drop = (q[0] for q in QUOTED)
    assert labels(conn, "tag a_b") == [q1]
    assert labels(conn, 'tag "50%"') == [q1]
    assert labels(conn, "tag $t", t="it's") == [q1]
    assert labels(conn, "tag $t", t="back\\slash") == [q1]
    assert labels(conn, "tag $t", t=DROP_TAG) == [drop]
    assert labels(conn, 'tag like "a_b"') == [q1]
    assert labels(conn, 'tag like "50%*"') == sorted([pct, q1])
    assert labels(conn, 'reason contains "50%"') == [q1]
    assert labels(conn, 'reason contains "a_b"') == [q1]
    assert labels(conn, 'reason contains "\\\\"') == sorted([drop, q1])
    assert labels(conn, 'reason endswith "back\\\\slash"') == [q1]
    assert labels(conn, "reason startswith $r", r="it's") == [q1]
    assert labels(conn, "reason = $r", r='quote"d \\ back') == [drop]
    assert labels(conn, "outcome = $o", o=DROP_RECORDS) == [q1]
    assert labels(conn, "outcome contains $o", o="DROP TABLE") == [q1]
    assert labels(conn, "label = $l", l=drop) == [drop]
    assert labels(conn, 'label startswith "sec-quote\'"') == [q1]
    assert labels(conn, "label in [$a, $b]", a=drop, b="sec-pct") == sorted([pct, drop])
    assert labels(conn, 'label = "SEC-PCT"') == []
    assert labels(conn, 'outcome = "OK"') == []
    assert labels(conn, 'outcome = "ok "') == []
    assert conn.query("describe $l", l=drop).label == drop
