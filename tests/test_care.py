"""Care advice: warning signs are the list items of an article's care sections."""
from service.care import CareSigns
from service.models import ArticleRef, Passage
from service.schema import analyze

REF = ArticleRef(slug="a", title="A", url=None)
PASSAGES = [
    Passage(id="1", article=REF, section="Causes", anchor="causes", position=0,
            text="Leaking can follow pain when urinating.\n- Not a sign: listed outside a care section"),
    Passage(id="2", article=REF, section="When to see a doctor", anchor="see-a-doctor", position=1,
            text="See a doctor if you notice:\n- Blood in semen\n- Pain when urinating or ejaculating\n- Fever"),
]
ARTICLES = {"a": {"care_sections": ["see-a-doctor"]}}


def signs():
    return CareSigns(PASSAGES, ARTICLES)


def test_signs_come_only_from_list_items_of_care_sections():
    found = signs().signs
    assert [s.stems for s in found] == [tuple(analyze("Blood in semen")),
                                         tuple(analyze("Pain when urinating or ejaculating")),
                                         tuple(analyze("Fever"))]
    assert {s.row for s in found} == {1}


def test_a_question_meets_a_sign_when_it_holds_most_of_its_words():
    assert signs().rows_for(set(analyze("blood in my semen?")), []) == [1]
    assert signs().rows_for(set(analyze("painful urination")), []) == [1]  # 2 of 4 stems
    assert signs().rows_for(set(analyze("semen color")), []) == []          # 1 of 3 stems


def test_a_top_passage_meets_a_sign_only_by_stating_it_word_for_word():
    stating = analyze("Some men see blood in semen after a biopsy.")
    scattered = analyze("Semen quality and blood tests.")
    assert signs().rows_for(set(), [stating]) == [1]
    assert signs().rows_for(set(), [scattered]) == []


def test_no_care_sections_no_signs():
    assert CareSigns(PASSAGES, {"a": {"care_sections": []}}).signs == []


def test_a_sign_is_met_by_meaning_when_there_is_a_model(encoder):
    signs = CareSigns(PASSAGES, ARTICLES, encoder.embed_query)
    question = "my semen has turned a weird colour"  # no sign's words, but a sign's meaning
    assert signs.rows_for(set(analyze(question)), []) == []
    assert signs.rows_for(set(analyze(question)), [], encoder.embed_query(question)[None]) == [1]
    unrelated = encoder.embed_query("how do kegel exercises work")[None]
    assert signs.rows_for(set(), [], unrelated) == []


def test_a_denied_sign_states_nothing(encoder):
    from service.clauses import clauses, stated_vectors
    text = "no blood and no pain, just a drip after I pee"
    stated = stated_vectors(clauses(text), encoder.embed_query(text), encoder.embed_query, happening=False)
    assert len(stated) == 0
