"""A synthetic JSONL corpus big enough that a build takes seconds (to kill it, or watch it run)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from tests.conftest import CORPUS


def write_generated_corpus(path: Path, records: int, seed: int = 7) -> Path:
    """``records`` articles of 10-25 sentences each, words drawn from the bundled corpus."""
    text = " ".join(p.read_text(encoding="utf-8").lower() for p in sorted((CORPUS / "articles").glob("*.md")))
    vocabulary = sorted(set(re.findall(r"[a-z]{3,}", text)))
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as handle:
        for n in range(records):
            sentences = [
                " ".join(rng.choices(vocabulary, k=rng.randint(8, 20))).capitalize() + "."
                for _ in range(rng.randint(10, 25))
            ]
            title = " ".join(rng.choices(vocabulary, k=4)).title()
            handle.write(json.dumps({"id": f"generated-{n}", "title": title, "text": " ".join(sentences)}) + "\n")
    return path
