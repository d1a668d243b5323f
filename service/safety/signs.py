"""Signs an editor owns, met in a question by its words or by its meaning: the one mechanism
behind emergency notices (urgent.py) and care advice (care.py).

Both read the question clause by clause (clauses.py) and both must stay silent on what a clause
denies. What differs between them is data: a ``Policy`` (which clauses count, the meaning
thresholds) and the signs themselves.

By words: one clause the policy accepts holds all of a trigger's stems close together, none of
them denied (a negative trigger, "not breathing", word for word), and does not call the thing
normal.

By meaning, with evidence on both sides. A fixed cosine to a rule's examples cannot tell "my throat
is sore and scratchy" from "my throat is closing up" with this model (both ~0.6), but it can tell
which of two neighbours a clause is nearer to, and a classifier trained on both sides can weigh
all of them. So a clause meets a sign by meaning when it is at least ``floor`` similar to one of
the sign's examples, nearer to that example by ``margin`` than to every question of the contrast
pool (everyday health questions shipped with the package, ``service/data/ordinary_questions.txt``,
and the rules' own near misses) unless the probe is ``certain``, and the probe trained at build
time (probe.py) gives the sign at least ``probability``. ``sure`` can also require an acute cue
("now", "suddenly", "can't", "collapsed") below a cosine; measured on the development sets it cost
recall without sparing false alarms, so the shipped policies leave it off (README "Emergency
notices and care advice").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from service.index.frozen import frozen
from service.query.spelling import Speller
from service.safety.clauses import Clause, clauses, denies, negated

# An acute or severe cue: the clause tells of something happening now, suddenly, badly, or of
# someone unable to do something. General English, not any rule's words.
ACUTE_CUE = re.compile(
    r"\b(now|right now|at the moment|currently|suddenly|sudden|all of a sudden|out of nowhere|just now|"
    r"just (started|happened|took|taken|swallowed|collapsed|fell)|started|starting|keeps?|keeping|"
    r"(can|could) ?not|unable|will not|won['’]?t|severe|severely|worst|terrible|unbearable|agony|excruciating|"
    r"really (bad|badly)|so bad|getting worse|worse and worse|spreading|(for )?(\d+|an?|one|two|three|four|five|six|"
    r"ten|twenty|several|many|the last|past) (minutes?|mins?|hours?|hrs?)|hours|minutes ago|an hour ago|"
    r"tonight|today|this (morning|"
    r"evening|afternoon)|help|emergency|collapsed?|unconscious|not (breathing|responding|waking)|passed out|"
    r"fainted|blue|grey|gray|pouring|gushing|everywhere|lots of|loads of|a lot of|so much|swelling up|going to|"
    r"gonna|want to die|end (it|my life)|kill myself)\b",
    re.IGNORECASE,
)

BY_WORDS = "words"
BY_MEANING = "meaning"


@dataclass(frozen=True)
class Sign:
    """One thing to detect: an emergency rule, or a care section's warning sign."""

    id: str
    phrases: tuple[str, ...]  # the trigger phrases as written (for explain)
    triggers: tuple[tuple[str, ...], ...]  # the same phrases as analysed stems
    examples: tuple[str, ...]  # descriptions compared by meaning
    unlike: tuple[str, ...] = ()  # near misses: added to the contrast pool


@dataclass(frozen=True)
class Policy:
    """What differs between the emergency check and care advice."""

    name: str
    happening: bool  # a clause must tell of now: not asked about, not past, not over or mild
    floor: float  # cosine to an example a meaning match needs
    margin: float  # ... above the nearest contrast question (-1: no contrast test)
    probability: float  # the probe's probability of the sign a meaning match needs (0: no probe test)
    sure: float  # a meaning match at or above this needs no acute cue (0: never needs one)
    certain: float = 1.01  # a probability at or above which the margin test is waived (the probe is sure)


@dataclass(frozen=True)
class Finding:
    """Why a sign was met: the clause, by words or by meaning, and the scores."""

    sign: Sign
    clause: str
    basis: str  # BY_WORDS or BY_MEANING
    evidence: str  # the trigger phrase, or the nearest example
    similarity: float | None = None  # cosine to that example (by meaning)
    nearest_ordinary: str | None = None  # the contrast question nearest to the clause
    ordinary_similarity: float | None = None
    cue: bool = False
    probability: float | None = None  # the probe's (by meaning, with a probe)


@dataclass(frozen=True)
class Contrast:
    """The pool of ordinary questions a meaning match must beat, with their vectors."""

    texts: tuple[str, ...]
    vectors: np.ndarray  # float32 (len(texts), dimensions)

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row of ``vectors``: the best cosine to the pool and which text it is."""
        if not len(self.texts):
            return np.full(len(vectors), -1.0), np.zeros(len(vectors), dtype=np.int64)
        sims = vectors @ self.vectors.T
        best = sims.argmax(axis=1)
        return sims[np.arange(len(vectors)), best], best


@dataclass(frozen=True)
class Probe:
    """A linear softmax over the signs and "ordinary", trained by the build (probe.py) on the
    signs' examples against the contrast pool: how likely a clause is each sign rather than an
    ordinary question."""

    weights: np.ndarray  # (dimensions + 1, signs + 1): the last row the bias, the last column "ordinary"

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(len(vectors), signs): the probability of each sign, "ordinary" left out."""
        z = vectors @ self.weights[:-1] + self.weights[-1]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return (p / p.sum(axis=1, keepdims=True))[:, :-1]


