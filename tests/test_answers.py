"""The answering sentence and the two tiers, on the test corpus with the real model: sentence
spans as the build stores them, the sentence each result says answers, the snippet built around
it, the typing path left as it was, versions built before sentences were stored, and which
questions get answers, related articles or neither."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from service.build.sentences import SentenceSplitter
from service.index import version as V
from service.index.sentences import read_sentences, write_sentences
from service.query.search import FEW_ANSWERS, MAX_RELATED, SearchRequest, search
from service.query.snippets import MAX_FOCUS_CHARS, WINDOW_CHARS, snippet
from service.query.store import open_current
from tests.conftest import DATA

FAINTING = "sudden-feeling-of-passing-out-anxiety"
# The fainting article in words none of its passages use, and only loosely close in meaning.
IN_OTHER_WORDS = "everything went grey and i had to sit down on the bus when i panicked"


def plain(fragment: str) -> str:
    """A snippet as a reader sees it: tags dropped, entities decoded, ellipses and spacing gone."""
    return " ".join(html.unescape(re.sub(r"</?mark>", "", fragment)).replace("\u2026", " ").split())


def lay_questions() -> list[str]:
    lines = (DATA / "lay_questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()]


# --- sentence spans ------------------------------------------------------------------------


def test_sentences_are_exact_spans_that_know_abbreviations_decimals_and_list_items():
    text = "Dr. Smith says 2.5 mg is enough, e.g. for adults. Stop after a week!\n- Blood in semen.\n- Pain when peeing"
    spans = SentenceSplitter().spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Smith says 2.5 mg is enough, e.g. for adults.",
        "Stop after a week!",
        "Blood in semen.",  # a list item without its "- "
        "Pain when peeing",  # an item is a sentence even without a full stop
    ]


def test_a_line_ending_in_a_citation_is_one_sentence():
    """pysbd would make "[12]" a sentence of its own; a line with no sentence end inside it is
    taken whole."""
    text = "It was first described in 1990.[12]\n- Swelling (oedema)."
    assert [text[s:e] for s, e in SentenceSplitter().spans(text)] == [
        "It was first described in 1990.[12]",
        "Swelling (oedema).",
    ]


FORKED_SPLIT = """
import json
import numpy as np
import service.build.sentences as sentences
from service.build.forked import run_parts
from service.index import schema as S

stored = [{S.TEXT_FIELD: f"Passage {i}. It has two sentences, e.g. this one.\\n- An item"} for i in range(7)]
alone = sentences.passage_sentences(stored, procs=1)
parts_run = []

def counted(work, parts):
    parts_run.append(len(parts))
    return run_parts(work, parts)

