"""Care advice: the publisher's own "see a doctor" passages, when a warning sign is met.

Warning signs are the list items of the sections an article marks in ``care_sections``. A
question meets one in its words (compared after analysis, so "painful urination" meets "Pain
when urinating") or in its meaning (its stated clauses' vectors close to the sign's: "my semen
has turned a weird colour" meets "Secretions that do not look like healthy or normal semen").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .models import Passage
from .schema import analyze

# Cosine between a stated clause and a warning sign for the sign to count as met (calibrated on
# tests/data/care_questions.jsonl, see README).
CARE_SIMILARITY = 0.55


@dataclass(frozen=True)
class WarningSign:
    text: str
    stems: tuple[str, ...]
    row: int  # the care passage holding it


class CareSigns:
    def __init__(self, passages: Sequence[Passage], articles: dict[str, dict],
                 embed: Callable[[str], np.ndarray] | None = None) -> None:
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
                        self.signs.append(WarningSign(line[2:], stems, row))
                        self.rows.add(row)
        # One vector per sign when there is a model: the meaning test.
        self.vectors = np.stack([embed(s.text) for s in self.signs]) if embed and self.signs else None

    def rows_for(self, question_stems: set[str], passage_stems: Sequence[Sequence[str]],
                 stated: np.ndarray | None = None) -> list[int]:
        """Rows of care passages whose warning signs the question or a top passage meets.

        ``stated``: vectors of what the question states (clauses.stated_vectors), for the
        meaning test; None without a model.
        """
        rows: list[int] = []
        passages = [(stems, set(stems)) for stems in passage_stems]
        close = self._close(stated)
        for number, sign in enumerate(self.signs):
            if sign.row in rows:
                continue
            if number in close or _question_meets(sign.stems, question_stems) or any(
                    present.issuperset(sign.stems) and _contains_run(stems, sign.stems)
                    for stems, present in passages):
                rows.append(sign.row)
        return rows

    def _close(self, stated: np.ndarray | None) -> set[int]:
        """Numbers of the signs some stated clause means."""
        if self.vectors is None or stated is None or not len(stated):
            return set()
        best = (stated @ self.vectors.T).max(axis=0)
        return set(np.flatnonzero(best >= CARE_SIMILARITY).tolist())


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
