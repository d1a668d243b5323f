"""Plain frozen records that flow through the pipeline; no I/O here.

corpus file -> Article -> Section -> Passage -> (index) -> Hit -> SearchResults
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.index.links import article_link


@dataclass(frozen=True)
class Block:
    """A paragraph, optionally followed by the list items it introduces."""

    text: str
    items: tuple[str, ...] = ()

    @property
    def full_text(self) -> str:
        return "\n".join((self.text, *("- " + item for item in self.items))).strip()


@dataclass(frozen=True)
class Section:
    heading: str
    anchor: str
    blocks: tuple[Block, ...]
    editorial: bool = False


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    kind: str
    sections: tuple[Section, ...]
    url: str | None = None
    source: str | None = None
    care_sections: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArticleRef:
    slug: str
    title: str
    url: str | None

    def to_dict(self) -> dict:
        return {"slug": self.slug, "title": self.title, "url": self.url}


@dataclass(frozen=True)
class Passage:
    id: str
    article: ArticleRef
    section: str
    anchor: str
    position: int
    text: str

    @property
    def url(self) -> str:
        """The article's own page when known, else this service's article page, at the section."""
        return self.link()

    def link(self, public_url: str = "") -> str:
        """``url``, made absolute with this service's public address when it is one of our pages."""
        return article_link(self.article.slug, self.article.url, self.anchor, public_url)


@dataclass(frozen=True)
class Answer:
    """The sentence(s) of a passage that best answer the question: ``text[start:end]``."""

    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    snippet: str
    answer: Answer | None = None  # None while a word is being typed (the snippet is then by words)

    def to_dict(self, public_url: str = "") -> dict:
        return {
            **_passage_fields(self.passage),
            "snippet": self.snippet,
            "score": round(self.score, 4),
            "url": self.passage.link(public_url),
            "answer": {"start": self.answer.start, "end": self.answer.end, "text": self.answer_text}
            if self.answer
            else None,
        }

    @property
    def answer_text(self) -> str | None:
        return self.passage.text[self.answer.start : self.answer.end] if self.answer else None


@dataclass(frozen=True)
class RelatedArticle:
    """An article close in meaning to the question, though none of its passages answers it."""

    article: ArticleRef
    score: float

    def to_dict(self, public_url: str = "") -> dict:
        return {
            **self.article.to_dict(),
            "url": article_link(self.article.slug, self.article.url, None, public_url),
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class CareAdvice:
    passage: Passage

    def to_dict(self, public_url: str = "") -> dict:
        return {**_passage_fields(self.passage), "url": self.passage.link(public_url)}


def _passage_fields(p: Passage) -> dict:
    """What every answer says of its passage, first and in this order (the API's field order)."""
    return {"id": p.id, "article": p.article.to_dict(), "section": p.section, "text": p.text}


@dataclass(frozen=True)
class UrgentNotice:
    """An emergency notice from the editors' rules (urgent.py): shown before any answer."""

    id: str
    title: str
    message: str
    source: str  # the public guidance the rule follows
    basis: str = "words"  # "words": a trigger stated; "meaning": a description close to the rule's examples

    @property
    def lead(self) -> str | None:
        """Said before the message when the match is by meaning: it cannot be sure the question
        tells of something happening now, and the notice must not claim more than it knows."""
        return MEANING_LEAD if self.basis == "meaning" else None

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "message": self.message,
            "source": self.source,
            "basis": self.basis,
            "lead": self.lead,
        }


MEANING_LEAD = "If this is happening now:"


@dataclass(frozen=True)
class SearchResults:
    query: str
    total: int
    hits: tuple[Hit, ...]
    took_ms: float
    did_you_mean: str | None = None
    care_advice: tuple[CareAdvice, ...] = field(default=())
    urgent: UrgentNotice | None = None
    related: tuple[RelatedArticle, ...] = field(default=())  # when answers are few or none

    def to_dict(self, public_url: str = "") -> dict:
        """The API's JSON. With ``public_url`` (the service's public address, no trailing slash) the
        links to this service's own article pages are absolute, so they work wherever they are pasted."""
        return {
            "query": self.query,
            "total": self.total,
            "results": [h.to_dict(public_url) for h in self.hits],
            "took_ms": round(self.took_ms, 3),
            "did_you_mean": self.did_you_mean,
            "urgent": self.urgent.to_dict() if self.urgent else None,
            "care_advice": [c.to_dict(public_url) for c in self.care_advice] or None,
            "related": [r.to_dict(public_url) for r in self.related],
        }
