"""The query mixes every engine answers: what a search box, a FAQ visitor and a pasted message send.

Each mix is drawn with a fixed seed, so two runs (and two engines) time the same questions.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from service.index.models import Passage

LONG_WORDS = 60
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Query:
    text: str
    prefix: bool = False  # typed ahead: the last word is the start of a word
    relevant: frozenset[str] = frozenset()  # article slugs that answer it (faq mix only)


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, without punctuation."""
    return [w.lower() for w in _WORD.findall(text)]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def faq_mix(questions: list[dict], n: int, seed: int) -> list[Query]:
    """The same deterministic sample as scripts/evaluate.py --sample N --seed S, so MRR@10 here
    and there are over the same questions."""
    chosen = random.Random(seed).sample(questions, n) if n < len(questions) else questions
    return [Query(q["query"], relevant=frozenset(q["relevant"])) for q in chosen]


def box_mix(passages: Sequence[Passage], n: int, seed: int) -> list[Query]:
    """What a search box sends: 1, 2 or 3 words of a title, or words then a 3-5 letter prefix."""
    rng = random.Random(seed)
    out: list[Query] = []
    for i, title in enumerate(rng.choices(_titles(passages), k=n)):
        title_words = words(title) or [title.lower()]
        kind = i % 4
        out.append(Query(" ".join(title_words[: kind + 1])) if kind < 3 else _typed_ahead(title_words, rng))
    return out


def prefix_mix(passages: Sequence[Passage], n: int, seed: int) -> list[Query]:
    """Only what the box sends as you type (words then a prefix, prefix=True): the quarter of the
    box mix that hybrid search keeps lexical, timed on its own."""
    rng = random.Random(seed + 1)
    return [_typed_ahead(words(title) or [title.lower()], rng) for title in rng.choices(_titles(passages), k=n)]


def _titles(passages: Sequence[Passage]) -> list[str]:
    return sorted({p.article.title for p in passages})


def _typed_ahead(title_words: list[str], rng: random.Random) -> Query:
    """The words of a title before one of its first three, then the start (3-5 letters) of that one."""
    at = rng.randrange(min(len(title_words), 3))
    word = title_words[at]
    cut = min(len(word), rng.randint(3, 5))
    return Query(" ".join([*title_words[:at], word[:cut]]), prefix=True)


def long_mix(records: list[dict], n: int, seed: int) -> list[Query]:
    """Pasted messages: the first 60 words of answers long enough to have them."""
    texts = [r["text"].split() for r in records]
    texts = [" ".join(t[:LONG_WORDS]) for t in texts if len(t) >= LONG_WORDS]
    return [Query(t) for t in random.Random(seed).sample(texts, min(n, len(texts)))]
