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

from .clauses import NEGATION, Clause, clauses, negated, plain_negatives, stems_of
from .corpus import CorpusError

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
    stems = tuple(tuple(stems_of(plain_negatives(t))) for t in triggers)
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
                    if clause.states(trigger) and not negated(clause, trigger):
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
