"""The benchmarks' bulk path (benchmarks/bulk.py) makes records Sumatra's own
RecordStore.get reads back with the intended fields: each copy has its
template's fields, tags, parameters and outputs, and its own label and
timestamp."""

from __future__ import annotations

import json

from support.store_support import ROOT, build_demo, run_child

import sys
sys.path.insert(0, str(ROOT))
from benchmarks.bulk import grow  # noqa: E402

_GET = r"""
import json, sys
from sumatra.projects import load_project
project = load_project(sys.argv[1])
out = {}
for label in json.loads(sys.argv[2]):
    r = project.record_store.get(project.name, label)
    out[label] = {
        "timestamp": r.timestamp.isoformat(), "reason": r.reason, "outcome": r.outcome,
        "duration": r.duration, "main_file": r.main_file, "version": r.version, "user": r.user,
        "script_arguments": r.script_arguments, "stdout_stderr": r.stdout_stderr,
        "tags": sorted(r.tags), "parameters": str(r.parameters), "ptype": type(r.parameters).__name__,
        "outputs": sorted(k.path for k in r.output_data), "executable": r.executable.path,
    }
print(json.dumps(out))
"""


def test_bulk_records_read_back_through_sumatra(tmp_path):
    project = build_demo("sqlite", tmp_path / "project", records=30, seed=4)
    made = grow(str(project / ".smt" / "records"), "demo", 60, seed=1)
    assert len(made) == 30
    sample = made[:8]
    labels = [m[0] for m in sample] + [m[1] for m in sample]
    got = json.loads(run_child(_GET, str(project), json.dumps(labels)))
    for new, template, ts in sample:
        a, b = dict(got[new]), dict(got[template])
        assert a.pop("timestamp") == ts.isoformat()
        b.pop("timestamp")
        b["outputs"] = [p.replace(template, new) for p in b["outputs"]]
        assert a == b
