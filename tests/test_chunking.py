from service.build.chunking import HARD_MAX_WORDS, MAX_WORDS, chunk_article, chunk_articles, passage_id
from service.build.corpus import load_articles
from service.index.models import Article, Block, Section
from tests.conftest import CORPUS


def article(slug: str, *sections: Section) -> Article:
    return Article(slug=slug, title="T", kind="article", sections=sections)


def words(n: int, word: str = "word") -> str:
    return " ".join([word] * (n - 1)) + "."


def test_passages_never_cross_sections_and_cover_all_text():
    for art in load_articles(CORPUS):
        passages = chunk_article(art)
        for section in art.sections:
            mine = [p for p in passages if p.anchor == section.anchor]
            assert mine, section.heading
            joined = " ".join(" ".join(p.text.split()) for p in mine)
            for block in section.blocks:
                assert " ".join(block.full_text.split()) in joined


def test_list_stays_with_its_introducing_sentence():
    passages = chunk_articles(load_articles(CORPUS))
    prostate = [p for p in passages if "Symptoms of prostate cancer:" in p.text]
    assert len(prostate) == 1
    assert "- Dysuria." in prostate[0].text and "- Pelvic pain." in prostate[0].text


def test_long_sections_split_and_tiny_fragments_merge():
    long_section = Section("S", "s", tuple(Block(words(60, f"w{i}")) for i in range(6)))
    tiny = Section("Tiny", "tiny", (Block(words(50)), Block("Short tail.")))
    passages = chunk_article(article("x", long_section, tiny))
    long_parts = [p for p in passages if p.anchor == "s"]
    assert len(long_parts) >= 2
    assert all(len(p.text.split()) <= MAX_WORDS for p in long_parts)
    assert [p.text.endswith("Short tail.") for p in passages if p.anchor == "tiny"] == [True]


def test_a_huge_paragraph_is_split_at_sentences():
    sentences = " ".join(f"Sentence number {i} has some words in it." for i in range(80))
    passages = chunk_article(article("x", Section("S", "s", (Block(sentences),))))
    assert len(passages) > 1
    assert all(len(p.text.split()) <= HARD_MAX_WORDS for p in passages)
    assert all(p.text.endswith(".") for p in passages)


def test_ids_are_stable_unique_and_differ_across_articles():
    section = Section("S", "s", (Block("Same text here."),))
    first, again = chunk_article(article("a", section)), chunk_article(article("a", section))
    other = chunk_article(article("b", section))
    assert first[0].id == again[0].id
    assert first[0].id != other[0].id
    assert first[0].id == passage_id("a", "s", "Same text here.")
    all_ids = [p.id for p in chunk_articles(load_articles(CORPUS))]
    assert len(all_ids) == len(set(all_ids))


def test_positions_count_across_the_article():
    passages = chunk_articles(load_articles(CORPUS))
    main = [p for p in passages if p.article.slug == "semen-leakage"]
    assert [p.position for p in main] == list(range(len(main)))
