"""Solr-style synonym rules, parsed into analysed phrases for query-time expansion.

``a, b, c`` makes the phrases equivalent; ``a => b, c`` lets ``a`` expand to ``b`` and ``c`` only.
Phrases are compared after analysis (stems, stop words removed), so "belly buttons" meets
"belly button" and "peeing" meets "pee".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from service.index.schema import analyze

Phrase = tuple[str, ...]


@dataclass
class SynonymMap:
    # analysed phrase -> analysed alternatives (never including itself)
    expansions: dict[Phrase, list[Phrase]] = field(default_factory=dict)
    longest: int = 0
    words: set[str] = field(default_factory=set)  # every stem that can start an expansion

    def alternatives(self, phrase: Phrase) -> list[Phrase]:
        return self.expansions.get(phrase, [])

    def _add(self, source: Phrase, targets: list[Phrase]) -> None:
        known = self.expansions.setdefault(source, [])
        for target in targets:
            if target != source and target not in known:
                known.append(target)
        self.longest = max(self.longest, len(source))
        self.words.update(source)


def parse_synonyms(text: str) -> SynonymMap:
    """Rules from a synonyms file; lines that analyse to nothing are ignored."""
    mapping = SynonymMap()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=>" in line:
            left, right = line.split("=>", 1)
            sources, targets = _phrases(left), _phrases(right)
        else:
            sources = targets = _phrases(line)
        for source in sources:
            mapping._add(source, targets)
    return mapping


def _phrases(part: str) -> list[Phrase]:
    phrases = []
    for chunk in part.split(","):
        phrase = tuple(analyze(chunk))
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases
