"""The site's topics: the articles to browse when no passage answers a question and nothing is
close to it either (the search page, the box's page and the CLI show the same list)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from service.index.links import article_link


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    url: str


# A site's topics are a list to browse: past this many titles (a corpus of thousands of
# articles) the list would be a wall, and every search page carries it for search.js.
MAX_TOPICS = 50


def site_topics(articles: dict[str, dict], public_url: str = "") -> list[Topic]:
    """The articles by title (the first MAX_TOPICS), linked by the one link rule: what to browse
    when no passage answers a question and nothing is close to it either. The server works them
    out once per version (store.py); the CLI with its own public address."""
    topics = (
        Topic(slug, a["title"], article_link(slug, a.get("url"), public_url=public_url)) for slug, a in articles.items()
    )
    return heapq.nsmallest(MAX_TOPICS, topics, key=lambda t: t.title.casefold())
