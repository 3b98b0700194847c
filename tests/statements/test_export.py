"""`export`: Sumatra's JSON, read back by Sumatra's own `import_` into a
fresh store (in a subprocess) with the same records, field by field."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from conftest import child_env
from statements.test_writes import build_stores

THEIRS = textwrap.dedent("""\
    import json, sys
    from sumatra.projects import load_project
    source = load_project(sys.argv[1])
    labels = json.loads(sys.argv[2])
    rs = source.record_store
    sys.stdout.write(rs.export_records([rs.get(source.name, l) for l in labels]))
""")

IMPORT = textwrap.dedent("""\
    import json, sys
    from sumatra.recordstore.django_store import DjangoRecordStore
    fresh = DjangoRecordStore(sys.argv[2])
    fresh.import_("copy", open(sys.argv[1]).read())
    labels = json.loads(sys.argv[3])
    sys.stdout.write(fresh.export_records([fresh.get("copy", l) for l in labels]))
""")


def sumatra(script, *args):
    proc = subprocess.run([sys.executable, "-c", script, *args], env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_export_imports_into_a_fresh_store(tmp_path):
    project = build_stores(tmp_path, [("sqlite", "sqlite")], records=10)["sqlite"]
    import smtql
    target = tmp_path / "out.json"
    with smtql.connect(project) as conn:
        labels = conn.query("tag finished").labels
        dry = conn.query(f'export tag finished to "{target}"', dry_run=True)
        assert not target.exists() and "dry run" in dry.text
        res = conn.query(f'export tag finished to "{target}"')
        assert res.data["records"] == len(labels) > 0
        stdout = conn.query("export tag finished").text
    ours = json.loads(target.read_text())
    assert json.loads(stdout) == ours
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.json")]  # no temp left
    got = {"theirs": sumatra(THEIRS, str(project), json.dumps(labels)),
           "back": sumatra(IMPORT, str(target), str(tmp_path / "fresh.db"), json.dumps(labels))}
    key = lambda r: r["label"]  # noqa: E731
    for mine, theirs, back in zip(sorted(ours, key=key), sorted(got["theirs"], key=key),
                                  sorted(got["back"], key=key)):
        for field in theirs:
            assert mine[field] == theirs[field], field
            assert back[field] == theirs[field], field
