"""Clause reading sees the letters search analyses: a fullwidth or ligature spelling of a question
states, denies and dates a sign exactly as the plain spelling does (schema.py's normalisation)."""

from __future__ import annotations

from pathlib import Path

import pytest

import service
from service.index.schema import analyze
from service.safety.clauses import clauses, stems_of
from service.safety.signs import Reading
from service.safety.urgent import UrgentDetector, parse_rules

SHIPPED_RULES = Path(service.__file__).parent / "data" / "urgent.yaml"


def fullwidth(text: str) -> str:
    """``text`` as a phone keyboard in East Asian mode types it: ｆｕｌｌｗｉｄｔｈ letters and marks."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.fixture(scope="module")
def detector() -> UrgentDetector:
    return UrgentDetector(parse_rules(SHIPPED_RULES.read_text(encoding="utf-8"), str(SHIPPED_RULES)))


def test_stems_are_the_schema_analysis_of_the_plain_forms():
    assert stems_of("ﬁts and ｆｅｖｅｒ") == stems_of("fits and fever") == analyze("fits and fever")
    assert stems_of(fullwidth("no fever")) == ["not", "fever"]


@pytest.mark.parametrize(
    "question",
    [
        "I have crushing chest pain right now",
        "no crushing chest pain, just a bit of leaking",  # denied
        "I had crushing chest pain two years ago",  # the past
        "what does crushing chest pain feel like",  # asked about
        "my dad can't breathe",  # a negative contraction
    ],
)
def test_a_fullwidth_question_meets_the_same_emergency_as_the_plain_one(detector, question):
    plain = detector.detect(Reading(question))
    wide = detector.detect(Reading(fullwidth(question)))
    assert (wide.id if wide else None) == (plain.id if plain else None)


def test_the_first_question_is_an_emergency_at_all(detector):
    assert detector.detect(Reading(fullwidth("I have crushing chest pain right now"))) is not None


def test_a_ligature_reads_as_its_letters_in_a_clause():
    [clause] = clauses("I had ﬁts as a teenager")
    assert "fits" in clause.words and not clause.counts
