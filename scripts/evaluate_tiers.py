"""Measure the answer-at-a-glance targets on their development sets, per half (tune / holdout / all).

    python scripts/evaluate_tiers.py [--index index]
    python scripts/evaluate_tiers.py --pairs bench/data/answer_sentences_medquad.jsonl --index mq-index

Figures, each on the halves service.safety.rulecheck.split_of assigns (tune on "tune", report
"holdout"):
- answering sentence (tests/data/answer_sentences.jsonl, or MedQuAD pairs with --pairs): the top
  result's snippet holds the pair's sentence (tags and ellipses removed, spaces normalised);
  beside it how often the top passage holds it at all (the ceiling a snippet can reach);
- slang (tests/data/slang_questions.jsonl): the labelled article is the top answer, or among the
  related articles; and how many questions get an empty page (no answer, no related article);
- unrelated (tests/data/unrelated_questions.jsonl): neither answers nor related articles.

A MedQuAD pair names a document (``doc``): its passage ids start with it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.index.semantic import load_encoder  # noqa: E402
from service.query.search import SearchRequest, search  # noqa: E402
from service.query.store import LoadedIndex, open_current  # noqa: E402
from service.safety.rulecheck import split_of  # noqa: E402

DATA = ROOT / "tests" / "data"
HALVES = ("tune", "holdout", "all")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--pairs", type=Path, default=DATA / "answer_sentences.jsonl")
    parser.add_argument("--only-pairs", action="store_true", help="skip the slang and unrelated sets (MedQuAD)")
    args = parser.parse_args()
    index = open_current(args.index, load_encoder(""))
    report("answering sentence in the top snippet", rows(args.pairs), lambda q: sentence_found(index, q))
    if not args.only_pairs:
        report("slang: article top answer or related", rows(DATA / "slang_questions.jsonl"), lambda q: slang(index, q))
        report(
            "unrelated: no answer, no related", rows(DATA / "unrelated_questions.jsonl"), lambda q: unrelated(index, q)
        )
    return 0


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plain(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).replace("\u2026", " ").replace("&amp;", "&").split())


def sentence_found(index: LoadedIndex, pair: dict) -> dict:
    results = search(index, SearchRequest(q=pair["query"], limit=5))
    sentence = " ".join(pair["sentence"].split())
    top = results.hits[0] if results.hits else None
    return {
        "ok": bool(top) and sentence in plain(top.snippet),
        "top passage holds it": bool(top) and sentence in " ".join(top.passage.text.split()),
    }


def slang(index: LoadedIndex, question: dict) -> dict:
    results = search(index, SearchRequest(q=question["query"], limit=5))
    top = results.hits[0].passage.article.slug if results.hits else None
    related = {r.article.slug for r in results.related}
    return {
        "ok": top == question["article"] or question["article"] in related,
        "top answer": top == question["article"],
        "empty page": not results.hits and not results.related,
    }


def unrelated(index: LoadedIndex, question: dict) -> dict:
    results = search(index, SearchRequest(q=question["query"], limit=5))
    return {"ok": not results.hits and not results.related, "no answer": not results.hits}


def report(title: str, questions: list[dict], check: Callable[[dict], dict]) -> None:
    outcomes = [(split_of(q["qid"]), check(q)) for q in questions]
    print(title)
    for half in HALVES:
        chosen = [o for h, o in outcomes if half in ("all", h)]
        figures = (
            ", ".join(f"{name} {sum(o[name] for o in chosen)}/{len(chosen)}" for name in chosen[0]) if chosen else "-"
        )
        share = sum(o["ok"] for o in chosen) / len(chosen) if chosen else 0.0
        print(f"  {half:8s} {share:6.1%}  ({figures})")


if __name__ == "__main__":
    raise SystemExit(main())
