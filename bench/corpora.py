"""The corpus files the benchmark builds besides the one it is given: the quick run's slice, and
the copy with one article changed for the rebuild. Both are written to the run's temp folder,
never into the repository or next to the corpus.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from bench.mixes import Query

QUICK_RECORDS = 1000
# Added to each line of the changed article: no words of the publisher's are altered, and every
# passage of the article changes, so the rebuild re-embeds the whole article (an upper bound for
# an editor's change to one article).
EDIT_MARK = " [changed for the benchmark's rebuild]"


@dataclass(frozen=True)
class ChangedArticle:
    record_id: str
    lines: int  # lines of its text, each marked


def write_slice(corpus: Path, faq: list[Query], dest: Path, seed: int) -> int:
    """A smaller corpus for --quick (embedding all of MedQuAD takes 10-40 min): the answers to
    the faq questions plus QUICK_RECORDS other records drawn with ``seed``, in corpus order.
    Returns the number of records written."""
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [json.loads(line)["id"] for line in lines]
    answers = set().union(*(q.relevant for q in faq)) if faq else set()
    others = [i for i, record_id in enumerate(ids) if record_id not in answers]
    kept = {i for i, record_id in enumerate(ids) if record_id in answers}
    kept.update(random.Random(seed).sample(others, min(QUICK_RECORDS, len(others))))
    dest.write_text("".join(lines[i] + "\n" for i in sorted(kept)), encoding="utf-8")
    return len(kept)


def write_with_one_article_changed(corpus: Path, dest: Path) -> ChangedArticle:
    """A copy of the JSONL ``corpus`` whose first record has EDIT_MARK at the end of every line of
    its text; every other record byte for byte as it was."""
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.strip())
    record = json.loads(lines[first])
    text_lines = record["text"].split("\n")
    record["text"] = "\n".join(line + EDIT_MARK if line.strip() else line for line in text_lines)
    lines[first] = json.dumps(record, ensure_ascii=False) + "\n"
    dest.write_text("".join(lines), encoding="utf-8")
    return ChangedArticle(record_id=record["id"], lines=sum(1 for line in text_lines if line.strip()))
