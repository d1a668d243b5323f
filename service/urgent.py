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
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import yaml

from .clauses import Clause, negated, plain_negatives, stated_vectors, stems_of
from .corpus import CorpusError
from .models import UrgentNotice

RULES_FILE = "urgent.yaml"
# Cosine a stated clause needs with a rule's example (calibrated on tests/data/urgent_questions.jsonl:
# recall 0.96, false alarms 0.05 there; see README).
SIMILARITY = 0.52
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_MESSAGE_CHARS = 400
MAX_TITLE_CHARS = 80


@dataclass(frozen=True)
class UrgentRule:
    id: str
    title: str
    message: str
    source: str
    triggers: tuple[tuple[str, ...], ...]  # each trigger phrase as analysed stems
    examples: tuple[str, ...]
    unlike: tuple[str, ...] = ()  # near misses: the rule's words or topic, but no emergency

    def notice(self) -> UrgentNotice:
        return UrgentNotice(id=self.id, title=self.title, message=self.message, source=self.source)


def rules_text(corpus: Path) -> tuple[str, str]:
    """The rules a build uses, and where they come from: the corpus folder's own urgent.yaml
    (which replaces the defaults: editors own the list), else the one shipped with the package."""
    own = Path(corpus) / RULES_FILE
    if own.is_file():
        return own.read_text(encoding="utf-8"), str(own)
    shipped = resources.files("service").joinpath("data", RULES_FILE)
    return shipped.read_text(encoding="utf-8"), str(shipped)


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
        rule = _rule(raw, source, _rule_line(lines, number))
        if rule.id in seen:
            raise CorpusError(source, _rule_line(lines, number), f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    return rules


def _rule(raw: object, source: str, line: int) -> UrgentRule:
    if not isinstance(raw, dict):
        raise CorpusError(source, line, "each rule must be a mapping with id, title, source, message, triggers, "
                                        "examples")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise CorpusError(source, line, "'id' must be lowercase letters and digits joined by hyphens")
    for key, limit in (("title", MAX_TITLE_CHARS), ("message", MAX_MESSAGE_CHARS), ("source", MAX_MESSAGE_CHARS)):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CorpusError(source, line, f"rule {rule_id!r}: '{key}' must be non-empty text")
        if len(value) > limit:
            raise CorpusError(source, line, f"rule {rule_id!r}: '{key}' is longer than {limit} characters")
    triggers = _phrases(raw, "triggers", source, line, rule_id)
    examples = _phrases(raw, "examples", source, line, rule_id)
    unlike = _phrases(raw, "unlike", source, line, rule_id) if raw.get("unlike") is not None else []
    stems = tuple(tuple(stems_of(plain_negatives(t))) for t in triggers)
    if not all(stems):
        raise CorpusError(source, line, f"rule {rule_id!r}: a trigger has no content words")
    return UrgentRule(id=rule_id, title=raw["title"].strip(), message=" ".join(raw["message"].split()),
                      source=" ".join(raw["source"].split()), triggers=stems, examples=tuple(examples), unlike=tuple(unlike))


def _phrases(raw: dict, key: str, source: str, line: int, rule_id: str) -> list[str]:
    value = raw.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise CorpusError(source, line, f"rule {rule_id!r}: '{key}' must be a non-empty list of phrases")
    return [v.strip() for v in value]


def _rule_line(lines: list[str], number: int) -> int:
    """The line where the ``number``-th rule (a top-level "- " entry) starts."""
    starts = [i for i, line in enumerate(lines, start=1) if line.startswith("- ")]
    return starts[number - 1] if number <= len(starts) else 1


def prototype_phrases(rules: Sequence[UrgentRule]) -> list[str]:
    """What the meaning test compares questions with, in the order of their stored vectors:
    every rule's examples, then every rule's near misses."""
    return [p for rule in rules for p in rule.examples] + [p for rule in rules for p in rule.unlike]


def embed_prototypes(rules: Sequence[UrgentRule], embed: Callable[[str], np.ndarray]) -> np.ndarray:
    """The prototype phrases' vectors, embedded once at build time (a second of CPU) and stored in
    the version, so opening a version never runs the model."""
    phrases = prototype_phrases(rules)
    return np.stack([embed(p) for p in phrases]).astype(np.float32) if phrases else np.zeros((0, 0), np.float32)


class UrgentDetector:
    """Decides whether a question describes one of the rules' emergencies.

    With ``prototypes`` (embed_prototypes of the same rules, by the serving model) a rule can also
    be met by meaning: some stated clause at least ``threshold`` similar to one of its examples
    and closer to that example than to any of its near misses. The search passes in the question's
    vector and the embedder it uses for the question's clauses.
    """

    def __init__(self, rules: Sequence[UrgentRule], prototypes: np.ndarray | None = None,
                 threshold: float = SIMILARITY) -> None:
        self.rules = list(rules)
        self.threshold = threshold
        self._examples = self._unlike = None
        if prototypes is not None and self.rules:
            if len(prototypes) != len(prototype_phrases(self.rules)):
                raise ValueError("the meaning test needs one prototype vector per example and near miss")
            examples = sum(len(rule.examples) for rule in self.rules)
            self._examples = _Prototypes([rule.examples for rule in self.rules], prototypes[:examples])
            self._unlike = _Prototypes([rule.unlike for rule in self.rules], prototypes[examples:])

    def detect(self, parts: list[Clause], question_vector: np.ndarray | None = None,
               embed: Callable[[str], np.ndarray] | None = None) -> UrgentRule | None:
        """The rule a question (read into ``parts`` by clauses.clauses) meets, else None.

        The meaning test needs the question's vector and an ``embed`` for its clauses: a
        question still being typed is searched without them (no model run per keystroke) and
        gets the trigger test alone; its whole form, asked when typing pauses, gets both.
        """
        return self._lexical(parts) or self._by_meaning(parts, question_vector, embed)

    def _lexical(self, parts: list[Clause]) -> UrgentRule | None:
        for clause in parts:
            if not clause.acute:
                continue
            for rule in self.rules:
                for trigger in rule.triggers:
                    if clause.states(trigger) and not negated(clause, trigger):
                        return rule
        return None

    def _by_meaning(self, parts: list[Clause], question_vector: np.ndarray | None,
                    embed: Callable[[str], np.ndarray] | None) -> UrgentRule | None:
        if self._examples is None or not parts or question_vector is None or embed is None:
            return None
        stated = stated_vectors(parts, question_vector, embed, happening=True)
        if not len(stated):
            return None
        like, unlike = self._examples.best(stated), self._unlike.best(stated)
        met = (like >= self.threshold) & (like > unlike)
        if not met.any():
            return None
        return self.rules[int(np.argmax(np.where(met, like, -1.0)))]


class _Prototypes:
    """Phrases grouped by rule, with their vectors: the best similarity per rule to some vectors."""

    def __init__(self, groups: Sequence[Sequence[str]], vectors: np.ndarray) -> None:
        self.count = len(groups)
        self.vectors = vectors if len(vectors) else None
        self.owner = np.array([g for g, phrases in enumerate(groups) for _ in phrases], dtype=np.int64)

    def best(self, vectors: np.ndarray) -> np.ndarray:
        found = np.full(self.count, -1.0)
        if self.vectors is not None:
            np.maximum.at(found, self.owner, (vectors @ self.vectors.T).max(axis=0))
        return found
