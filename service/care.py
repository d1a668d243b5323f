"""Care advice: the publisher's own "see a doctor" passages, when a warning sign is met.

Warning signs are the list items of the sections an article marks in ``care_sections``. They
are compared after analysis, so "painful urination" meets "Pain when urinating".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .models import Passage
from .schema import analyze


@dataclass(frozen=True)
class WarningSign:
    stems: tuple[str, ...]
    row: int  # the care passage holding it


class CareSigns:
    def __init__(self, passages: Sequence[Passage], articles: dict[str, dict]) -> None:
        self.signs: list[WarningSign] = []
        self.rows: set[int] = set()  # the care passages themselves
        for row, passage in enumerate(passages):
            meta = articles.get(passage.article.slug) or {}
            if passage.anchor not in meta.get("care_sections", ()):
                continue
            for line in passage.text.splitlines():
                if line.startswith("- "):
                    stems = tuple(dict.fromkeys(analyze(line[2:])))
                    if stems:
                        self.signs.append(WarningSign(stems, row))
                        self.rows.add(row)

    def rows_for(self, question_stems: set[str], passage_stems: Sequence[Sequence[str]]) -> list[int]:
        """Rows of care passages whose warning signs the question or a top passage meets."""
        rows: list[int] = []
        passages = [(stems, set(stems)) for stems in passage_stems]
        for sign in self.signs:
            if sign.row in rows:
                continue
            if _question_meets(sign.stems, question_stems) or any(
                    present.issuperset(sign.stems) and _contains_run(stems, sign.stems)
                    for stems, present in passages):
                rows.append(sign.row)
        return rows


def _question_meets(sign: tuple[str, ...], question: set[str]) -> bool:
    """Most of the sign's words are in the question: at least half, and two when it has two."""
    found = sum(1 for s in sign if s in question)
    return found >= min(2, len(sign)) and 2 * found >= len(sign)


def _contains_run(stems: Sequence[str], sign: tuple[str, ...]) -> bool:
    """The passage states the sign itself: its words in order, side by side."""
    n = len(sign)
    if n < 2:
        return False
    return any(tuple(stems[i:i + n]) == sign for i in range(len(stems) - n + 1))
