"""Entity focusing: the words of a question that name an article or a section count for more.

A question like "my doctor put me on lisinopril and my pharmacy changed the brand, is that ok"
holds one thing the corpus is organised by — an article titled "Lisinopril" — and a lot of
everyday words that are rare in a health corpus ("pharmacy", "brand") and so weigh as much by
idf. The article titles and (publisher's) section headings are the corpus's own list of what it
is about: a run of question stems equal to one of them is an entity. Passages of that article or
section rank higher (search.ENTITY_BONUS), and its words are never dropped as chatter. A single
common word ("pain", "cancer") is no entity: it names too much of the corpus to single anything
out. (Weighting the entity's stems up as well was measured and lost on both development sets.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from service.index.frozen import frozen
from service.index.models import Passage
from service.index.schema import analyze

# A one-word title or heading is an entity only if its stem is in at most this share of the
# passages (and never when in more than MAX_SINGLE_DF): common words describe, they don't name.
MAX_SINGLE_SHARE = 0.01
MAX_SINGLE_DF = 300
MAX_ENTITY_STEMS = 6


@dataclass(frozen=True)
class Entity:
    stems: tuple[str, ...]
    rows: np.ndarray  # passages of the article(s) or section(s) it names


class EntityIndex:
    """Titles and publisher section headings, as stem tuples, with the passages they name."""

    def __init__(self, articles: Mapping[str, dict], passages: Sequence[Passage], stem_df: Mapping[str, int]) -> None:
        rows: dict[tuple[str, ...], list[int]] = {}
        editorial = {
            (slug, s["anchor"])
            for slug, meta in articles.items()
            for s in meta.get("sections", [])
            if s.get("editorial")
        }
        titles = {slug: tuple(analyze(meta["title"])) for slug, meta in articles.items()}
        headings: dict[tuple[str, str], tuple[str, ...]] = {}
        for row, passage in enumerate(passages):
            slug = passage.article.slug
            rows.setdefault(titles.get(slug, ()), []).append(row)
            if (slug, passage.anchor) not in editorial and passage.section != passage.article.title:
                key = headings.setdefault((slug, passage.anchor), tuple(analyze(passage.section)))
                rows.setdefault(key, []).append(row)
        limit = min(MAX_SINGLE_DF, max(1, int(MAX_SINGLE_SHARE * len(passages))))
        self._rows = {
            key: frozen(np.unique(np.array(found, dtype=np.int64)))
            for key, found in rows.items()
            if 0 < len(key) <= MAX_ENTITY_STEMS and (len(key) > 1 or stem_df.get(key[0], 0) <= limit)
        }
        self.longest = max((len(key) for key in self._rows), default=0)

    def __len__(self) -> int:
        return len(self._rows)

    def find(self, stems: Sequence[str]) -> list[tuple[int, Entity]]:
        """(start, entity) for each longest run of ``stems`` naming an entity, left to right."""
        found: list[tuple[int, Entity]] = []
        start = 0
        while start < len(stems):
            for length in range(min(self.longest, len(stems) - start), 0, -1):
                key = tuple(stems[start : start + length])
                if key in self._rows:
                    found.append((start, Entity(key, self._rows[key])))
                    start += length
                    break
            else:
                start += 1
        return found
