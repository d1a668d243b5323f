"""Care advice: the publisher's own "see a doctor" passages, when the question states a warning sign.

Warning signs are the list items of the sections an article marks in ``care_sections``. They
are signs for the shared matcher (signs.py), read with the care policy: a clause that denies a
sign ("no burning when I pee") states nothing; one that asks about it ("what does blood in semen
mean") or tells of it in the past still states it, since the advice is the publisher's own and
mild. A sign is met in the question's words (all of a trigger's stems: the sign's own text, or
an editor's lay trigger such as "pee stinks") or in its meaning (a clause at least
``POLICY.floor`` similar to the sign or one of the editors' lay examples, and nearer to it than
to any ordinary question). What the top answer says no longer counts: a question that states no
sign gets no advice.

The lay triggers and examples are the editors' (``care_signs.yaml``, shipped in
``service/data`` or the corpus folder's own, which replaces it), keyed by a sign's exact text;
they are never shown, only compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from service.index.errors import CorpusError
from service.safety.clauses import plain_negatives, stems_of
from service.safety.signs import Contrast, Finding, Policy, Reading, Sign, SignMatcher
from service.safety.urgent import load_yaml

CARE_FILE = "care_signs.yaml"
# Calibrated on the tune half of tests/data/safety/care.jsonl and care_questions.jsonl (README "Care
# advice"): a trained probe (as the emergency check has) added nothing there, so care has none.
POLICY = Policy(name="care", happening=False, floor=0.5, margin=0.06, probability=0.0, sure=0.0)


@dataclass(frozen=True)
class WarningSign:
    text: str
    row: int  # the care passage holding it


@dataclass(frozen=True)
class SignWords:
    """An editor's lay triggers and examples for one warning sign."""

    triggers: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


def warning_signs(passages: Iterable[tuple[str, str, str]], articles: dict[str, dict]) -> list[WarningSign]:
    """The list items of care sections, from (article slug, section anchor, text) per passage row.
    The build embeds them and a version opens them in this order."""
    signs = []
    for row, (slug, anchor, text) in enumerate(passages):
        if anchor not in (articles.get(slug) or {}).get("care_sections", ()):
            continue
        for line in text.splitlines():
            if line.startswith("- ") and stems_of(line[2:]):
                signs.append(WarningSign(line[2:].strip(), row))
    return signs


def parse_care_words(text: str, source: str) -> dict[str, SignWords]:
    """The editors' care_signs.yaml: ``- sign: <list item text>`` with ``triggers`` and ``examples``
    lists; CorpusError names the line and the reason."""
    data = load_yaml(text, source)
    if data is None:
        return {}
    if not isinstance(data, list):
        raise CorpusError(source, 1, "the file must be a YAML list of signs")
    starts = [i for i, line in enumerate(text.split("\n"), start=1) if line.startswith("- ")]
    found: dict[str, SignWords] = {}
    for number, entry in enumerate(data):
        line = starts[number] if number < len(starts) else 1
        if not isinstance(entry, dict) or not isinstance(entry.get("sign"), str) or not entry["sign"].strip():
            raise CorpusError(source, line, "each entry must be a mapping with 'sign' (a warning sign's text)")
        lists = {}
        for key in ("triggers", "examples"):
            value = entry.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise CorpusError(source, line, f"sign {entry['sign']!r}: '{key}' must be a list of phrases")
            lists[key] = tuple(" ".join(v.split()) for v in value)
        if any(not stems_of(plain_negatives(t)) for t in lists["triggers"]):
            raise CorpusError(source, line, f"sign {entry['sign']!r}: a trigger has no content words")
        key = _key(entry["sign"])
        if key in found:
            raise CorpusError(source, line, f"sign {entry['sign']!r} is listed twice")
        found[key] = SignWords(lists["triggers"], lists["examples"])
    return found


def _key(text: str) -> str:
    """Signs are matched to the article's list items by their words, not spacing or case."""
    return " ".join(text.lower().split()).rstrip(".")


def care_signs(signs: Sequence[WarningSign], words: dict[str, SignWords]) -> list[Sign]:
    """The warning signs as matcher signs: the publisher's text is always a trigger and an
    example; the editors' lay words are added to it."""
    found = []
    for sign in signs:
        extra = words.get(_key(sign.text), SignWords())
        phrases = (sign.text, *extra.triggers)
        found.append(
            Sign(
                id=sign.text,
                phrases=phrases,
                triggers=tuple(tuple(dict.fromkeys(stems_of(plain_negatives(p)))) for p in phrases),
                examples=(sign.text, *extra.examples),
            )
        )
    return found


class CareSigns:
    def __init__(
        self,
        signs: Sequence[WarningSign],
        words: dict[str, SignWords] | None = None,
        vectors: np.ndarray | None = None,
        contrast: Contrast | None = None,
        policy: Policy = POLICY,
    ) -> None:
        self.signs = list(signs)
        self.rows: set[int] = {s.row for s in self.signs}  # the care passages themselves
        self._row_of = {s.text: s.row for s in self.signs}
        self.matcher = SignMatcher(care_signs(self.signs, words or {}), policy, vectors, contrast)

    def findings(self, reading: Reading) -> list[Finding]:
        return self.matcher.findings(reading) if self.signs else []

    def rows_for(self, reading: Reading) -> list[int]:
        """Rows of the care passages whose warning signs the question states, once each."""
        return list(dict.fromkeys(self._row_of[f.sign.id] for f in self.findings(reading)))
