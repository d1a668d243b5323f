"""Care advice: warning signs are the list items of an article's care sections, met only when the
question itself states one (by words or by meaning), never when it denies one or states none."""

import json

import numpy as np
import pytest

from service.build.corpus import CorpusError
from service.query.search import SearchRequest, read_question, search
from service.safety.care import CareSigns, parse_care_words, warning_signs
from service.safety.rulecheck import HOLDOUT, read_labelled, score_care, split_of
from service.safety.signs import BY_MEANING, BY_WORDS, Contrast, Reading, example_phrases
from tests.conftest import DATA

ROWS = [  # (article slug, section anchor, text) per passage row
    ("a", "causes", "Leaking can follow pain when urinating.\n- Not a sign: listed outside a care section"),
    (
        "a",
        "see-a-doctor",
        "See a doctor if you notice:\n- Blood in semen.\n- Pain when urinating or ejaculating.\n- Fever",
    ),
]
ARTICLES = {"a": {"care_sections": ["see-a-doctor"]}}
WORDS = parse_care_words(
    """
- sign: Blood in semen.
  examples: [my cum has blood in it]
- sign: Pain when urinating or ejaculating.
  triggers: [burns when peeing]
  examples: [it stings when I pee]
""",
    "care_signs.yaml",
)


def signs(vectors=None, contrast=None):
    return CareSigns(warning_signs(ROWS, ARTICLES), WORDS, vectors, contrast)


def test_signs_come_only_from_list_items_of_care_sections():
    found = warning_signs(ROWS, ARTICLES)
    assert [s.text for s in found] == ["Blood in semen.", "Pain when urinating or ejaculating.", "Fever"]
    assert {s.row for s in found} == {1}
    assert warning_signs(ROWS, {"a": {"care_sections": []}}) == []


def test_a_sign_is_met_by_all_the_words_of_its_text_or_of_an_editors_trigger():
    assert signs().rows_for(Reading("blood in my semen?")) == [1]
    assert signs().rows_for(Reading("it burns when I'm peeing")) == [1]  # the editors' lay trigger
    assert signs().rows_for(Reading("semen colour")) == []
    finding = signs().findings(Reading("it burns when peeing"))[0]
    assert (finding.basis, finding.evidence) == (BY_WORDS, "burns when peeing")


@pytest.mark.parametrize(
    "q",
    [
        "no blood in my semen, just a bit of leaking",
        "I have no burning when peeing, only a little leakage",
        "my semen is fine, there's no blood in it",
        "how common is semen leakage",
    ],
)
def test_a_denied_sign_or_no_sign_gets_no_advice(q):
    assert signs().rows_for(Reading(q)) == []


def test_a_broken_care_words_file_names_its_line():
    with pytest.raises(CorpusError) as error:
        parse_care_words("- sign: Blood in semen.\n  triggers: [the]\n", "care_signs.yaml")
    assert (error.value.line, "no content words" in error.value.reason) == (1, True)
    with pytest.raises(CorpusError, match="listed twice"):
        parse_care_words("- sign: Fever\n- sign: fever\n", "care_signs.yaml")


def test_a_sign_is_met_by_meaning_only_when_nearer_to_it_than_to_every_ordinary_question(encoder):
    care = signs()
    phrases = example_phrases(care.matcher.signs)
    vectors = np.stack([encoder.embed_query(p) for p in phrases])
    ordinary = ["is a little semen leakage after peeing normal"]
    contrast = Contrast(tuple(ordinary), np.stack([encoder.embed_query(t) for t in ordinary]))
    care = signs(vectors, contrast)

    def read(q):
        return Reading(q, encoder.embed_query(q), encoder.embed_questions)

    found = care.findings(read("there is red stuff in my cum"))
    assert [(f.sign.id, f.basis) for f in found] == [("Blood in semen.", BY_MEANING)]
    assert found[0].evidence == "my cum has blood in it" and found[0].similarity > found[0].ordinary_similarity
    assert care.rows_for(read("is a bit of semen leaking after I pee normal")) == []


def test_the_bundled_index_shows_advice_only_for_stated_signs(bundled_index):
    def advice(q):
        return search(bundled_index, SearchRequest(q=q)).care_advice

    assert advice("my cum has gone a strange yellowish colour")
    assert advice("it really burns when I pee and I leak a bit afterwards")
    for q in (
        "how common is semen leakage",
        "is semen leakage harmful",
        "I have no burning when urinating, only a little leakage",
        "when should I see a doctor",
    ):
        assert not advice(q), q


def test_the_care_set_holdout_stays_at_its_measured_level(bundled_index):
    """A regression guard on the untouched half of tests/data/safety/care.jsonl (README has the
    figures; `healthfaq check-rules` prints them)."""
    questions = [q for q in read_labelled(DATA / "safety" / "care.jsonl") if split_of(q["qid"]) == HOLDOUT]
    score = score_care(
        questions,
        lambda q: bundled_index.care.findings(read_question(bundled_index, q, bundled_index.semantic.embed(q))),
    )
    precision = score.shown_stating / max(1, score.shown_stating + score.shown_not_stating)
    recall = score.shown_stating / score.stating
    assert precision >= 0.9 and recall >= 0.85, (precision, recall, score.misses, score.false_alarms)


def test_every_care_line_is_labelled_consistently():
    for q in read_labelled(DATA / "safety" / "care.jsonl"):
        assert isinstance(q["care"], bool) and bool(q["signs"]) == q["care"], json.dumps(q)
