"""Results, not only parameters (issue 13): Python predicates, values read
from output files, `outputs missing`, and loading outputs from Python, on
an SQLite, a PostgreSQL and a shelve store.

Each store is a real demo project (`python -m smtql.demo build`, whose runs
write their files into the project, the data store) plus one record saved
with Sumatra's own RecordStore.save whose outputs are a YAML, a TOML, a
corrupt JSON, a YAML with a `!!python/object` tag, a CSV, a pickle and a
text file. The oracle for values is the files themselves, read here with
json/yaml; for predicates, the callable applied to every Record.
"""

from __future__ import annotations

import json
import os
import re
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from support.store_support import child_env, run_child, store_uri

import smtql
from smtql.errors import PredicateError, QueryError, SmtqlError
from smtql.stores import outputs

FORMATS_LABEL = "20210930-120000_formats"
FORMAT_FILES = {
    "extra.yaml": b"loss: 0.5\nnested: {a: [1, 2]}\n",
    "extra.toml": b"loss = 0.25\n[nested]\na = [3, 4]\n",
    "broken.json": b'{"loss": 0.1,',
    "evil.yaml": b"!!python/object/apply:os.system ['touch PWNED']\n",
    "curve.csv": b"epoch,loss\n1,0.9\n2,0.4\n",
    "model.pkl": pickle.dumps({"weights": [1, 2]}),
    "notes.txt": "μ converged\n".encode(),
}

# The demo project and the formats record, in one child process (one start
# of Sumatra, and the store is the child's first Django database).
_BUILD = r"""
import hashlib, json, pathlib, sys
from sumatra.datastore import DataKey
from sumatra.projects import load_project
from smtql.demo import build as demo
directory, uri = pathlib.Path(sys.argv[1]), sys.argv[2] or None
label, files = sys.argv[3], json.loads(sys.argv[4])
demo.build_project(directory, n_records=40, seed=4, store_uri=uri, real_runs=0, in_process=True)
project = load_project(str(directory))
demo._quiet_django()
(record,) = demo.make_records(1, 9, project_dir=directory)
record.label, record.tags = label, {"formats", "_finished_"}
record.output_data = []
for name, hexed in files.items():
    content, path = bytes.fromhex(hexed), f"out/{label}/{name}"
    (directory / path).parent.mkdir(parents=True, exist_ok=True)
    (directory / path).write_bytes(content)
    record.output_data.append(DataKey(path, hashlib.sha1(content).hexdigest(), record.timestamp,
                                      mimetype=None, encoding=None, size=len(content)))
demo.save_records(project.record_store, project.name, [record])
"""


BARE: dict = {}  # kind -> the store's URI or path, for `smtql.connect(store=…)`


def every_record(conn) -> list:
    return conn.query("all").records


def long_run(record) -> bool:
    return bool(record.duration) and record.duration > 3600


class Counting:
    """A predicate that counts the records it is called with."""

    def __init__(self, test):
        self.test, self.seen = test, []

    def __call__(self, record):
        self.seen.append(record.label)
        return self.test(record)


@pytest.fixture
def built(project, monkeypatch):
    """The labels of every Record the store builds during the test."""
    _, _, conn = project
    labels, records = [], conn.store.records

    def counting(rows):
        rows = list(rows)
        labels.extend(r.label for r in rows)
        return records(rows)
    monkeypatch.setattr(conn.store, "records", counting)
    return labels


def metrics(directory: Path, record) -> dict | None:
    """The oracle: the record's metrics.json, read here."""
    for key in record.output_data:
        if key.path.endswith("/metrics.json") and (directory / key.path).is_file():
            return json.loads((directory / key.path).read_text())
    return None


