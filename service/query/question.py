"""Free text -> QueryPlan: the weighted columns a question asks for, built from analyser tokens.

Raw text never reaches a query parser, so quotes, colons, "?", "*", AND/OR/NOT are just text.
Steps: words -> correct typos -> find entities (runs naming an article or section) -> drop
chatter outside them -> stems -> keep the most informative -> add synonym alternatives (weighted
below what was typed) and adjacent pairs (the phrase bonus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from service.index.schema import stem, term_of, word_spans
from service.query.store import LoadedIndex

MAX_QUERY_TERMS = 24
MAX_PREFIX_EXPANSIONS = 5
TYPED_WEIGHT = 1.0
CORRECTION_WEIGHT = 0.9
SYNONYM_WEIGHT = 0.5
PAIR_WEIGHT = 0.6
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

# Greetings and thanks: chatter wherever they stand, and what makes the word after them a
# salutation ("hi doctor").
_GREETING = frozenset("hi hello hey dear thanks thank thx".split())
# Conversational words that carry no medical content in a pasted message. General English,
# not tuned to any question: greetings, sign-offs, relatives, time fillers and hedges.
CHATTER = _GREETING | frozenset(
    """
regards cheers please pls kindly
help helpful question questions ask asking wondering wonder wondered know knew tell told advice
advise suggest could would should might must shall im ive id dont doesnt didnt cant wont isnt
my me mine our i he she they them his her their him husband wife partner boyfriend girlfriend
son daughter mother father mom mum dad brother sister friend family kid kids child children
since ago last past recently lately month months week weeks day days year years old today
yesterday morning also really very quite bit little lot lots some any anything something
just still even now then there here what whats which who whom how why where was were been
being do does did done get got getting go going gone went want wanted need needs think thought
feel felt feeling like noticed notice seem seems seemed happen happens happened having has had
read reading worry worried worrying concerned
""".split()
)
_CHATTER_STEMS = frozenset(stem(w) for w in CHATTER)
# Words that address someone: chatter in a salutation ("Hi doctor,", "thanks doc"), at the very
# start or end of a message, but the point of "should I see a doctor".
SALUTATION = frozenset("doctor doc dr sir madam".split())
# Each part of a word written joined ("bellybutton") is at least this long.
MIN_COMPOUND_PART = 3


def is_chatter(word: str) -> bool:
    return word in CHATTER or stem(word) in _CHATTER_STEMS


def _is_chatter_at(words: list[str], i: int, word: str) -> bool:
    """Chatter where it stands: a salutation word only when it addresses someone."""
    if word in SALUTATION:
        return i == 0 or i == len(words) - 1 or words[i - 1] in _GREETING
    return is_chatter(word)


@dataclass
class Group:
    """One thing the person asked for: its columns, any of which counts as matching it."""

    cols: list[int] = field(default_factory=list)
    mass: float = 0.0  # how informative it is (idf of what was typed)


@dataclass
class QueryPlan:
    cols: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    unknown_mass: float = 0.0  # informativeness of words the index has never seen
    unknown_words: int = 0
    highlight: set[str] = field(default_factory=set)
    question_stems: set[str] = field(default_factory=set)
    corrections: dict[int, str] = field(default_factory=dict)  # word position -> corrected word
    entity_rows: list = field(default_factory=list)  # passages of the articles/sections the question names

    @property
    def term_count(self) -> int:
        return len(self.groups) + self.unknown_words

    @property
    def total_mass(self) -> float:
        return sum(g.mass for g in self.groups) + self.unknown_mass

    def add(self, col: int | None, weight: float, group: Group | None = None) -> None:
        if col is None:
            return
        if col in self.cols:
            at = self.cols.index(col)
            self.weights[at] = max(self.weights[at], weight)
        else:
            self.cols.append(col)
            self.weights.append(weight)
        if group is not None and col not in group.cols:
            group.cols.append(col)


def clean_question(text: str) -> str:
    """Control and bidi-override characters become spaces; the rest is left as typed."""
    return _CONTROL.sub(" ", text)


@dataclass(frozen=True)
class WordEntry:
    """How one typed word counts in the plan."""

    key: str  # the group it belongs to: its stem, or its correction's
    cols: tuple[tuple[int, float], ...]  # (column, weight) of the typed stem and of its correction
    mass: float  # informativeness (idf)
    correction: str | None = None  # the corrected word, for "did you mean"
    highlight: tuple[str, ...] = ()  # stems to mark in snippets


def question_words(text: str) -> list[tuple[str, int, int]]:
    """(lowercased word, start, end) of every word of the question, control characters ignored."""
    return list(word_spans(clean_question(text)))


def plan_query(text: str, index: LoadedIndex, prefix: bool = False) -> QueryPlan:
    plan = QueryPlan()
    words = [w for w, _, _ in question_words(text)]
    candidates = [i for i, w in enumerate(words) if term_of(w)]
    typing = prefix and bool(words) and not text[-1:].isspace()
    if typing and term_of(words[-1]) is None and len(words[-1]) >= 2:
        candidates.append(len(words) - 1)  # a half-typed last word may look like a stop word
    if typing and candidates and candidates[-1] == len(words) - 1:
        completions = index.words_with_prefix(words[-1], MAX_PREFIX_EXPANSIONS)
        if completions:
            _add_completions(plan, index, completions)
            candidates.pop()
    entries = {i: _word_entry(index, words[i]) for i in candidates}
    stems = [entry.key if (entry := entries[i]) else stem(words[i]) for i in candidates]
    named: set[int] = set()  # word positions inside an entity: never chatter
    for start, entity in index.entities.find(stems):
        named.update(candidates[start : start + len(entity.stems)])
        plan.entity_rows.append(entity.rows)
    kept: list[tuple[int, WordEntry]] = []
    for i in candidates:
        entry, word = entries[i], words[i]
        if i not in named and _is_chatter_at(words, i, entry.correction if entry and entry.correction else word):
            continue
        plan.question_stems.add(stem(word))
        if entry is None:
            if not word.isdigit():  # ages and counts in a pasted message carry no topic
                plan.unknown_mass += index.matrix.max_idf
                plan.unknown_words += 1
            continue
        if entry.correction:
            plan.corrections[i] = entry.correction
        plan.highlight.update(entry.highlight)
        plan.question_stems.update(entry.highlight)
        kept.append((i, entry))
    groups = _add_groups(plan, index, [entry for _, entry in kept])
    _joined_alternatives(plan, index, words, {i: groups[e.key] for i, e in kept if e.key in groups})
    return plan


def _add_groups(plan: QueryPlan, index: LoadedIndex, entries: list[WordEntry]) -> dict[str, Group]:
    """One group per distinct key, the most informative MAX_QUERY_TERMS only (bounded cost, less
    noise in long messages); then the phrase pairs and synonym alternatives of the kept words.
    Returns the groups by key."""
    masses: dict[str, float] = {}
    for entry in entries:
        masses[entry.key] = max(entry.mass, masses.get(entry.key, 0.0))
    keep = set(sorted(masses, key=lambda k: -masses[k])[:MAX_QUERY_TERMS])
    groups: dict[str, Group] = {}
    sequence: list[str] = []
    for entry in entries:
        if entry.key not in keep:
            continue
        group = groups.setdefault(entry.key, Group(mass=masses[entry.key]))
        for col, weight in entry.cols:
            plan.add(col, weight, group)
        sequence.append(entry.key)
    plan.groups.extend(groups.values())
    _add_pairs(plan, index.matrix, sequence)
    _add_synonyms(plan, index, sequence, groups)
    return groups


def _word_entry(index: LoadedIndex, word: str) -> WordEntry | None:
    """The typed word's stem and, for a word the index does not know (or barely knows), its
    correction; None when neither is indexed and no synonym rule starts with it."""
    matrix = index.matrix
    typed = stem(word)
    typed_col = matrix.column(typed)
    fixed = index.speller.correct(word) if typed_col is None or index.word_df.get(word, 0) <= 2 else None
    fixed_stem = stem(fixed) if fixed else None
    fixed_col = matrix.column(fixed_stem) if fixed_stem and fixed_stem != typed else None
    if typed_col is None and fixed_col is None:
        joined = _split_compound(index, word)
        if joined is not None:
            return joined
        if typed in index.synonyms.words:
            # Not in the index, but a synonym may be ("pee" -> "urinate"): a group of its own.
            return WordEntry(key=typed, cols=(), mass=matrix.max_idf / 2)
        return None
    cols: list[tuple[int, float]] = []
    highlight: list[str] = []
    mass = 0.0
    if typed_col is not None:
        cols.append((typed_col, TYPED_WEIGHT))
        mass = float(matrix.idf[typed_col])
        highlight.append(typed)
    if fixed_col is not None and fixed_stem is not None:  # a column is only looked up for a stem
        cols.append((fixed_col, CORRECTION_WEIGHT))
        mass = max(mass, float(matrix.idf[fixed_col]))
        highlight.append(fixed_stem)
    key = typed if typed_col is not None or fixed_stem is None else fixed_stem
    return WordEntry(
        key=key,
        cols=tuple(cols),
        mass=mass,
        correction=fixed if fixed_col is not None else None,
        highlight=tuple(highlight),
    )


def _split_compound(index: LoadedIndex, word: str) -> WordEntry | None:
    """A word written joined that the text hyphenates or spaces ("precum" for "pre-cum",
    "bellybutton"): the two indexed words standing side by side, matched as their pair column."""
    matrix = index.matrix
    for cut in range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_PART + 1):
        left, right = word[:cut], word[cut:]
        if left not in index.word_df or right not in index.word_df:
            continue
        left_stem, right_stem = term_of(left), term_of(right)
        if not left_stem or not right_stem:
            continue
        pair = matrix.pair_column(left_stem, right_stem)
        if pair is not None:
            return WordEntry(
                key=f"{left_stem} {right_stem}",
                cols=((pair, TYPED_WEIGHT),),
                mass=float(matrix.idf[pair]),
                highlight=(left_stem, right_stem),
            )
    return None


def _joined_alternatives(plan: QueryPlan, index: LoadedIndex, words: list[str], kept: dict[int, Group]) -> None:
    """Two typed words the text writes as one ("pre cum", "pre-cum" for "precum"): the joined
    word's column counts for both."""
    for i, group in kept.items():
        following = kept.get(i + 1)
        if following is None:
            continue
        term = term_of(words[i] + words[i + 1])
        col = index.matrix.column(term) if term and words[i] + words[i + 1] in index.word_df else None
        if term is None or col is None:
            continue
        plan.add(col, TYPED_WEIGHT)
        for owner in (group, following):
            if col not in owner.cols:
                owner.cols.append(col)
        plan.highlight.add(term)