class Reading:
    """A question read once for every check: its clauses, and their vectors on demand.

    A one-clause question is its own vector (the search's). A longer one embeds all the clauses
    that could count, in one batched model run, the first time any check asks: care advice and
    the emergency check share it.
    """

    def __init__(
        self,
        text: str,
        question_vector: np.ndarray | None = None,
        embed_many: Callable[[Sequence[str]], np.ndarray] | None = None,
        correct: Callable[[str], str] | None = None,
    ) -> None:
        self.text = text
        self.corrected = correct(text) if correct else text
        self.parts: list[Clause] = clauses(self.corrected)
        self.question_vector = question_vector
        self._embed_many = embed_many
        self._vectors: dict[int, np.ndarray] | None = None

    @property
    def can_mean(self) -> bool:
        return self.question_vector is not None and self._embed_many is not None

    def candidates(self) -> list[int]:
        """Clause numbers any check may read by meaning: they deny nothing and have two words (or
        are the whole question: "suicidal")."""
        return [n for n, c in enumerate(self.parts) if not denies(c) and (len(c.words) >= 2 or len(self.parts) == 1)]

    def vectors(self, numbers: Sequence[int]) -> np.ndarray:
        if self._vectors is None:
            self._vectors = self._embed()
        return np.stack([self._vectors[n] for n in numbers]) if numbers else np.empty((0, 0), np.float32)

    def _embed(self) -> dict[int, np.ndarray]:
        wanted = self.candidates()
        if not wanted:
            return {}
        if self.question_vector is None or self._embed_many is None:
            raise ValueError("this reading has no vectors (check can_mean first)")
        if len(self.parts) == 1 and self.corrected == self.text:
            return {0: self.question_vector}
        embedded = self._embed_many([self.parts[n].text for n in wanted])
        return dict(zip(wanted, embedded))


class TypoFixer:
    """Misspelt words of a question put right against the words the checks know (their phrases,
    examples and the ordinary pool): "siezure", "colapsed", "breth". The model reads a misspelt
    word as noise and a trigger cannot match it. Words the model's dictionary knows are left as
    typed (see spelling.py)."""

    _WORDS = re.compile(r"[A-Za-z]+")
    MIN_LENGTH = 5  # a four-letter word is one letter from too many others ("mins", "mini")
    # One edit at most: two turn correct words the model splits into pieces into others
    # ("compulsive" into "convulsive"). See also fix() below.

    def __init__(self, texts: Iterable[str], dictionary: frozenset[str]) -> None:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(w.lower() for w in self._WORDS.findall(text))
        self._speller = Speller(dict(counts), dictionary)

    def __call__(self, text: str) -> str:
        def fix(match: re.Match) -> str:
            word = match.group(0)
            if len(word) < self.MIN_LENGTH:
                return word
            fixed = self._speller.correct(word.lower(), max_edits=1)
            # A letter left out, added or swapped; never one letter replaced by another, which turns
            # real words the model splits into pieces into others ("cracker" into "cracked").
            if fixed and (len(fixed) != len(word) or sorted(fixed) == sorted(word.lower())):
                return fixed
            return word

        return self._WORDS.sub(fix, text)


