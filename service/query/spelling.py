"""Typo correction from the index's own unstemmed vocabulary.

Edit distance is measured between surface words, never stems ("sialadenitus" and "sialadenitis"
stem apart). Candidates come only from indexed words; the allowed distance grows with length.

Some unknown words are not typos: an ordinary English word the corpus happens not to use
("white" is no misspelt "while") and an abbreviation or code ("hnpp" is no "hpp"). Words of a
dictionary (the embedding model's whole-word vocabulary, when there is a model) and words with
no vowel are left as typed; the semantic half of the search still reads them.
"""

from __future__ import annotations

from collections import defaultdict

from rapidfuzz import process
from rapidfuzz.distance import OSA

# A known word this rare is checked against neighbours this many times more frequent.
RARE_DF = 2
RARE_RATIO = 50


def max_distance(word: str) -> int:
    if len(word) <= 3:
        return 0
    return 1 if len(word) <= 7 else 2


_VOWELS = frozenset("aeiouy")


class Speller:
    def __init__(self, word_df: dict[str, int], dictionary: frozenset[str] = frozenset()) -> None:
        self.word_df = word_df
        self.dictionary = dictionary
        buckets: dict[str, list[str]] = defaultdict(list)
        for word in word_df:
            if word.isalpha() and len(word) >= 3:
                buckets[word[0]].append(word)
        self._buckets = dict(buckets)

    def correct(self, word: str, max_edits: int = 2) -> str | None:
        """A better-attested indexed word for ``word``, or None to leave it as typed."""
        limit = min(max_distance(word), max_edits)
        if limit == 0 or not word.isalpha() or not _VOWELS.intersection(word):
            return None
        known_df = self.word_df.get(word, 0)
        if not known_df and word in self.dictionary:
            return None
        if known_df > RARE_DF:
            return None
        if known_df:
            limit = 1
        best: tuple[int, int, str] | None = None
        for candidate, distance, _ in process.extract(
            word, self._buckets.get(word[0], ()), scorer=OSA.distance, score_cutoff=limit, limit=25
        ):
            if candidate == word:
                continue
            df = self.word_df[candidate]
            if known_df and df < known_df * RARE_RATIO:
                continue
            key = (distance, -df, candidate)
            if best is None or key < best:
                best = key
        return best[2] if best else None