def _add_completions(plan: QueryPlan, index: LoadedIndex, completions: list[str]) -> None:
    """The half-typed last word: its most frequent completions, any of which matches it."""
    group = Group()
    for word in completions:
        term = term_of(word)
        if term is None:
            continue
        plan.add(index.matrix.column(term), TYPED_WEIGHT, group)
        plan.highlight.add(term)
        plan.question_stems.add(term)
    if group.cols:
        group.mass = max(float(index.matrix.idf[c]) for c in group.cols)
        plan.groups.append(group)


def _add_pairs(plan: QueryPlan, matrix, stems: list[str]) -> None:
    for left, right in zip(stems, stems[1:]):
        plan.add(matrix.pair_column(left, right), PAIR_WEIGHT)


def _add_synonyms(plan: QueryPlan, index: LoadedIndex, stems: list[str], by_stem: dict[str, Group]) -> None:
    synonyms, matrix = index.synonyms, index.matrix
    start = 0
    while start < len(stems):
        for length in range(min(synonyms.longest, len(stems) - start), 0, -1):
            phrase = tuple(stems[start : start + length])
            alternatives = synonyms.alternatives(phrase)
            if alternatives:
                covered = [by_stem[s] for s in phrase if s in by_stem]
                for alternative in alternatives:
                    _add_alternative(plan, matrix, alternative, covered)
                start += length
                break
        else:
            start += 1


