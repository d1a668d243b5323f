"""Urgent symptoms: a question that describes an emergency happening now gets a notice first.

A safety net, not triage. The rules are the editors' (``service/data/urgent.yaml`` by default, or
the corpus's own ``urgent.yaml``, which replaces it): each names an emergency, a short generic
message, trigger phrases and example descriptions. A question is urgent for a rule when one of
its clauses states a trigger (all its words, not negated), or when the question or one of its
sentences means what the rule's examples describe (sentence-embedding similarity). Clauses that
deny a sign ("no chest pain"), ask *about* a condition ("what are the signs of a stroke") or
tell of the past ("had a seizure years ago") count for neither.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import yaml

from .corpus import CorpusError
from .schema import term_of

RULES_FILE = "urgent.yaml"
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_MESSAGE_CHARS = 400
MAX_TITLE_CHARS = 80


@dataclass(frozen=True)
class UrgentRule:
    id: str
    title: str
    message: str
    triggers: tuple[tuple[str, ...], ...]  # each trigger phrase as analysed stems
    examples: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "message": self.message}


def parse_rules(text: str, source: str) -> list[UrgentRule]:
    """The rules of an urgent.yaml text, validated; CorpusError names the line and the reason."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CorpusError(source, mark.line + 1 if mark else 1, f"broken YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, list) or not data:
        raise CorpusError(source, 1, "the file must be a non-empty YAML list of rules")
    rules, seen = [], set()
    lines = text.split("\n")
    for number, raw in enumerate(data, start=1):
        rule = _rule(raw, source, _rule_line(lines, raw, number))
        if rule.id in seen:
            raise CorpusError(source, _rule_line(lines, raw, number), f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    return rules


def _rule(raw: object, source: str, line: int) -> UrgentRule:
    if not isinstance(raw, dict):
        raise CorpusError(source, line, "each rule must be a mapping with id, title, message, triggers, examples")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise CorpusError(source, line, "'id' must be lowercase letters and digits joined by hyphens")
    for key, limit in (("title", MAX_TITLE_CHARS), ("message", MAX_MESSAGE_CHARS)):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CorpusError(source, line, f"rule {rule_id!r}: '{key}' must be non-empty text")
        if len(value) > limit:
            raise CorpusError(source, line, f"rule {rule_id!r}: '{key}' is longer than {limit} characters")
    triggers = _phrases(raw, "triggers", source, line, rule_id)
    examples = _phrases(raw, "examples", source, line, rule_id)
    stems = tuple(tuple(_stems(_plain_negatives(t))) for t in triggers)
    if not all(stems):
        raise CorpusError(source, line, f"rule {rule_id!r}: a trigger has no content words")
    return UrgentRule(id=rule_id, title=raw["title"].strip(), message=" ".join(raw["message"].split()),
                      triggers=stems, examples=tuple(examples))


def _phrases(raw: dict, key: str, source: str, line: int, rule_id: str) -> list[str]:
    value = raw.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise CorpusError(source, line, f"rule {rule_id!r}: '{key}' must be a non-empty list of phrases")
    return [v.strip() for v in value]


def _rule_line(lines: list[str], raw: object, number: int) -> int:
    """The line of the rule's "- id:" entry (rules are counted when the id is unusable)."""
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    starts = [i for i, line in enumerate(lines, start=1) if line.startswith("- ")]
    for i in starts:
        if isinstance(rule_id, str) and lines[i - 1].strip() == f"- id: {rule_id}":
            return i
    return starts[number - 1] if number <= len(starts) else 1


# --- reading a question ---------------------------------------------------------------------

_CLAUSE = re.compile(r"[.!?;:\n]+|,\s*(?:but|and then|then|now)\b|\bbut\b", re.IGNORECASE)
_CANNOT = re.compile(r"\b(can ?not|can['’]?t|couldn['’]?t|unable to)\b", re.IGNORECASE)
_WONT = re.compile(r"\bwon['’]?t\b", re.IGNORECASE)
_NOT_CONTRACTION = re.compile(r"n['’]t\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
# A clause denying a sign: one of these words before the sign's first word.
NEGATION = frozenset("no not never without nor neither none denies deny denied nothing".split())
NEGATION_REACH = 3  # words before a sign that a negation reaches
# A clause asking about a condition rather than describing one: it opens with a question word
# and names no one it is happening to.
QUESTION_OPENERS = frozenset("what whats how why which who when where can could does do is are should would "
                             "will may".split())
PEOPLE = frozenset("""i im ive id me my mine myself we our us he hes his him she shes her they their them
someone somebody anyone baby son daughter husband wife partner mum mom dad father mother brother
sister friend boyfriend girlfriend grandma grandad grandpa child kid kids""".split())
# A clause telling of the past.
PAST = re.compile(r"\b(ago|last (year|month|week|summer|winter)|years back|when i was|as a child|used to)\b",
                  re.IGNORECASE)


def _plain_negatives(text: str) -> str:
    """"can't breathe" keeps its meaning through analysis: "cannot breathe" (a content word);
    "won't" is "will not", other "n't" forms become "not"."""
    text = _WONT.sub(" will not ", _CANNOT.sub(" cannot ", text))
    return _NOT_CONTRACTION.sub(" not", text)


def _stems(text: str) -> list[str]:
    """The analyser's stems, with negation words kept as "not": "not breathing" is a sign of its
    own, and a negation before a sign denies it."""
    found = []
    for word in _WORD.findall(text.lower()):
        term = "not" if word in NEGATION else term_of(word)
        if term:
            found.append(term)
    return found


@dataclass(frozen=True)
class Clause:
    text: str
    words: tuple[str, ...]
    sequence: tuple[str, ...]  # its stems in order, negations as "not"
    counts: bool  # False when it asks about a condition or tells of the past

    def states(self, trigger: tuple[str, ...]) -> bool:
        """All the trigger's words are here; a negative trigger ("not breathing") word for word."""
        if "not" not in trigger:
            return set(self.sequence).issuperset(trigger)
        n = len(trigger)
        return any(self.sequence[i:i + n] == trigger for i in range(len(self.sequence) - n + 1))


def clauses(text: str) -> list[Clause]:
    found = []
    for piece in _CLAUSE.split(_plain_negatives(text)):
        words = tuple(w.lower() for w in _WORD.findall(piece))
        if not words:
            continue
        about = words[0] in QUESTION_OPENERS and not PEOPLE.intersection(words)
        found.append(Clause(piece.strip(), words, tuple(_stems(piece)), counts=not (about or PAST.search(piece))))
    return found


def _negated(clause: Clause, trigger: tuple[str, ...]) -> bool:
    """A negation word stands shortly before one of the trigger's words ("no trouble breathing",
    "my face isn't drooping"); a trigger that is itself negative ("not breathing") is not denied."""
    if "not" in trigger:
        return False
    for at, word in enumerate(clause.words):
        if term_of(word) in trigger and any(w in NEGATION for w in clause.words[max(0, at - NEGATION_REACH):at]):
            return True
    return False


class UrgentDetector:
    """Decides whether a question describes one of the rules' emergencies.

    ``embed`` (texts -> unit vectors), when given, adds the meaning test: the rules' examples are
    embedded once, here; a question's own vector is passed in by the search that computed it.
    """

    def __init__(self, rules: Sequence[UrgentRule], embed: Callable[[str], np.ndarray] | None = None,
                 threshold: float = 0.0) -> None:
        self.rules = list(rules)
        self.embed = embed
        self.threshold = threshold
        self._examples = None
        self._example_rule = np.empty(0, dtype=np.int64)
        if embed is not None and self.rules:
            owners = [(r, e) for r, rule in enumerate(self.rules) for e in rule.examples]
            self._examples = np.stack([embed(example) for _, example in owners])
            self._example_rule = np.array([r for r, _ in owners], dtype=np.int64)

    def detect(self, text: str, question_vector: np.ndarray | None = None) -> UrgentRule | None:
        parts = clauses(text)
        lexical = self._lexical(parts)
        if lexical is not None:
            return lexical
        return self._by_meaning(text, parts, question_vector)

    def _lexical(self, parts: list[Clause]) -> UrgentRule | None:
        for clause in parts:
            if not clause.counts:
                continue
            for rule in self.rules:
                for trigger in rule.triggers:
                    if clause.states(trigger) and not _negated(clause, trigger):
                        return rule
        return None

    def similarities(self, vectors: np.ndarray) -> np.ndarray:
        """Per rule, the best cosine of any of ``vectors`` with any of its examples."""
        best = np.full(len(self.rules), -1.0)
        if self._examples is None or not len(vectors):
            return best
        scores = (np.atleast_2d(vectors) @ self._examples.T).max(axis=0)
        np.maximum.at(best, self._example_rule, scores)
        return best

    def _by_meaning(self, text: str, parts: list[Clause], question_vector: np.ndarray | None) -> UrgentRule | None:
        if self.embed is None or self._examples is None:
            return None
        counted = [c for c in parts if c.counts and not any(w in NEGATION for w in c.words)]
        if not counted:
            return None
        vectors = [question_vector if question_vector is not None else self.embed(text)] if len(parts) == 1 else \
            [self.embed(c.text) for c in counted]
        best = self.similarities(np.stack(vectors))
        rule = int(np.argmax(best))
        return self.rules[rule] if best[rule] >= self.threshold else None