sentences.run_parts = counted
forked = sentences.passage_sentences(stored, procs=3)
same = all(np.array_equal(a, b) for a, b in zip(alone, forked))
print(json.dumps({"parts": parts_run, "same": same, "first": alone[0].tolist()}))
"""


def test_forked_parts_split_as_one_process_does():
    """In a fresh interpreter: forking needs a single-threaded process, which a test session
    that has run servers is not."""
    done = subprocess.run([sys.executable, "-c", FORKED_SPLIT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["parts"] == [3]  # three parts: two of them split in forked children
    assert report["same"] and report["first"] == [3 * i for i in range(8)]


def test_a_repeated_sentence_gets_its_own_span_each_time():
    text = "Drink water. Rest. Drink water."
    assert SentenceSplitter().spans(text) == [(0, 12), (13, 18), (19, 31)]


def test_the_build_stores_a_span_and_a_vector_for_every_sentence(bundled_index, bundled_index_dir):
    sentences = bundled_index.sentences
    assert sentences is not None and sentences.vectors is not None
    splitter = SentenceSplitter()
    for row, passage in enumerate(bundled_index.passages):
        assert sentences.spans_of(row) == splitter.spans(passage.text)
    assert len(sentences.vectors) == len(sentences.spans) > len(bundled_index.passages)
    # int8 rows times their scale are the unit vectors to about 1%
    scaled = sentences.vectors.astype(np.float32) * sentences.scales[:, None]
    assert np.allclose(np.linalg.norm(scaled, axis=1), 1.0, atol=0.02)
    assert not sentences.spans.flags.writeable and not sentences.vectors.flags.writeable


def test_a_damaged_sentences_file_is_refused(tmp_path):
    first, spans = np.array([0, 2, 3]), np.array([[0, 5], [6, 9], [0, 4]])
    write_sentences(tmp_path, first, spans, None)
    assert read_sentences(tmp_path, passages=2, dimensions=None).spans_of(0) == [(0, 5), (6, 9)]
    with pytest.raises(ValueError, match="spans for 3 passages"):
        read_sentences(tmp_path, passages=3, dimensions=None)
    write_sentences(tmp_path, np.array([0, 4, 3]), spans, None)
    with pytest.raises(ValueError, match="out of order"):
        read_sentences(tmp_path, passages=2, dimensions=None)
    assert read_sentences(tmp_path / "nothing-here", passages=2, dimensions=None) is None


# --- the answering sentence ----------------------------------------------------------------


def test_each_result_says_which_sentence_answers_and_its_snippet_holds_it_whole(bundled_index):
    answered = 0
    for q in lay_questions():
        for hit in search(bundled_index, SearchRequest(q=q, limit=5)).hits:
            assert hit.answer is not None
            text = hit.passage.text
            assert 0 <= hit.answer.start < hit.answer.end <= len(text)
            assert (hit.answer.start, hit.answer.end) in bundled_index.sentences.spans_of(
                bundled_index.passages.index(hit.passage)
            )
            sentence = " ".join(text[hit.answer.start : hit.answer.end].split())
            if len(sentence) <= MAX_FOCUS_CHARS:
                assert sentence in plain(hit.snippet)
                answered += 1
    assert answered > 20


def test_the_answer_is_the_sentence_that_answers_not_the_passage_opening(bundled_index):
    hit = search(bundled_index, SearchRequest(q="pink blood in my semen", limit=3)).hits[0]
    assert hit.passage.section == "When to see a doctor"
    assert hit.answer_text == "Blood in semen."
    assert not hit.passage.text.startswith(hit.answer_text)
    assert hit.to_dict()["answer"] == {"start": hit.answer.start, "end": hit.answer.end, "text": "Blood in semen."}


def test_a_word_being_typed_keeps_the_window_around_the_matches(bundled_index):
    """The box's keystroke path: no answer chosen, the snippet as before this release."""
    results = search(bundled_index, SearchRequest(q="blood in sem", prefix=True, limit=5))
    assert results.hits and results.related == ()
    for hit in results.hits:
        assert hit.answer is None
    whole = search(bundled_index, SearchRequest(q="blood in semen ", prefix=True, limit=5))
    assert whole.hits[0].answer is not None  # the last word finished: a whole question


def test_a_version_built_before_sentences_were_stored_still_serves(bundled_index_dir, encoder, tmp_path):
    old = tmp_path / "index"
    shutil.copytree(bundled_index_dir, old, ignore=shutil.ignore_patterns(V.LOCK))
    folder = V.version_path(old, V.current_version(old))
    (folder / V.SENTENCES).unlink()
    (folder / V.SENTENCE_VECTORS).unlink()
    index = open_current(old, encoder)
    assert index.sentences is None
    current = open_current(bundled_index_dir, encoder)
    for q in lay_questions()[:10]:
        before, now = search(index, SearchRequest(q=q)), search(current, SearchRequest(q=q))
        assert [h.passage.id for h in before.hits] == [h.passage.id for h in now.hits]
        assert all(h.answer is None for h in before.hits)


# --- the snippet around the answer ---------------------------------------------------------


