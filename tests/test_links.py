"""The one link rule (service/index/links.py) and the surfaces that follow it."""

import pytest

from service.index.links import article_link, is_article_page
from service.index.models import ArticleRef, CareAdvice, Hit, Passage
from service.web.pages import safe_link

PUBLISHER = "https://example.org/page"


@pytest.mark.parametrize(
    "publisher_url, anchor, public_url, expected",
    [
        (None, None, "", "/articles/a"),
        (None, "x", "", "/articles/a#x"),
        (None, "", "", "/articles/a"),
        (None, "x", "https://faq.example.org", "https://faq.example.org/articles/a#x"),
        (PUBLISHER, None, "", PUBLISHER),
        (PUBLISHER, "x", "", PUBLISHER + "#x"),
        (PUBLISHER, "x", "https://faq.example.org", PUBLISHER + "#x"),  # never prefixed: not ours
    ],
)
def test_a_link_is_the_publishers_page_or_ours_at_the_anchor(publisher_url, anchor, public_url, expected):
    assert article_link("a", publisher_url, anchor, public_url) == expected


def test_results_care_advice_and_the_pages_fallback_build_the_same_link():
    passage = Passage(id="p", article=ArticleRef("a", "A", None), section="S", anchor="x", position=0, text="t")
    ours = "https://faq.example.org/articles/a#x"
    assert passage.url == "/articles/a#x" == safe_link("javascript:0#x", "a")
    assert Hit(passage, 1.0, "t").to_dict("https://faq.example.org")["url"] == ours
    assert CareAdvice(passage).to_dict("https://faq.example.org")["url"] == ours


def test_only_our_own_paths_are_article_pages():
    assert is_article_page("/articles/a#x")
    assert not is_article_page(PUBLISHER) and not is_article_page("https://faq.example.org/articles/a")
