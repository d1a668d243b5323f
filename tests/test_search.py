"""The search core on the bundled corpus: ranking order, features, and hostile text."""

import pytest

from service.index import schema as S
from service.query.search import SearchRequest, search


def top(index, q, **kw):
    return search(index, SearchRequest(q=q, **kw))


def test_results_carry_article_section_link_and_highlighted_snippet(bundled_index):
    results = top(bundled_index, "kegel exercises")
    hit = results.hits[0]
    assert "Kegel exercises" in hit.passage.text
    assert hit.passage.section == "Sexual arousal"
    assert hit.passage.url == "/articles/semen-leakage#sexual-arousal"
    assert "<mark>Kegel</mark>" in hit.snippet


def test_synonym_finds_the_clinical_word(bundled_index):
    # "navel" is not in the corpus; the synonym list says it is the umbilicus / belly button.
    results = top(bundled_index, "navel")
    assert results.hits and "umbilicus" in results.hits[0].passage.text


def test_multi_word_synonym(bundled_index):
    results = top(bundled_index, "loss of smell")
    assert results.hits[0].passage.article.slug == "how-get-smell-back-after-covid"
    results = top(bundled_index, "gland under the jaw")
    assert results.hits[0].passage.article.slug == "submandibular-gland-swollen-and-painful"


def test_typed_words_outweigh_their_expansions(bundled_index):
    # "urine" is typed; "pee" is only its synonym. The passage with the typed word ranks first.
    results = top(bundled_index, "cloudy urine")
    assert "cloudy" in results.hits[0].passage.text


def test_typo_is_corrected_with_did_you_mean_in_real_words(bundled_index):
    results = top(bundled_index, "submandibullar glend")
    assert results.did_you_mean == "submandibular gland"
    assert results.hits[0].passage.article.slug == "submandibular-gland-swollen-and-painful"
    assert top(bundled_index, "submandibular gland").did_you_mean is None


def test_chatty_long_question_finds_the_medical_content(bundled_index):
    q = (
        "Hello doctor, thanks for reading. My husband is 45 and since last month he has noticed "
        "a burning feeling when urinating and some blood in his semen, should he worry? Thanks!"
    )
    results = top(bundled_index, q)
    assert results.hits
    assert results.hits[0].passage.article.slug == "semen-leakage"
    assert any("Burning sensation when urinating" in h.passage.text for h in results.hits[:3])


def test_unanswerable_question_returns_nothing(bundled_index):
    for q in ["car insurance quote", "cheap flights to paris", "zzzz qqqq"]:
        assert top(bundled_index, q).total == 0, q


def test_care_advice_present_for_warning_signs_and_absent_otherwise(bundled_index):
    care = top(bundled_index, "painful urination").care_advice
    assert care and care[0].passage.anchor == "when-to-see-a-doctor"
    assert "Pain when urinating" in care[0].passage.text
    assert top(bundled_index, "kegel exercises").care_advice == ()
    assert top(bundled_index, "covid smell").care_advice == ()


def test_article_filter_and_pagination(bundled_index):
    everything = top(bundled_index, "semen", limit=50)
    first, second = top(bundled_index, "semen", limit=2), top(bundled_index, "semen", limit=2, offset=2)
    assert [h.passage.id for h in first.hits + second.hits] == [h.passage.id for h in everything.hits[:4]]
    only = top(bundled_index, "pain", article="sharp-pulling-pain-in-belly-button")
    assert only.hits and {h.passage.article.slug for h in only.hits} == {"sharp-pulling-pain-in-belly-button"}


def test_prefix_expands_the_last_word(bundled_index):
    assert top(bundled_index, "sialad", prefix=False).total == 0  # a fragment matches nothing as a word
    results = top(bundled_index, "sialad", prefix=True)
    assert results.hits and "sialadenitis" in results.hits[0].passage.text


@pytest.mark.parametrize(
    "q",
    [
        'title:"semen" AND (leak OR NOT) ~2 ^3 * ? [a TO b] {x}',
        "semen?",
        "\x00\x01\x7f semen",
        "🙂🙂",
        "\u202e\u200f semen \u0301",
        "a" * 5000,
        "?" * 100,
        "AND OR NOT TO",
        ":",
        '"',
        "-",
        "*",
    ],
)
def test_hostile_text_never_raises_and_is_treated_as_text(bundled_index, q):
    results = top(bundled_index, q)
    assert len(results.hits) <= results.total and all(h.score > 0 for h in results.hits)
    for hit in results.hits:
        assert "<script" not in hit.snippet


def test_question_mark_is_not_a_wildcard(bundled_index):
    with_mark, without = top(bundled_index, "what is prostatitis?"), top(bundled_index, "what is prostatitis")
    assert [h.passage.id for h in with_mark.hits] == [h.passage.id for h in without.hits]


def test_snippets_escape_corpus_text_and_only_add_mark(bundled_index):
    from service.query.snippets import snippet

    html = snippet("<b>semen</b> & <script>x</script>", bundled_index.highlighter.pattern({"semen"}))
    assert html == "&lt;b&gt;<mark>semen</mark>&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;"


def test_snippet_marks_whole_words_in_any_inflection_and_case(bundled_index):
    from service.query.snippets import snippet

    marker = bundled_index.highlighter.pattern({S.stem("leak"), S.stem("pain")})
    html = snippet("Leaking, LEAKAGE and leaks; painting? PAINS, spain, pain-free", marker)  # leakage: "leakag"
    assert html == (
        "<mark>Leaking</mark>, LEAKAGE and <mark>leaks</mark>; painting? "
        "<mark>PAINS</mark>, spain, <mark>pain</mark>-free"
    )


def test_snippet_offsets_hold_when_lowercasing_changes_length(bundled_index):
    from service.query.snippets import snippet

    marker = bundled_index.highlighter.pattern({S.stem("semen")})
    text = "İstanbul clinic: semen leakage. " * 3  # "İ".lower() is two characters
    assert marker.spans(text) == marker._spans_by_regex(text)
    assert snippet(text, marker).count("<mark>semen</mark>") == 3


def test_find_and_regex_matching_agree_on_the_corpus(bundled_index):
    stems = {S.stem(w) for w in ("semen", "leak", "blood", "pain", "doctor", "infection", "smell", "clot")}
    marker = bundled_index.highlighter.pattern(stems)
    marked = 0
    for passage in bundled_index.passages:
        spans = marker.spans(passage.text)
        assert spans == marker._spans_by_regex(passage.text), passage.id
        marked += len(spans)
    assert marked > 20


@pytest.mark.parametrize(
    "q, expected",
    [
        ("semen leakage after urination", [("semen-leakage", "after-urination")]),
        ("swollen gland under the jaw", [("submandibular-gland-swollen-and-painful", "summary")]),
        ("blood clot symptoms", [("signs-of-a-blood-clotting-disorder", "summary")]),
        ("prostate infection", [("semen-leakage", "issues-related-to-prostate-prostatitis-and-prostate-cancer")]),
        ("fainting and anxiety", [("sudden-feeling-of-passing-out-anxiety", "summary")]),
        ("kegel exercises", [("semen-leakage", "sexual-arousal"), ("semen-leakage", "prevention")]),
    ],
)
def test_result_order_on_the_test_corpus(bundled_index, q, expected):
    """The order of the first answers on the frozen test corpus (as lunr's tests pin it)."""
    hits = top(bundled_index, q, limit=len(expected)).hits
    assert [(h.passage.article.slug, h.passage.anchor) for h in hits] == expected
