"""The query mixes every engine answers: what a search box, a FAQ visitor and a pasted message send.

Each mix is drawn with a fixed seed, so two runs (and two engines) time the same questions.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from service.models import Passage

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
    titles = sorted({p.article.title for p in passages})
    rng = random.Random(seed)
    out: list[Query] = []
    for i, title in enumerate(rng.choices(titles, k=n)):
        title_words = words(title) or [title.lower()]
        kind = i % 4
        if kind < 3:
            out.append(Query(" ".join(title_words[:kind + 1])))
        else:  # typed ahead: the words before, then the start of the next one
            at = rng.randrange(min(len(title_words), 3))
            word = title_words[at]
            cut = min(len(word), rng.randint(3, 5))
            out.append(Query(" ".join([*title_words[:at], word[:cut]]), prefix=True))
    return out


def long_mix(records: list[dict], n: int, seed: int) -> list[Query]:
    """Pasted messages: the first 60 words of answers long enough to have them."""
    texts = [r["text"].split() for r in records]
    texts = [" ".join(t[:LONG_WORDS]) for t in texts if len(t) >= LONG_WORDS]
    return [Query(t) for t in random.Random(seed).sample(texts, min(n, len(texts)))]