def _add_alternative(plan: QueryPlan, matrix, alternative: tuple[str, ...], covered: list[Group]) -> None:
    """An expansion counts for every typed term of the phrase it replaces, at a lower weight."""
    cols = [matrix.column(s) for s in alternative]
    if any(c is None for c in cols):
        return  # the index cannot contain this alternative
    share = SYNONYM_WEIGHT / len(cols)
    pair_cols = [matrix.pair_column(a, b) for a, b in zip(alternative, alternative[1:])]
    for col in cols:
        plan.add(col, share)
    for col in pair_cols:
        plan.add(col, PAIR_WEIGHT * SYNONYM_WEIGHT)
    # Multi-word alternatives must match as a pair to stand for the phrase.
    evidence = [c for c in pair_cols if c is not None] if len(cols) > 1 else cols
    for group in covered:
        for col in evidence:
            if col not in group.cols:
                group.cols.append(col)
    plan.highlight.update(alternative)


def did_you_mean(text: str, corrections: dict[int, str]) -> str | None:
    """The question as typed, with the corrected words put in: None when nothing was corrected.

    Word positions are those of ``question_words``, so corrections made for one spelling of a
    question apply to any text with the same words ("Kegel   EXERCISES", "kegel exercises").
    """
    if not corrections:
        return None
    cleaned = clean_question(text)
    pieces, cursor = [], 0
    for i, (_, start, end) in enumerate(word_spans(cleaned)):
        if i in corrections:
            pieces.append(cleaned[cursor:start])
            pieces.append(corrections[i])
            cursor = end
    pieces.append(cleaned[cursor:])
    return " ".join("".join(pieces).split())
