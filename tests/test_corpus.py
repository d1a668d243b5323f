import warnings
from pathlib import Path

import pytest

from service.build.corpus import CorpusError, CorpusWarning, load_articles, slugify
from tests.conftest import CORPUS, DATA

GOOD = """---
title: A title
slug: a-title
kind: article
---
## First part

Intro sentence:

- item one
- item two

## First part

Second text.
"""


def write(folder: Path, name: str, text: str) -> Path:
    (folder / "articles").mkdir(exist_ok=True)
    path = folder / "articles" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_test_corpus_loads_with_six_articles():
    articles = load_articles(CORPUS)
    assert {a.kind for a in articles} == {"article", "summary"}
    assert len(articles) == 6
    main = next(a for a in articles if a.kind == "article")
    headings = [s.heading for s in main.sections]
    assert headings[0] == "Introduction" and "When to see a doctor" in headings
    assert main.care_sections == ("when-to-see-a-doctor",)


def test_markdown_lists_stay_with_their_sentence_and_repeated_headings_get_suffixes(tmp_path):
    write(tmp_path, "a.md", GOOD)
    [article] = load_articles(tmp_path)
    assert [s.anchor for s in article.sections] == ["first-part", "first-part-2"]
    block = article.sections[0].blocks[0]
    assert block.text == "Intro sentence:" and block.items == ("item one", "item two")


@pytest.mark.parametrize(
    "text, line, reason",
    [
        (GOOD.replace("title: A title\n", ""), 1, "title"),
        (GOOD.replace("kind: article", "kind: [oops"), 4, "broken front matter"),
        (GOOD.replace("kind: article", "kind: recipe"), 4, "unknown kind"),
        (GOOD.split("## First part")[0], 6, "empty body"),
        ("no front matter\n", 1, "front matter"),
        (GOOD.replace("## First part\n\nIntro", "Stray text\n## First part\n\nIntro", 1), 6, "before the first"),
    ],
)
def test_malformed_articles_name_file_line_and_reason(tmp_path, text, line, reason):
    path = write(tmp_path, "bad.md", text)
    with pytest.raises(CorpusError) as caught:
        load_articles(tmp_path)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert reason in caught.value.reason


def test_duplicate_slug_is_rejected_with_the_second_file(tmp_path):
    write(tmp_path, "a.md", GOOD)
    second = write(tmp_path, "b.md", GOOD)
    with pytest.raises(CorpusError) as caught:
        load_articles(tmp_path)
    assert caught.value.path == str(second) and caught.value.line == 3 and "duplicate slug" in caught.value.reason


def test_jsonl_records_become_one_section_articles_with_ids_unchanged():
    articles = load_articles(DATA / "medquad_sample.jsonl")
    assert articles[0].slug == "CancerGov_0000001_1_1"
    assert articles[0].url.startswith("https://")
    assert all(len(a.sections) == 1 for a in articles)
    # Same title on several lines: never merged.
    titles = [a.title for a in articles]
    assert len(articles) == 8 and len(set(titles)) < len(titles)


def test_jsonl_errors_name_the_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "title": "T", "text": "x"}\n{not json}\n', encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        load_articles(path)
    assert caught.value.line == 2
    path.write_text('{"id": "a", "title": "T", "text": "x"}\n{"id": "a", "title": "T", "text": "y"}\n')
    with pytest.raises(CorpusError, match="duplicate id"):
        load_articles(path)


def test_slugify():
    assert slugify("When to see a doctor") == "when-to-see-a-doctor"
    assert slugify("Parkinson’s disease!") == "parkinsons-disease"


def test_an_empty_jsonl_corpus_is_refused(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="no articles"):
        load_articles(path)


@pytest.mark.parametrize(
    "value, says",
    [
        ("12345", "'title' must be text, not a number (12345)"),
        ("2024-01-31", "'title' must be text, not a date"),
        ("[a, b]", "'title' must be text, not a list"),
        ("true", "'title' must be text, not true/false"),
    ],
)
def test_a_title_that_is_not_text_says_so(tmp_path, value, says):
    write(tmp_path, "a.md", GOOD.replace("title: A title", f"title: {value}"))
    with pytest.raises(CorpusError) as caught:
        load_articles(tmp_path)
    assert caught.value.line == 2
    assert caught.value.reason.startswith(says) and "quotes" in caught.value.reason
    assert "missing or empty" not in caught.value.reason


def test_a_quoted_number_is_a_fine_title_and_an_empty_one_is_still_missing(tmp_path):
    write(tmp_path, "a.md", GOOD.replace("title: A title", 'title: "12345"'))
    assert load_articles(tmp_path)[0].title == "12345"
    write(tmp_path, "a.md", GOOD.replace("title: A title", "title: ''"))
    with pytest.raises(CorpusError, match="missing or empty 'title'"):
        load_articles(tmp_path)


def test_a_jsonl_title_that_is_not_text_says_so(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "title": 12345, "text": "x"}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="'title' must be text, not a number") as caught:
        load_articles(path)
    assert caught.value.line == 1


LABELLED = GOOD.replace(
    "Second text.",
    "If you have sharp pain. Read more. What causes it?\n\n"
    "Teaser text, Read more Often it is\n\nAnother teaser Continue reading",
)


def test_scraped_link_labels_are_a_warning_naming_file_and_line(tmp_path):
    path = write(tmp_path, "a.md", LABELLED)
    with pytest.warns(CorpusWarning) as caught:
        [article] = load_articles(tmp_path)
    found = [(w.message.path, w.message.line, w.message.reason.split(" looks like")[0]) for w in caught]
    assert found == [
        (str(path), 15, "'Read more.'"),
        (str(path), 17, "'Read more'"),
        (str(path), 19, "'Continue reading'"),
    ]
    assert "site chrome" in caught[0].message.reason
    assert "Read more" in article.sections[1].blocks[0].text  # a warning: the article is still loaded


@pytest.mark.parametrize(
    "sentence",
    ["To learn more about it, ask your doctor.", "Read more about kegels here.", "She likes to read more books."],
)
def test_sentences_that_merely_use_the_words_are_not_warned_about(tmp_path, sentence):
    write(tmp_path, "a.md", GOOD.replace("Second text.", sentence))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusWarning)
        load_articles(tmp_path)


def test_no_link_labels_remain_in_the_test_corpus():
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorpusWarning)
        load_articles(CORPUS)


def test_the_build_command_prints_the_warning_and_still_builds(tmp_path, capsys):
    from service.cli import main

    path = write(tmp_path, "a.md", LABELLED)
    status = main(["build", "--corpus", str(tmp_path), "--index", str(tmp_path / "index")])
    out = capsys.readouterr()
    assert status == 0 and out.out.startswith("built ")
    assert f"{path}:15: warning: 'Read more.' looks like a link label" in out.err
    assert (tmp_path / "index" / "CURRENT").exists()