@dataclass
class SignMatcher:
    """Signs with their example vectors under one policy; ``findings`` says which a question meets."""

    signs: Sequence[Sign]
    policy: Policy
    example_vectors: np.ndarray | None = None  # rows: every sign's examples in order (see example_phrases)
    contrast: Contrast | None = None
    probe: Probe | None = None
    _owner: np.ndarray = field(init=False, repr=False)
    _columns: list[np.ndarray] = field(init=False, repr=False)  # each sign's example rows
    _examples: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._examples = example_phrases(self.signs)
        self._owner = frozen(example_owners(self.signs))
        self._columns = [frozen(np.flatnonzero(self._owner == sign)) for sign in range(len(self.signs))]
        if self.example_vectors is not None and len(self.example_vectors) != len(self._examples):
            raise ValueError(
                f"{self.policy.name}: {len(self.example_vectors)} example vectors for {len(self._examples)} examples"
            )

    @property
    def owner(self) -> np.ndarray:
        """The sign of each example row."""
        return self._owner

    @property
    def by_meaning(self) -> bool:
        return self.example_vectors is not None and len(self._examples) > 0

    def example_text(self, row: int) -> str:
        return self._examples[row]

    def counts(self, clause: Clause) -> bool:
        """Whether a clause can state a sign under this policy. (A clause that denies is still
        read for triggers, each checked for its own negation: "he is not breathing" states one.)"""
        return clause.acute if self.policy.happening else True

    def findings(self, reading: Reading) -> list[Finding]:
        """Every sign the question meets, once each: by words first, then by meaning, nearest first."""
        found = self.by_words(reading.parts)
        if self.by_meaning and reading.can_mean:
            met = {f.sign.id for f in found}
            found += [f for f in self._by_meaning(reading) if f.sign.id not in met]
        return found

    def by_words(self, parts: Sequence[Clause]) -> list[Finding]:
        """The signs some clause states in a trigger's words, once each, in clause order."""
        found: dict[str, Finding] = {}
        for clause in parts:
            if not self.counts(clause) or clause.normal:
                continue
            for sign in self.signs:
                if sign.id in found:
                    continue
                for phrase, trigger in zip(sign.phrases, sign.triggers):
                    if self._holds(clause, trigger):
                        found[sign.id] = Finding(sign, clause.text, BY_WORDS, phrase)
                        break
        return list(found.values())

    @staticmethod
    def _holds(clause: Clause, trigger: tuple[str, ...]) -> bool:
        return clause.states(trigger) and not negated(clause, trigger)

    def scores(self, reading: Reading) -> list[Scores]:
        """The numbers a meaning match is decided on, per clause that counts (explain() prints them)."""
        numbers = [n for n in reading.candidates() if self.counts(reading.parts[n])]
        if not numbers or self.example_vectors is None or not self.by_meaning:
            return []
        vectors = reading.vectors(numbers)
        sims = vectors @ self.example_vectors.T
        like = np.full((len(numbers), len(self.signs)), -1.0)
        which = np.zeros((len(numbers), len(self.signs)), dtype=np.int64)
        for sign, columns in enumerate(self._columns):
            if len(columns):
                best = sims[:, columns].argmax(axis=1)
                like[:, sign] = sims[np.arange(len(numbers)), columns[best]]
                which[:, sign] = columns[best]
        if self.contrast is not None:
            ordinary, nearest = self.contrast.nearest(vectors)
        else:
            ordinary, nearest = np.full(len(numbers), -1.0), np.zeros(len(numbers), dtype=np.int64)
        probable = self.probe.probabilities(vectors) if self.probe is not None else np.ones_like(like)
        return [
            Scores(
                n,
                like[i],
                which[i],
                float(ordinary[i]),
                int(nearest[i]),
                probable[i],
                bool(ACUTE_CUE.search(reading.parts[n].text)),
            )
            for i, n in enumerate(numbers)
        ]

    def met(self, scores: Scores) -> np.ndarray:
        """Which signs a clause meets by meaning under the policy (a boolean per sign)."""
        policy = self.policy
        ok = scores.like >= policy.floor
        if policy.margin > -1:
            ok &= (scores.like >= scores.ordinary + policy.margin) | (scores.probability >= policy.certain)
        if policy.probability:
            ok &= scores.probability >= policy.probability
        if policy.sure and not scores.cue:
            ok &= scores.like >= policy.sure
        return ok

    def _by_meaning(self, reading: Reading) -> list[Finding]:
        best: dict[int, Finding] = {}
        best_similarity: dict[int, float] = {}
        for scores in self.scores(reading):
            clause = reading.parts[scores.clause]
            for sign in map(int, np.flatnonzero(self.met(scores))):
                similarity = float(scores.like[sign])
                if sign in best and best_similarity[sign] >= similarity:
                    continue
                best_similarity[sign] = similarity
                best[sign] = Finding(
                    self.signs[sign],
                    clause.text,
                    BY_MEANING,
                    self._examples[scores.which[sign]],
                    similarity,
                    self.contrast_text(scores.nearest),
                    scores.ordinary,
                    scores.cue,
                    float(scores.probability[sign]) if self.probe is not None else None,
                )
        return [best[sign] for sign in sorted(best, key=lambda sign: -best_similarity[sign])]

    def contrast_text(self, row: int) -> str | None:
        return self.contrast.texts[row] if self.contrast is not None and len(self.contrast.texts) else None


@dataclass(frozen=True)
class Scores:
    """One clause read by meaning against every sign."""

    clause: int  # its number in the reading
    like: np.ndarray  # best cosine to each sign's examples
    which: np.ndarray  # ... which example (row of the example vectors)
    ordinary: float  # best cosine to the contrast pool
    nearest: int  # ... which contrast text
    probability: np.ndarray  # the probe's probability of each sign (ones without a probe)
    cue: bool  # an acute cue in the clause


def example_phrases(signs: Sequence[Sign]) -> list[str]:
    """Every sign's examples in order: the rows of a matcher's example vectors."""
    return [p for sign in signs for p in sign.examples]


def example_owners(signs: Sequence[Sign]) -> np.ndarray:
    """The sign (its position in ``signs``) of each row of example_phrases."""
    return np.array([n for n, sign in enumerate(signs) for _ in sign.examples], dtype=np.int64)


def unlike_phrases(signs: Sequence[Sign]) -> list[str]:
    return [p for sign in signs for p in sign.unlike]