def test_the_snippet_starts_at_the_answer_and_keeps_words_whole():
    text = " ".join(f"word{i}" for i in range(200))
    focus = (text.index("word50"), text.index("word50") + len("word50 word51 word52"))
    shown = snippet(text, None, focus=focus)
    assert shown.startswith("\u2026 word50 word51 word52") and shown.endswith(" \u2026")
    assert WINDOW_CHARS - 10 <= len(plain(shown)) <= WINDOW_CHARS


def test_an_answer_near_the_end_is_shown_with_what_comes_before_it():
    text = " ".join(f"word{i}" for i in range(200))
    focus = (text.index("word198"), len(text))
    shown = snippet(text, None, focus=focus)
    assert shown.endswith("word198 word199") and shown.startswith("\u2026 word")
    assert len(plain(shown)) > WINDOW_CHARS - 10


def test_a_long_answer_is_shown_whole_up_to_the_cap():
    long_sentence = "A " + "very " * 100 + "long sentence."
    text = "Opening. " + long_sentence + " After."
    start = text.index("A very")
    shown = snippet(text, None, focus=(start, start + len(long_sentence)))
    assert plain(shown) == "A " + " ".join(["very"] * 100) + " long sentence."
    huge = "B " + "word " * 300 + "end."
    cut = snippet(huge, None, focus=(0, len(huge)))
    assert len(plain(cut)) <= MAX_FOCUS_CHARS and cut.endswith(" \u2026")


# --- two tiers -----------------------------------------------------------------------------


def test_a_question_in_other_words_gets_its_article_as_related_not_as_an_answer(bundled_index):
    results = search(
        bundled_index, SearchRequest(q="everything went grey and i had to sit down on the bus when i panicked")
    )
    assert results.hits == ()
    assert [r.article.slug for r in results.related][:1] == [FAINTING]
    assert results.to_dict()["related"][0] == {
        "slug": FAINTING,
        "title": "Sudden feeling of passing out anxiety",
        "url": f"/articles/{FAINTING}",
        "score": round(results.related[0].score, 4),
    }


@pytest.mark.parametrize("q", ["how do i bleed a radiator", "chocolate cake recipe", "cheapest flights to spain"])
def test_a_question_about_nothing_here_gets_neither_answers_nor_related(bundled_index, q):
    results = search(bundled_index, SearchRequest(q=q))
    assert results.hits == () and results.related == ()


def test_related_articles_come_only_beside_few_answers_and_never_repeat_an_answers_article(bundled_index):
    for q in lay_questions():
        results = search(bundled_index, SearchRequest(q=q, limit=10))
        assert len(results.related) <= MAX_RELATED
        if results.total >= FEW_ANSWERS:
            assert results.related == ()
        answered = {h.passage.article.slug for h in results.hits}
        assert not answered & {r.article.slug for r in results.related}


def test_a_close_answer_is_not_followed_by_whatever_else_cleared_the_floor(bundled_index):
    results = search(bundled_index, SearchRequest(q="what causes sharp pain around the belly button"))
    assert results.hits[0].passage.article.slug == "sharp-pulling-pain-in-belly-button"
    assert results.related == ()


def test_words_alone_answer_when_they_cover_the_question_even_if_the_model_does_not_know_them(bundled_index):
    """ "precum" is a word the model barely knows: the passage that has it is still an answer."""
    results = search(bundled_index, SearchRequest(q="what is precum"))
    assert results.hits and "pre-cum" in results.hits[0].passage.text.lower()


def test_without_the_model_the_answer_is_chosen_by_words(lexical_index):
    """A version served without its model (vectors unusable) still says which sentence answers."""
    assert lexical_index.sentences is not None and lexical_index.sentences.vectors is None
    hit = search(lexical_index, SearchRequest(q="blood in semen", limit=3)).hits[0]
    assert hit.answer_text is not None and "blood in semen" in hit.answer_text.lower()
    assert search(lexical_index, SearchRequest(q="blood in semen")).related == ()
