"""Score the emergency rules and care advice against labelled questions, and explain one question.

Editors change ``urgent.yaml``; before it is published they want to know what the change does:
how many emergencies it still finds (recall), how many ordinary questions it now alarms (false
alarms), and how often it names the wrong rule. ``healthfaq check-rules`` answers that from a
JSON Lines file, and ``healthfaq explain`` shows for one question which rule or sign fired, from
which clause, by words or by meaning and with what scores, or why none did.

Labelled lines: ``{"qid", "query", "urgent": rule id | null}`` and/or ``{"qid", "query",
"care": true | false}``. Each line falls in the *tune* or the *holdout* half by a hash of its qid,
so that thresholds are chosen on one half and reported on the other.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from service.safety.clauses import Clause, denies
from service.safety.signs import BY_WORDS, Finding, Reading, SignMatcher

TUNE, HOLDOUT = "tune", "holdout"


def split_of(qid: str) -> str:
    """Half of a labelled set a question falls in: fixed by its id, never by its content."""
    return TUNE if int(hashlib.sha256(str(qid).encode()).hexdigest()[:8], 16) % 2 == 0 else HOLDOUT


def read_labelled(path: Path) -> list[dict]:
    """The questions of a JSON Lines file; a broken line is an error naming the line."""
    questions = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(item, dict) or not isinstance(item.get("query"), str):
            raise ValueError(f'{path}:{number}: each line needs a "query" string')
        item.setdefault("qid", f"{Path(path).stem}:{number}")
        questions.append(item)
    return questions


@dataclass
class UrgentScore:
    urgent: int = 0
    found: int = 0  # urgent questions that got some notice
    right_rule: int = 0  # ... the labelled rule's notice
    ordinary: int = 0
    alarms: int = 0  # ordinary questions that got a notice
    by_words: int = 0  # notices from triggers (the rest by meaning)
    misses: list[tuple[str, str]] = field(default_factory=list)  # (rule, question)
    false_alarms: list[tuple[str, str, str]] = field(default_factory=list)  # (rule, basis, question)
    wrong: list[tuple[str, str, str]] = field(default_factory=list)  # (expected, shown, question)
    alarm_rules: Counter = field(default_factory=Counter)

    def rows(self) -> list[tuple[str, str]]:
        shown = self.found + self.alarms
        return [
            ("emergency questions", f"{self.urgent}"),
            ("recall (a notice shown)", _share(self.found, self.urgent)),
            ("right rule, of notices shown", _share(self.right_rule, self.found)),
            ("ordinary questions", f"{self.ordinary}"),
            ("false alarms", f"{self.alarms} ({_share(self.alarms, self.ordinary, percent=True)})"),
            ("notices by words / by meaning", f"{self.by_words} / {shown - self.by_words}"),
        ]


@dataclass
class CareScore:
    stating: int = 0
    shown_stating: int = 0
    not_stating: int = 0
    shown_not_stating: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[tuple[str, str]] = field(default_factory=list)  # (sign, question)

    def rows(self) -> list[tuple[str, str]]:
        shown = self.shown_stating + self.shown_not_stating
        return [
            ("questions stating a sign / not", f"{self.stating} / {self.not_stating}"),
            ("precision", _share(self.shown_stating, shown)),
            ("recall", _share(self.shown_stating, self.stating)),
            ("advice on questions stating none", f"{self.shown_not_stating}"),
        ]


def score_urgent(questions: Iterable[dict], detect: Callable[[str], Finding | None]) -> UrgentScore:
    score = UrgentScore()
    for q in questions:
        finding = detect(q["query"])
        shown = finding.sign.id if finding else None
        if q["urgent"]:
            score.urgent += 1
            if shown is None:
                score.misses.append((q["urgent"], q["query"]))
                continue
            score.found += 1
            score.right_rule += shown == q["urgent"]
            if shown != q["urgent"]:
                score.wrong.append((q["urgent"], shown, q["query"]))
        else:
            score.ordinary += 1
            if finding is not None:
                score.alarms += 1
                score.alarm_rules[finding.sign.id] += 1
                score.false_alarms.append((finding.sign.id, finding.basis, q["query"]))
        if finding is not None and finding.basis == BY_WORDS:
            score.by_words += 1
    return score


def score_care(questions: Iterable[dict], signs: Callable[[str], list[Finding]]) -> CareScore:
    score = CareScore()
    for q in questions:
        found = signs(q["query"])
        if q["care"]:
            score.stating += 1
            score.shown_stating += bool(found)
            if not found:
                score.misses.append(q["query"])
        else:
            score.not_stating += 1
            score.shown_not_stating += bool(found)
            if found:
                score.false_alarms.append((found[0].sign.id, q["query"]))
    return score


def explain(reading: Reading, checks: list[tuple[str, SignMatcher]], top: int = 3) -> list[str]:
    """Plain lines for an editor: how each clause was read, what fired and why, or what came
    nearest and what stopped it."""
    lines = ["clauses:"]
    for number, clause in enumerate(reading.parts, start=1):
        lines.append(f"  {number}. {clause.text!r}: {_clause_state(clause)}")
    if not reading.can_mean:
        lines.append("(no model: by words only)")
    for label, matcher in checks:
        found = matcher.findings(reading)
        lines.append(f"{label}:")
        for f in found:
            lines.append("  FIRED " + _finding_line(f))
        if not found:
            lines.append("  nothing fired")
        lines += _near_misses(reading, matcher, {f.sign.id for f in found}, top)
    return lines


def _clause_state(clause: Clause) -> str:
    if denies(clause):
        return "denies a sign (counts for nothing)"
    if not clause.counts:
        return "asks about a condition or tells of the past (care only)"
    if not clause.acute:
        return "tells of something over or mild (care only)"
    return "states something happening (emergency and care)"


def _finding_line(f: Finding) -> str:
    if f.basis == BY_WORDS:
        return f"{f.sign.id}: by words, trigger {f.evidence!r} in clause {f.clause!r}"
    probability = f", probability {f.probability:.3f}" if f.probability is not None else ""
    return (
        f"{f.sign.id}: by meaning, clause {f.clause!r} ~ example {f.evidence!r} cosine {f.similarity:.3f}"
        f"{probability}; nearest ordinary question {f.nearest_ordinary!r} "
        f"{f.ordinary_similarity:.3f}; acute cue {'yes' if f.cue else 'no'}"
    )


def _near_misses(reading: Reading, matcher: SignMatcher, fired: set[str], top: int) -> list[str]:
    """The signs that came nearest without firing, and every test that refused them."""
    policy = matcher.policy
    candidates = []
    for scores in matcher.scores(reading):
        for sign in scores.like.argsort()[::-1][:top]:
            if matcher.signs[sign].id not in fired:
                candidates.append((float(scores.like[sign]), scores.clause, int(sign), scores))
    lines = []
    for similarity, number, sign, scores in sorted(candidates, key=lambda c: -c[0])[:top]:
        reasons = []
        if similarity < policy.floor:
            reasons.append(f"cosine below {policy.floor}")
        if policy.margin > -1 and similarity < scores.ordinary + policy.margin:
            reasons.append(f"not {policy.margin} nearer than the ordinary question")
        if policy.probability and scores.probability[sign] < policy.probability:
            reasons.append(f"probability below {policy.probability}")
        if policy.sure and similarity < policy.sure and not scores.cue:
            reasons.append(f"no acute cue below cosine {policy.sure}")
        probability = f", probability {scores.probability[sign]:.3f}" if matcher.probe is not None else ""
        lines.append(
            f"  near: {matcher.signs[sign].id}: clause {reading.parts[number].text!r} ~ example "
            f"{matcher.example_text(int(scores.which[sign]))!r} cosine {similarity:.3f}{probability}; "
            f"nearest ordinary question "
            f"{matcher.contrast_text(scores.nearest)!r} {scores.ordinary:.3f}; refused: "
            f"{', '.join(reasons) or 'another sign won'}"
        )
    return lines


def _share(part: int, whole: int, percent: bool = False) -> str:
    if not whole:
        return "n/a"
    return f"{100 * part / whole:.2f}%" if percent else f"{part / whole:.3f}"
