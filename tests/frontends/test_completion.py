"""Completion: what is offered at each cursor position, against the demo
store's vocabulary (tags, task-folded parameter keys, labels, values)."""

from __future__ import annotations

import functools
import re

import pytest
from hypothesis import given, settings, strategies as st

from smtql.language import fields
from smtql.frontends.completion import complete, context
from smtql.frontends.vocabulary import Vocabulary, key_path


@pytest.fixture(scope="module")
def vocab(demo_connection):
    v = Vocabulary()
    v.load(demo_connection.store)
    assert v.error is None, v.error
    return v


def texts(text, vocab, variables=()):
    return [c.text for c in complete(text, vocab, variables)]


# ------------------------------------------------------------------ a dozen positions, the demo store

def test_start_of_program_offers_statements_fields_and_keys(vocab):
    got = texts("", vocab)
    for word in ("find", "count", "describe", "diff", "keys", "let", "tag", "after", "not"):
        assert word in got
    assert "label" in got and "duration" in got  # record fields
    assert "optimizer" in got  # a parameter key's first segment
    assert "show" not in got  # a clause cannot start a program


def test_keyword_prefix(vocab):
    assert texts("cou", vocab) == ["count"]
    assert texts("COU", vocab) == ["COUNT"]  # keywords keep the case typed


def test_after_tag_offers_status_words_and_store_tags(vocab):
    got = texts("tag ", vocab)
    assert got[:len(fields.STATUS_WORDS)] == list(fields.STATUS_WORDS)
    store_tags = {t for t in demo_tags(vocab) if not (t.startswith("_") and t.endswith("_"))}
    assert store_tags <= set(got)
    assert "_finished_" not in got  # shown as the status word
    assert "like" in got
    assert "optimizer" not in got  # no keys where a tag goes


def test_tag_prefix(vocab):
    got = complete("tag finished and tag fig", vocab)
    assert {c.text for c in got} == {t for t in demo_tags(vocab) if t.startswith("fig")}
    assert all(c.replace == 3 for c in got)


def test_after_status_only_status_words(vocab):
    assert texts("status ", vocab) == list(fields.STATUS_WORDS)
    assert texts("status cr", vocab) == ["crashed"]


def test_keys_one_segment_at_a_time_task_folded(vocab):
    got = complete("tag finished and optimizer.", vocab)
    assert {c.text for c in got} == {"lr", "model", "betas"}
    assert all(c.replace == 0 for c in got)
    got = complete("optimizer.model.k", vocab)
    assert [(c.text, c.replace) for c in got] == [("kind", 1)]
    assert {c.text for c in complete("optimizer.model.layers.", vocab)} == {"0", "1", "2"}
    assert texts("params.optimizer.mo", vocab) == ["model"]


def test_keys_named_like_fields_or_keywords_get_params_prefix(vocab):
    got = complete("count sta", vocab)
    by_text = {c.text: c for c in got}
    assert "params.status" in by_text  # the demo has a parameter called `status`
    assert "status" in by_text  # and the keyword
    assert by_text["params.status"].replace == 3
    assert "params.label" in texts("count lab", vocab)
    assert "label" in texts("count lab", vocab)


def test_values_of_a_key(vocab):
    assert texts('optimizer.model.kind = ', vocab)[:3] == sorted(
        ['"gru"', '"lstm"', '"rnn"'], key=lambda v: -vocab.values["optimizer.model.kind"][v])
    assert texts('optimizer.model.kind = "ls', vocab) == ['"lstm"']
    assert texts('optimizer.model.kind = ls', vocab) == ['"lstm"']
    assert set(texts("optimizer.lr in [0.1, ", vocab)) >= set(vocab.values["optimizer.lr"])
    assert len(vocab.values["optimizer.lr"]) >= 2
    assert '"converged"' in texts("tag finished and outcome = ", vocab)


def test_operators_after_a_key(vocab):
    got = texts("optimizer.lr ", vocab)
    assert {"in", "contains", "matches"} <= set(got)


def test_labels_after_describe_and_diff(vocab):
    got = texts("describe ", vocab)
    assert got[:len(vocab.labels)] == vocab.labels  # newest first
    assert "latest" in got and "earliest" in got
    prefix = vocab.labels[0][:6]
    got = texts("diff latest, " + prefix, vocab)
    assert got and all(t.startswith(prefix) for t in got)
    assert set(got) == {label for label in vocab.labels if label.startswith(prefix)}


