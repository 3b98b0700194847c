"""smtql/statements/notes.py: notes that stay short, and cheap, whatever the
program's size (issue 16, item 12)."""

from __future__ import annotations

import pytest

import smtql
from smtql.statements import notes
from support.store_support import build_demo


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return build_demo("sqlite", tmp_path_factory.mktemp("notes") / "p", records=30, seed=2)


def test_labels_no_record_has_are_named_a_few_then_counted(project, monkeypatch):
    conn = smtql.connect(project)
    present = conn.query("find all").labels[:2]
    missing = [f"20200101-000000_{i:06x}" for i in range(20_000)]
    suggested = []
    real_closest = notes.closest
    monkeypatch.setattr(notes, "closest", lambda word, *a, **kw: suggested.append(word)
                        or real_closest(word, *a, **kw))
    listed = ", ".join(f'"{label}"' for label in missing[:7] + present + missing[7:])
    result = conn.query(f"count label in [{listed}]")
    assert int(result) == 2
    said = [n for n in result.notes if "no record has" in n]
    assert said[:notes.LABELS_SUGGESTED] == [
        n for n in said if n.startswith("no record has label")]
    assert [n.split("'")[1] for n in said[:notes.LABELS_SUGGESTED]] == missing[:notes.LABELS_SUGGESTED]
    assert said[-1] == f"and {len(missing) - notes.LABELS_SUGGESTED:,} more labels no record has"
    assert suggested == missing[:notes.LABELS_SUGGESTED]  # the store compared for these only


def test_one_missing_label_is_named_with_the_closest(project):
    conn = smtql.connect(project)
    label = conn.query("find all").labels[0]
    result = conn.query(f'count label in ["{label}x", "{label}"]')
    said = [n for n in result.notes if "no record has" in n]
    assert len(said) == 1 and said[0].startswith(f"no record has label '{label}x'; closest: {label}")