class Outputs:
    """The tests, run on each kind of store (the classes below): one class per
    store, so that parallel workers (xdist's loadscope) take one store each."""

    kind = ""

    @pytest.fixture(scope="class")
    def project(self, tmp_path_factory):
        """(kind, project directory, connection) of a small demo store."""
        kind = self.kind
        directory = tmp_path_factory.mktemp(f"outputs-{kind}") / "project"
        uri = store_uri(kind, directory)
        run_child(_BUILD, str(directory), uri or "", FORMATS_LABEL,
                  json.dumps({k: v.hex() for k, v in FORMAT_FILES.items()}))
        BARE[kind] = uri or str(directory / ".smt" / "records")
        conn = smtql.connect(directory)
        yield kind, directory, conn
        conn.close()

    # ------------------------------------------------------------------ predicates

    def test_a_predicate_sees_only_the_records_the_rest_leaves(self, project, built):
        _, _, conn = project
        records = every_record(conn)
        built.clear()
        finished = set(conn.query("tag finished").labels)
        assert 0 < len(finished) < len(records)

        p = Counting(long_run)
        res = conn.query("tag finished and $p", p=p)
        assert sorted(p.seen) == sorted(finished)  # pushed-down part first
        assert sorted(built) == sorted(finished)  # and no other Record built
        assert set(res.labels) == {r.label for r in records if r.label in finished and long_run(r)}

        p, built[:] = Counting(long_run), []
        res = conn.query("$p or tag finished", p=p)  # `or`: records the tag decides never reach it
        assert sorted(p.seen) == sorted(set(r.label for r in records) - finished) == sorted(built)
        assert set(res.labels) == finished | {r.label for r in records if long_run(r)}

        p = Counting(long_run)
        res = conn.query('not $p and tag finished and reason != "no such reason"', p=p)
        assert sorted(p.seen) == sorted(finished)
        assert set(res.labels) == {r.label for r in records if r.label in finished
                                   and not long_run(r)}


    def test_cheap_post_filter_conditions_run_before_a_predicate(self, project):
        _, _, conn = project
        # `reason matches` is decided in Python on every store: still before $p
        p = Counting(long_run)
        conn.query('$p and reason matches "^(baseline|sweep)"', p=p)
        assert sorted(p.seen) == sorted(conn.query('reason matches "^(baseline|sweep)"').labels)


    def test_an_exception_in_a_predicate_stops_the_query_naming_it(self, project):
        _, _, conn = project

        def broken(record):
            raise KeyError("μtilde")
        with pytest.raises(PredicateError) as info:
            conn.query("tag finished and $broken", broken=broken)
        err = info.value
        assert "$broken" in str(err) and "KeyError" in str(err)
        assert err.label in conn.query("tag finished").labels and err.label in str(err)
        assert isinstance(err.__cause__, KeyError) and err.exit_status == 1


    def test_a_predicate_works_wherever_a_filter_does(self, project):
        _, directory, conn = project
        want = {r.label for r in every_record(conn) if long_run(r)}
        assert set(conn.query("let slow = $p and tag finished; find $slow", p=long_run).labels) \
            == want & set(conn.query("tag finished").labels)
        assert int(conn.query("count $p", p=long_run)) == len(want)
        preview = conn.query("tag checked where $p", p=long_run, dry_run=True)
        assert set(preview.data["labels"]) == want
        assert conn.query("count tag checked") == 0  # a dry run: nothing written
        diff = conn.query("diff where $p and tag finished", p=long_run)
        assert set(diff.labels) == want & set(conn.query("tag finished").labels)
        program = directory / "slow.smtql"
        program.write_text("tag finished and $p\n")
        assert set(smtql.load(program, p=long_run).labels) == want & set(conn.query("tag finished").labels)
        plan = str(conn.query("explain tag finished and $p", p=long_run))
        assert re.search(r"post-filter: (.* and )?\$p  ", plan), plan  # the predicate last


    def test_a_value_is_not_a_predicate(self, project):
        _, _, conn = project
        with pytest.raises(QueryError, match="not a filter.*only from Python"):
            conn.query("tag finished and $p", p=3)
        with pytest.raises(QueryError, match="a Python predicate.*not a value"):
            conn.query("tag finished and duration > $p", p=long_run)


    # ------------------------------------------------------------------ output values

    def test_output_values_filter_show_and_sort(self, project):
        _, directory, conn = project
        records = every_record(conn)
        found = {r.label: metrics(directory, r) for r in records}
        want = {label for label, m in found.items() if m is not None and m["loss"] < 0.01}
        res = conn.query('tag finished and output("metrics.json").loss < 0.01 '
                         'show label, output("metrics.json").loss '
                         'order by output("metrics.json").loss desc')
        assert set(res.labels) == want and want
        losses = [row['output("metrics.json").loss'] for row in res]
        assert losses == sorted((found[label]["loss"] for label in want), reverse=True)
        gone = [r.label for r in records if any(k.path.endswith("/metrics.json")
                                                for k in r.output_data) and found[r.label] is None]
        assert gone, "the demo removes some runs' files"
        res = conn.query('tag finished and not output("metrics.json").loss < 0.01')
        assert not set(res.labels) & want
        assert any("not on disk" in n for n in res.notes)


    def test_output_values_group_and_aggregate(self, project):
        """`output(…)` as a group key and an aggregate's argument (LANGUAGE.md
        §9, §11), against the files read here."""
        _, directory, conn = project
        losses = [m["loss"] for r in every_record(conn) if "_finished_" in r.tags
                  for m in [metrics(directory, r)] if m is not None]
        res = conn.query('tag finished group by status show count(output("metrics.json").loss), '
                         'min(output("metrics.json").loss), max(output("metrics.json").loss)')
        (row,) = [row for row in res if row["status"] == "finished"]
        assert row['count(output("metrics.json").loss)'] == len(losses) > 0
        assert row['min(output("metrics.json").loss)'] == min(losses)
        assert row['max(output("metrics.json").loss)'] == max(losses)
        res = conn.query('tag finished group by output("metrics.json").loss show count')
        counted = {row['output("metrics.json").loss']: row["count"] for row in res}
        for loss in set(losses):
            assert counted[loss] == losses.count(loss)

    def test_output_values_of_each_format(self, project, tmp_path):
        _, directory, conn = project
        one = f'label = "{FORMATS_LABEL}"'
        assert conn.query(f'{one} and output("extra.yaml").loss = 0.5').labels == [FORMATS_LABEL]
        assert conn.query(f'{one} and output("extra.yaml").nested.a.1 = 2').labels == [FORMATS_LABEL]
        assert conn.query(f'{one} and output("*.toml").nested.a = [3, 4]').labels == [FORMATS_LABEL]
        assert conn.query(f'{one} and output("extra.toml").loss < 0.3').labels == [FORMATS_LABEL]
        # a corrupt file and a YAML tag beyond plain data: the value is missing, with a note
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            for name in ("broken.json", "evil.yaml"):
                res = conn.query(f'{one} and output("{name}").loss = 0.1 show label')
                assert res.labels == []
                assert any(f'output("{name}")' in n and "could not be parsed" in n for n in res.notes)
                res = conn.query(f'{one} and not output("{name}") = 0')
                assert res.labels == [FORMATS_LABEL]  # no comparison holds: `not` keeps it
        finally:
            os.chdir(cwd)
        assert not (tmp_path / "PWNED").exists() and not (directory / "PWNED").exists()


    def test_files_are_read_once_and_again_when_they_change(self, project):
        _, directory, conn = project
        path = directory / "out" / FORMATS_LABEL / "extra.yaml"
        query = f'label = "{FORMATS_LABEL}" and output("extra.yaml").loss > 0 ' \
                f'show output("extra.yaml").loss order by output("extra.yaml").loss'
        conn.query(query)
        before = outputs.CACHE.reads
        assert conn.query(query)[0]['output("extra.yaml").loss'] == 0.5
        assert outputs.CACHE.reads == before  # cached across queries
        original = path.read_bytes()
        try:
            path.write_bytes(b"loss: 0.75  # rewritten\n")
            assert conn.query(query)[0]['output("extra.yaml").loss'] == 0.75
            assert outputs.CACHE.reads == before + 1  # read again, once for filter, show and order
        finally:
            path.write_bytes(original)


    def test_outputs_missing_follows_the_disk(self, project):
        _, directory, conn = project
        missing = set(conn.query("outputs missing").labels)
        res = conn.query("tag finished and not outputs missing")
        victim = res.records[0]
        path = directory / sorted(k.path for k in victim.output_data)[0]
        moved = path.with_name(path.name + ".away")
        path.rename(moved)
        try:
            assert set(conn.query("outputs missing").labels) == missing | {victim.label}
        finally:
            moved.rename(path)
        assert set(conn.query("outputs missing").labels) == missing


    def test_paths_resolve_against_the_data_store(self, project, tmp_path):
        """A bare store: each record's stored data store (the project directory
        here). A project directory: the project's own data store, which may be
        elsewhere (a project moved, or its data on another disk)."""
        kind, directory, conn = project
        query = 'tag finished and output("metrics.json").loss >= 0 show label, output("metrics.json").loss'
        want = {row["label"]: row['output("metrics.json").loss'] for row in conn.query(query)}
        assert want
        with smtql.connect(store=BARE[kind]) as bare:
            assert {row["label"]: row['output("metrics.json").loss'] for row in bare.query(query)} == want
        # a second project file naming the same store, its data store elsewhere
        info = json.loads((directory / ".smt" / "project").read_text())
        moved = tmp_path / "moved"
        (moved / ".smt").mkdir(parents=True)
        if kind == "sqlite":
            info["record_store"]["db_file"] = BARE[kind]
        info["data_store"]["root"] = str(moved / "data")
        (moved / ".smt" / "project").write_text(json.dumps(info))
        label = sorted(want)[0]
        target = moved / "data" / "out" / label / "metrics.json"
        target.parent.mkdir(parents=True)
        target.write_text('{"loss": 42}')
        with smtql.connect(moved) as elsewhere:
            assert elsewhere.query(query).labels == [label]
            assert elsewhere.query(query)[0]['output("metrics.json").loss'] == 42


    # ------------------------------------------------------------------ from Python

    def test_res_outputs_lists_every_file(self, project):
        _, directory, conn = project
        res = conn.query("tag finished latest 5")
        frame = res.outputs()
        assert list(frame.columns) == ["label", "path", "resolved", "digest", "size", "on_disk",
                                       "digest_matches"]
        want = [(r.label, k.path) for r in res.records for k in sorted(r.output_data,
                                                                        key=lambda k: k.path)]
        assert list(zip(frame.label, frame.path)) == want
        for line in frame.itertuples():
            assert line.resolved == str(directory / line.path)
            assert line.on_disk == Path(line.resolved).is_file()
            assert line.digest_matches == line.on_disk  # the demo's digests are real SHA-1s


    def test_res_load_each_format(self, project):
        _, _, conn = project
        res = conn.query(f'label = "{FORMATS_LABEL}"')
        label = FORMATS_LABEL
        assert res.load("extra.yaml")[label] == {"loss": 0.5, "nested": {"a": [1, 2]}}
        assert res.load("extra.toml")[label] == {"loss": 0.25, "nested": {"a": [3, 4]}}
        assert list(res.load("curve.csv")[label]["loss"]) == [0.9, 0.4]
        assert res.load("notes.txt")[label] == "μ converged\n"
        with pytest.raises(QueryError, match="pickle"):
            res.load("model.pkl")
        assert res.load("model.pkl", allow_pickle=True)[label] == {"weights": [1, 2]}
        with pytest.raises(QueryError, match="cannot be read as YAML"):
            res.load("evil.yaml")
        finished = conn.query("tag finished and not outputs missing latest 3")
        loaded = finished.load("metrics.json")
        assert set(loaded) == set(finished.labels) and all("loss" in m for m in loaded.values())
        arrays = finished.load("loss.npy")
        assert all(a.ndim == 1 and len(a) == m["epochs"] for a, m in
                   zip(arrays.values(), loaded.values()))
        for archive in finished.load("weights.npz").values():
            assert set(archive) == {"weights"}


    def test_res_load_leaves_out_files_not_on_disk(self, project):
        _, _, conn = project
        res = conn.query("tag finished and outputs missing")
        with pytest.warns(UserWarning, match="not on disk"):
            loaded = res.load("metrics.json")
        assert len(loaded) < len(res)


    # ------------------------------------------------------------------ the command line

    def test_predicates_cannot_come_from_the_command_line(self, project, tmp_path):
        kind, directory, _ = project
        if kind != "sqlite":
            pytest.skip("the command line is the same for every store")
        program = tmp_path / "slow.smtql"
        program.write_text("tag finished and $slow\n")
        for args in (["tag finished and $slow"], ["run", str(program), "--set", "slow=1"]):
            proc = subprocess.run([sys.executable, "-m", "smtql", "-C", str(directory), *args],
                                  env=child_env(), capture_output=True, text=True, timeout=120)
            assert proc.returncode == 1, proc.stderr
            assert "$slow" in proc.stderr and "only from Python" in proc.stderr
            assert "Traceback" not in proc.stderr


class TestSqlite(Outputs):
    kind = "sqlite"


class TestPostgres(Outputs):
    kind = "postgres"


class TestShelve(Outputs):
    kind = "shelve"