def test_show_and_order_by(vocab):
    got = texts("tag finished show ", vocab)
    assert "default" in got and "label" in got and "optimizer" in got
    assert texts("tag finished order by dur", vocab) == ["duration"]
    # `exists` takes parameters only
    assert texts("exists dur", vocab) == []
    assert texts("exists n_", vocab) == ["n_epochs"]


def test_variables(vocab):
    got = texts("let good = tag finished; count $", vocab, variables=["lr"])
    assert got == ["$lr", "$good"]
    assert "$lr" in texts("count ", vocab, variables=["lr"])


def test_clauses_after_a_filter(vocab):
    got = texts("tag finished ", vocab)
    for word in ("and", "or", "show", "order", "limit", "latest", "earliest", "merged"):
        assert word in got


def test_nothing_in_comments_or_after_a_mistake(vocab):
    assert texts("count all -- a co", vocab) == []
    assert texts("count all # fin", vocab) == []
    assert texts("count ( ( ]", vocab) == []


# ------------------------------------------------------------------ the parts

def demo_tags(vocab):
    return set(vocab.tags)


def test_context_splits_the_word_being_typed():
    ctx = context("tag finished and optimizer.mo")
    assert ctx.word == "optimizer.mo"
    assert "KEY" in ctx.accepts
    assert [t.type for t in ctx.tokens] == ["TAG", "WORD", "_AND"]
    ctx = context('reason contains "Trace')
    assert ctx.word == '"Trace' and ctx.quote == '"'
    assert context("count all -- x") is None


def test_back_quoted_keys():
    v = Vocabulary.of(param_keys={"`learning-rate`": 3, "a": 2, "a.`b-c`": 2})
    assert texts("`lear", v) == ["`learning-rate`"]
    assert texts("a.", v) == ["`b-c`"]
    assert key_path("a.`b.c`.0") == ("a", "b.c", 0)


def test_completion_offers_keys_as_they_are_typed_back():
    """Issue 11, item 7: what completion inserts is the one spelling that
    reaches the key (a top-level `params`, a field or keyword name, a
    back-quote inside, a key that is not text)."""
    v = Vocabulary.of(param_keys={"params.params.lr": 2, "params.status": 1, "`a``b`": 1,
                                  "[true]": 1, "opt.[1]": 1, "optimizer": 1})
    assert texts("par", v) == ["params.params"]
    assert texts("params.params.", v) == ["lr"]
    assert "params.status" in texts("sta", v)  # beside the keyword `status`
    assert texts("`a", v) == ["`a``b`"]
    assert texts("opt.", v) == ["[1]"]


def test_an_empty_vocabulary_still_offers_the_grammar():
    v = Vocabulary()
    assert "count" in texts("", v)
    assert texts("tag ", v)[:len(fields.STATUS_WORDS)] == list(fields.STATUS_WORDS)


def test_vocabulary_loads_in_the_background(demo_connection):
    import threading
    lock = threading.Lock()
    v = Vocabulary()
    with lock:  # a query holds the store: the loader waits, the caller does not
        thread = v.start(demo_connection.store, lock)
        assert not v.ready.is_set()
        assert "count" in texts("", v)
    assert v.ready.wait(30)
    thread.join(5)
    assert v.error is None
    assert v.tags and v.param_keys and v.labels


def test_prompt_toolkit_completer(vocab):
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document
    from smtql.frontends.completer import make_completer
    import smtql.frontends.repl  # noqa: F401 - registers the backslash commands, as a session does
    completer = make_completer(lambda: vocab, lambda: ["lr"])
    got = list(completer.get_completions(Document("count optimizer.model.ki"), CompleteEvent()))
    assert [(c.text, c.start_position) for c in got] == [("kind", -2)]
    got = list(completer.get_completions(Document("\\fo"), CompleteEvent()))
    assert [c.text for c in got] == ["\\format"]
    got = list(completer.get_completions(Document("\\format j"), CompleteEvent()))
    assert [c.text for c in got] == ["json"]


# ------------------------------------------------------------------ issue 12, item 19

@pytest.mark.parametrize("text", ["optimizer.lr = [", "optimizer.lr = [0.1, ",
                                  "optimizer.lr != [", "tag finished and seed = ["])
