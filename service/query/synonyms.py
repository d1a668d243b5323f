"""Solr-style synonym rules, parsed into analysed phrases for query-time expansion.

``a, b, c`` makes the phrases equivalent; ``a => b, c`` lets ``a`` expand to ``b`` and ``c`` only.
Phrases are compared after analysis (stems, stop words removed), so "belly buttons" meets
"belly button" and "peeing" meets "pee".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from service.index.errors import CorpusError
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
    """Rules from a synonyms file as the build stored it (checked there: ``check_synonyms``)."""
    mapping = SynonymMap()
    for _, sources, targets in _rules(text):
        for source in sources:
            mapping._add(source, targets)
    return mapping


def check_synonyms(text: str, source: str) -> None:
    """Raise CorpusError (``file:line: reason``) at the first rule that cannot do what it says;
    the build calls this, so a mistyped rule stops it instead of being dropped without a word."""
    for number, raw in enumerate(text.splitlines(), start=1):
        problem = _problem(raw.split("#", 1)[0].strip())
        if problem:
            raise CorpusError(source, number, problem)


def _rules(text: str) -> Iterator[tuple[int, list[Phrase], list[Phrase]]]:
    """(line number, source phrases, target phrases) of each rule; blank and comment lines skipped."""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=>" in line:
            left, right = line.split("=>", 1)
            yield number, _phrases(left), _phrases(right)
        else:
            phrases = _phrases(line)
            yield number, phrases, phrases


def _problem(line: str) -> str | None:
    """Why a rule line is malformed, or None."""
    if not line:
        return None
    sides = line.split("=>")
    if len(sides) > 2:
        return "a rule has at most one '=>'"
    for side in sides:
        for chunk in side.split(","):
            if not chunk.strip():
                return "an empty phrase (two commas in a row, or a comma or '=>' at an end)"
            if not analyze(chunk):
                return f"{chunk.strip()!r} has no searchable words (only stop words or punctuation)"
    if len(sides) == 1 and "," not in line:
        return "an equivalence needs at least two phrases, separated by commas (or 'a => b' for one way)"
    return None


def _phrases(part: str) -> list[Phrase]:
    phrases = []
    for chunk in part.split(","):
        phrase = tuple(analyze(chunk))
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases
