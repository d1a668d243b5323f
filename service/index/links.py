"""Links to an article or one of its sections: the one rule every surface follows.

The API's results and care advice, the HTML pages, the search-box suggestions and the command
line all point readers at the same places, so they build the link here and nowhere else: the
publisher's own page when the article has one, else this service's page for it; then the
section's anchor; then, for a link to this service, its public address in front when it has one.
(The browser scripts in web/static/ repeat the fallback for links they did not make, in their own
language.)
"""

from __future__ import annotations

ARTICLE_PAGES = "/articles/"  # where this service serves each article: /articles/<slug>


def article_link(slug: str, publisher_url: str | None = None, anchor: str | None = None, public_url: str = "") -> str:
    """The link to an article, at ``anchor`` when one is given.

    ``public_url`` is this service's public address without a trailing slash: with it, a link
    to one of our pages is absolute, so it still works when pasted elsewhere. Publisher links are
    already absolute and are left as they are.
    """
    page = publisher_url or ARTICLE_PAGES + slug
    link = f"{page}#{anchor}" if anchor else page
    return public_url + link if link.startswith("/") else link


def is_article_page(link: str) -> bool:
    """The link points at one of this service's article pages (as a path, not made absolute)."""
    return link.startswith(ARTICLE_PAGES)