def test_a_list_literal_offers_the_keys_values_never_labels(vocab, text):
    key = "seed" if "seed" in text else "optimizer.lr"
    got = complete(text, vocab)
    assert {c.text for c in got if c.meta.startswith("value")} == set(vocab.values[key])
    assert not set(vocab.labels) & {c.text for c in got}
    assert all(c.meta == "keyword" or c.meta.startswith(f"value of {key}, in ") for c in got)


@pytest.mark.parametrize("text", ["", "tag ", "optimizer.", "optimizer.lr = ", "describe ",
                                  "let x = tag a; count $"])
def test_every_candidate_says_what_it_is_in_words(vocab, text):
    got = complete(text, vocab, ["v"])
    assert got
    for c in got:
        assert "…" not in c.meta and not re.search(r"\(\d+\)$", c.meta), c  # no bare counts
        assert any(c.meta.startswith(w) for w in (
            "keyword", "field", "parameter", "status, in ", "tag, in ", "value of ",
            "record label", "variable")), c
    groups = [c for c in complete("optimizer.", vocab) if c.meta.startswith("parameter group")]
    assert {c.text for c in groups} == {"model"} | ({"betas"} & {c.text for c in groups})


# ------------------------------------------------------------------ a long program: work per key

STATEMENT = 'let f{i} = tag finished and optimizer.lr > 0.001 and reason contains "x;{i}"; -- ;\n'
LAST = 'find $f7 and optimizer.lr > 0.01 and tag finished show label, optimizer.lr'


@pytest.fixture
def parses(monkeypatch):
    """The characters of each statement text the grammar parses (the cache
    of parsed statements emptied first)."""
    from smtql.frontends import completion
    counted, parse = [], completion._parsed.__wrapped__

    def counting(statement):
        counted.append(len(statement))
        return parse(statement)

    monkeypatch.setattr(completion, "_parsed", functools.lru_cache(maxsize=4096)(counting))
    monkeypatch.setattr(completion, "_checkpoint", ("", 0, ()))
    return counted


def test_a_key_parses_only_its_statement_after_a_long_program(vocab, parses):
    """Issue 12, item C: typing at the end of a 10,000-character program
    parses the statements before once, then only the statement being typed
    at each key; the scan for quotes and `;` resumes where it stopped."""
    from smtql.frontends import completion
    prefix = "".join(STATEMENT.format(i=i) for i in range(125))
    assert len(prefix) > 10_000
    texts(prefix, vocab)
    assert sum(parses) <= len(prefix) + 1  # each statement once
    lets = [f"f{i}" for i in range(125)]
    for k in range(len(LAST) + 1):
        typed = LAST[:k]
        del parses[:]
        got = texts(prefix + typed, vocab)
        # the statement being typed (with the comment ending the line before), at most
        assert sum(parses) <= k + len(" -- ;\n"), (typed, parses)
        assert completion._checkpoint[1] >= len(prefix)  # the scan resumed past the prefix
        # what a program of this statement alone offers, with the lets before it bound
        assert got == texts(typed, vocab, variables=lets), typed


def test_a_mistake_in_an_earlier_statement_still_offers_nothing(vocab, parses):
    assert texts("count ( ( ];\nfind ", vocab) == []
    assert texts("count all;\nfind ", vocab) != []
    assert "$a" in texts("let a = all;\ncount all;\nfind $", vocab)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="a-;#\"'`\\\n ", max_size=40), st.text(alphabet="a-;#\"'`\\\n ",
                                                                max_size=40))
def test_a_resumed_scan_reads_the_text_as_a_fresh_one(before, after):
    """The scan resumes from the last text's checkpoint when the new text
    begins the same way; it must find what a scan from the start finds,
    whatever was typed or changed."""
    from smtql.frontends import completion
    completion._checkpoint = ("", 0, ())
    completion._scan(before)
    resumed = completion._scan(after)
    completion._checkpoint = ("", 0, ())
    assert resumed == completion._scan(after)
    completion._checkpoint = ("", 0, ())
    completion._scan(before)
    extended = completion._scan(before + after)  # typed on
    assert extended == _fresh_scan(before + after)


def _fresh_scan(text):
    from smtql.frontends import completion
    completion._checkpoint = ("", 0, ())
    return completion._scan(text)
