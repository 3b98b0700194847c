"""The benchmarks' stores (benchmarks/grow.py) are stores Sumatra itself reads:
Sumatra's own RecordStore.get reads grown records back field by field
(parameters as Sumatra parses them and as it would serialise them again,
tags from the tag tables, outputs, timestamp), RecordStore.list(tags=…)
finds them through the tags column, every record has its own parameter
set, and the store is never analysed nor its schema changed."""

from __future__ import annotations

import json
import sqlite3
import sys

import yaml
from support.scripts import PLAIN
from support.store_support import ROOT, build_demo, run_child

sys.path.insert(0, str(ROOT))
from benchmarks.grow import expected_params, grow  # noqa: E402

_GET = PLAIN + r"""
import datetime, json, sys
from sumatra.projects import load_project
project = load_project(sys.argv[1])
store = project.record_store
out = {"records": {}, "by_tag": {}}
for label in json.loads(sys.argv[2]):
    r = store.get(project.name, label)
    ts = r.timestamp if r.timestamp.tzinfo else r.timestamp.replace(tzinfo=datetime.timezone.utc)
    out["records"][label] = {
        "timestamp": ts.astimezone(datetime.timezone.utc).isoformat(), "reason": r.reason,
        "outcome": r.outcome, "duration": r.duration, "tags": sorted(r.tags),
        "ptype": type(r.parameters).__name__, "params": plain(r.parameters),
        "text": str(r.parameters), "outputs": sorted(k.path for k in r.output_data),
        "output_meta": sorted((k.path, k.metadata["mimetype"]) for k in r.output_data),
    }
for tag in json.loads(sys.argv[3]):
    out["by_tag"][tag] = sorted(r.label for r in store.list(project.name, tags=[tag]))
print(json.dumps(out))
"""


def _schema(db: str) -> list:
    with sqlite3.connect(db) as c:
        return sorted(c.execute("SELECT type, name, sql FROM sqlite_master").fetchall())


def test_grown_records_read_back_through_sumatra(tmp_path):
    project = build_demo("sqlite", tmp_path / "project", records=40, seed=5)
    db = str(project / ".smt" / "records")
    before = _schema(db)
    log: list = []
    added = grow(db, 400, seed=2, batch=128, log=log)  # several batches
    assert added == len(log) == 360

    # never analysed, no index, no schema change
    assert _schema(db) == before
    with sqlite3.connect(db) as c:
        assert not c.execute("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%'").fetchall()
        n, sets = c.execute("SELECT COUNT(*), COUNT(DISTINCT parameters_id) FROM django_store_record "
                            "WHERE db_id > 40").fetchone()
        assert n == sets == 360, "every grown record has its own parameter set row"
        distinct = c.execute("SELECT COUNT(DISTINCT content) FROM django_store_parameterset ps "
                             "JOIN django_store_record r ON r.parameters_id = ps.id "
                             "WHERE r.db_id > 40").fetchone()[0]
        assert distinct == 360, "and no two grown records' sets have the same content"
        # the tags column agrees with the tag tables
        for label, column in c.execute("SELECT label, tags FROM django_store_record WHERE db_id > 40"):
            entry = next(e for e in log if e["label"] == label)
            assert column.split(",") == entry["tags"]

    formats = {e["ptype"] for e in log}
    assert formats == {"NTParameterSet", "JSONParameterSet", "YAMLParameterSet",
                       "SimpleParameterSet", "ConfigParserParameterSet"}
    assert any(e["cfg"]["style"] == "task" for e in log)
    assert {e["status"] for e in log} >= {"finished", "failed", "crashed", "killed"}

    # a sample covering every format and status, read with Sumatra's own API
    sample, seen = [], set()
    for e in log:
        key = (e["ptype"], e["cfg"]["style"], e["status"])
        if key not in seen or len(sample) < 40:
            seen.add(key)
            sample.append(e)
    tags = ["_failed_", "figure1"]
    got = json.loads(run_child(_GET, str(project), json.dumps([e["label"] for e in sample]),
                               json.dumps(tags)))
    for e in sample:
        r = got["records"][e["label"]]
        assert r["timestamp"] == e["timestamp"].isoformat(), e["label"]
        assert r["tags"] == e["tags"]
        assert r["outputs"] == sorted(e["outputs"])
        assert r["reason"] == e["reason"] and r["outcome"] == e["outcome"]
        assert r["duration"] == e["duration"]
        assert r["ptype"] == e["ptype"]
        # Sumatra would store this very text for the set it parses back
        assert r["text"] == e["content"], (e["ptype"], r["text"], e["content"])
        want = expected_params(e)
        if want is not None:
            assert r["params"] == json.loads(json.dumps(want, default=str)), e["ptype"]
        else:  # ConfigParser: strings, by section
            assert r["params"]["optimizer"]["lr"] == str(e["cfg"]["lr"])
            assert r["params"]["model"]["kind"] == e["cfg"]["kind"]
    # RecordStore.list(tags=…) filters on the tags column
    assert got["by_tag"]["_failed_"] == sorted(e["label"] for e in log if e["status"] == "failed")
    assert set(got["by_tag"]["figure1"]) >= {e["label"] for e in log if "figure1" in e["tags"]}


def test_yaml_text_is_what_pyyaml_dumps():
    """grow.py uses libyaml's dumper for speed: the text must be yaml.dump's."""
    from benchmarks.grow import _YAML_DUMPER, _config, param_dict
    import random
    rng = random.Random(0)
    for i in range(50):
        cfg = dict(_config(rng, i), format="yaml")
        d = param_dict(cfg, tuples=False)
        assert yaml.dump(d, indent=4, Dumper=_YAML_DUMPER) == yaml.dump(d, indent=4)
