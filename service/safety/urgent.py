"""Urgent symptoms: a question that describes an emergency happening now gets a notice first.

A safety net, not triage. The rules are the editors' (``service/data/urgent.yaml`` by default, or
the corpus's own ``urgent.yaml``, which replaces it): each names an emergency, a short generic
message, trigger phrases, example descriptions and near misses. The rules are signs for the
shared matcher (signs.py) under the emergency POLICY: a clause must tell of something happening
now; it meets a rule by a trigger, or by meaning (near an example, nearer to it than to any
ordinary question, and likely by the probe trained at build). Clauses that deny a sign ("no
chest pain"), ask *about* a condition ("what are the signs of a stroke") or tell of the past
("had a seizure years ago") count for neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import yaml

from service.index.errors import CorpusError
from service.index.frozen import frozen
from service.index.models import UrgentNotice
from service.safety.clauses import plain_negatives, stems_of
from service.safety.signs import (
    BY_WORDS,
    Contrast,
    Finding,
    Policy,
    Probe,
    Reading,
    Sign,
    SignMatcher,
    unlike_phrases,
)

RULES_FILE = "urgent.yaml"
# libyaml's loader when PyYAML has it (ten times faster on the ~1,300-line rules file), else PyYAML's own.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The emergency policy (signs.py): by meaning, a clause at least 0.55 similar to an example, 0.06
# nearer to it than to any ordinary question (unless the probe gives 0.95), and a probe probability
# of at least 0.4. Chosen on the tune half of the development sets with scripts/calibrate_safety.py,
# precision first (README "Emergency notices and care advice").
POLICY = Policy(name="urgent", happening=True, floor=0.55, margin=0.06, probability=0.4, sure=0.0, certain=0.95)
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
    phrases: tuple[str, ...] = ()  # the trigger phrases as written

    def notice(self, basis: str = BY_WORDS) -> UrgentNotice:
        return UrgentNotice(id=self.id, title=self.title, message=self.message, source=self.source, basis=basis)


def load_yaml(text: str, source: str) -> object:
    """An editor's YAML file (rules, care words) as data; broken YAML is a CorpusError at its line."""
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CorpusError(
            source, mark.line + 1 if mark else 1, f"broken YAML: {getattr(exc, 'problem', exc)}"
        ) from None


def parse_rules(text: str, source: str) -> list[UrgentRule]:
    """The rules of an urgent.yaml text, validated; CorpusError names the line and the reason."""
    data = load_yaml(text, source)
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
        raise CorpusError(
            source, line, "each rule must be a mapping with id, title, source, message, triggers, examples"
        )
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
    return UrgentRule(
        id=rule_id,
        title=raw["title"].strip(),
        message=" ".join(raw["message"].split()),
        source=" ".join(raw["source"].split()),
        triggers=stems,
        examples=tuple(examples),
        unlike=tuple(unlike),
        phrases=tuple(triggers),
    )


def _phrases(raw: dict, key: str, source: str, line: int, rule_id: str) -> list[str]:
    value = raw.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise CorpusError(source, line, f"rule {rule_id!r}: '{key}' must be a non-empty list of phrases")
    return [v.strip() for v in value]


def _rule_line(lines: list[str], number: int) -> int:
    """The line where the ``number``-th rule (a top-level "- " entry) starts."""
    starts = [i for i, line in enumerate(lines, start=1) if line.startswith("- ")]
    return starts[number - 1] if number <= len(starts) else 1


def rule_signs(rules: Sequence[UrgentRule]) -> list[Sign]:
    """The rules as signs for the shared matcher (signs.py), in rule order."""
    return [Sign(id=r.id, phrases=r.phrases, triggers=r.triggers, examples=r.examples, unlike=r.unlike) for r in rules]


class UrgentDetector:
    """Decides whether a question describes one of the rules' emergencies happening now.

    With ``example_vectors`` and ``unlike_vectors`` (the rules' examples and near misses embedded
    by the serving model at build time) and the ``ordinary`` question pool, a rule can also be met
    by meaning (signs.py says how); without them, by its triggers alone.
    """

    def __init__(
        self,
        rules: Sequence[UrgentRule],
        example_vectors: np.ndarray | None = None,
        unlike_vectors: np.ndarray | None = None,
        ordinary: Contrast | None = None,
        probe: Probe | None = None,
        policy: Policy = POLICY,
    ) -> None:
        self.rules = list(rules)
        self.ordinary = ordinary
        self._by_id = {r.id: r for r in self.rules}
        signs = rule_signs(self.rules)
        contrast = None
        if ordinary is not None and unlike_vectors is not None:
            if len(unlike_vectors) != len(unlike_phrases(signs)):
                raise ValueError(
                    f"{len(unlike_vectors)} near-miss vectors for {len(unlike_phrases(signs))} near misses"
                )
            contrast = Contrast(
                ordinary.texts + tuple(unlike_phrases(signs)),
                frozen(np.concatenate([ordinary.vectors, unlike_vectors])) if len(unlike_vectors) else ordinary.vectors,
            )
        self.matcher = SignMatcher(signs, policy, example_vectors, contrast, probe)

    def detect(self, reading: Reading) -> UrgentNotice | None:
        """The notice for the rule a question meets, else None. A question still being typed is
        read without vectors (no model run per keystroke) and gets the trigger test alone."""
        finding = self.finding(reading)
        return self._by_id[finding.sign.id].notice(finding.basis) if finding else None

    def finding(self, reading: Reading) -> Finding | None:
        """Why the question meets a rule: a trigger stated first, else the nearest meaning match."""
        found = self.matcher.findings(reading)
        return found[0] if found else None
