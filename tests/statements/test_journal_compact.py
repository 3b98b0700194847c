"""The journal keeps a large write's records by column (issue 10): a label,
an id and a change number each, the few distinct changes once; reading gives
back exactly the records written, in their order, and an entry of the
earlier form (a list of dicts) still reads."""

from __future__ import annotations

import json

from smtql.statements.journal import Journal


def _records(n: int) -> list[dict]:
    columns = ["_finished_", "_finished_,figure1", "_crashed_", None]
    return [{"label": f"20210101-{i:06d}_abcdef", "db_id": i,
             "added": ["x"], "removed": [] if i % 5 else ["old"],
             "column_before": columns[i % 4], "column_after": f"{columns[i % 4] or ''},x"}
            for i in range(n)]


def test_a_large_entry_is_stored_by_column_and_reads_back_the_same(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    records = _records(5000)
    entry = journal.begin("demo", "tag", ["x"], "tag x where all", records)
    line = journal.path.read_bytes().splitlines()[0]
    stored = json.loads(line)["records"]
    assert len(stored["changes"]) == 8  # 4 columns x 2 changes, each once
    assert len(line) < 45 * len(records)  # a label, an id and a number per record
    assert len(line) < len(json.dumps(records)) / 3
    [got] = journal.entries("demo")
    assert got["id"] == entry and got["records"] == records


def test_an_entry_of_the_earlier_form_still_reads(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    records = _records(3)
    journal.path.write_text(json.dumps({"event": "begin", "id": "a", "time": "t", "project": "demo",
                                        "op": "tag", "tags": ["x"], "statement": "tag x",
                                        "undoes": None, "records": records}) + "\n"
                            + json.dumps({"event": "commit", "id": "a"}) + "\n")
    assert journal.last_undoable("demo")["records"] == records
