"""Score the search against a question file, side by side with a plain BM25 baseline.

    python scripts/evaluate.py --questions tests/data/seed_dev.jsonl [--index index]
    python scripts/evaluate.py --questions ../shared/bench/medquad/dev_queries.jsonl --sample 1000 --index mq-index

Care format ({"qid", "query", "care": true|false}): precision and recall of care advice.
Urgent format ({"qid", "query", "urgent": rule id | null}): recall of emergency notices and the
share of false alarms.
Seed format ({"query", "expect_any", "k", "forbid", "expect_empty"}): success@k, MRR@10 (rank of
the first passage containing an expected phrase), chrome violations, non-empty answers to
unanswerable questions.
MedQuAD format ({"qid", "query", "relevant": [doc ids]}): documents ranked by their best passage;
MRR@10, nDCG@10, success@1 and success@10 (defined in bench/ranking_metrics.py, which the
benchmark's MRR@10 shares), for ours and for the baseline in the same run. The
baseline is a Whoosh index over the same passages with the same analyzer: one field holding title
and passage text, Whoosh's BM25F defaults, the OR of the analysed terms, nothing else.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from whoosh import index as whoosh_index  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.query import Or, Term  # noqa: E402

from bench.ranking_metrics import K, mean, ndcg, reciprocal_rank, relevant_ranks, success_at, top_documents  # noqa: E402
from service.index.schema import HealthAnalyzer, analyze  # noqa: E402
from service.index.semantic import load_encoder  # noqa: E402
from service.query.search import SearchRequest, search  # noqa: E402
from service.query.store import IndexUnavailable, LoadedIndex, open_current  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--sample", type=int, default=0, help="deterministic sample of N questions (0: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--model", default="", help="embedding model folder ('none': lexical only; default: the shipped one)"
    )
    parser.add_argument("--baseline-dir", type=Path, help="where the baseline index is kept (reused)")
    args = parser.parse_args()

    try:
        index = open_current(args.index, load_encoder(args.model))
    except IndexUnavailable as exc:
        print(f"error: {exc}; build it first", file=sys.stderr)
        return 1
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.sample and args.sample < len(questions):
        questions = random.Random(args.seed).sample(questions, args.sample)
    engines = {"ours": lambda q: [h.passage for h in search(index, SearchRequest(q=q, limit=50)).hits]}
    if not args.no_baseline:
        baseline = PlainBaseline(
            index, args.baseline_dir or Path(tempfile.gettempdir()) / f"healthfaq-baseline-{index.version}"
        )
        engines["plain BM25 baseline"] = baseline.passages
    if "care" in questions[0]:
        rows = {"ours": score_care(index, questions)}
    elif "urgent" in questions[0]:
        rows = {"ours": score_urgent(index, questions)}
    else:
        scorer = score_seed if "relevant" not in questions[0] else score_documents
        rows = {label: scorer(run, questions) for label, run in engines.items()}
    print(
        f"{len(questions)} questions from {args.questions} against {args.index} ({index.version}, "
        f"{index.passage_count} passages)"
    )
    print_table(rows)
    return 0


class PlainBaseline:
    """Whoosh with its defaults over the same passages: the yardstick, not a product."""

    def __init__(self, index: LoadedIndex, folder: Path) -> None:
        self.index = index
        if not (folder / "DONE").exists():
            folder.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            ix = whoosh_index.create_in(
                str(folder), Schema(row=ID(stored=True), content=TEXT(analyzer=HealthAnalyzer()))
            )
            writer = ix.writer(limitmb=256)
            for row, p in enumerate(index.passages):
                writer.add_document(row=str(row), content=f"{p.article.title}\n{p.text}")
            writer.commit()
            (folder / "DONE").write_text("ok")
            print(f"baseline index built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        self.searcher = whoosh_index.open_dir(str(folder)).searcher()

    def passages(self, q: str) -> list:
        terms = list(dict.fromkeys(analyze(q)))
        if not terms:
            return []
        hits = self.searcher.search(Or([Term("content", t) for t in terms]), limit=50)
        return [self.index.passages[int(hit["row"])] for hit in hits]


def score_documents(run, questions: list[dict]) -> dict:
    rr, gains, s1, s10, took = [], [], [], [], []
    for q in questions:
        started = time.perf_counter()
        passages = run(q["query"])
        took.append((time.perf_counter() - started) * 1000)
        relevant = set(q["relevant"])
        ranks = relevant_ranks(top_documents((p.article.slug for p in passages), K), relevant)
        rr.append(reciprocal_rank(ranks))
        gains.append(ndcg(ranks, len(relevant), K))
        s1.append(success_at(ranks, 1))
        s10.append(success_at(ranks, K))
    return {
        "MRR@10": mean(rr),
        "nDCG@10": mean(gains),
        "success@1": mean(s1),
        "success@10": mean(s10),
        **_latency(took),
    }


def score_seed(run, questions: list[dict]) -> dict:
    graded = [q for q in questions if q.get("expect_any")]
    hits_at_k, rr, chrome, noisy, took = [], [], 0, 0, []
    for q in questions:
        started = time.perf_counter()
        passages = run(q["query"])
        took.append((time.perf_counter() - started) * 1000)
        texts = [" ".join(p.text.split()) for p in passages]
        if q.get("expect_any"):
            phrases = [" ".join(x.split()) for x in q["expect_any"]]
            ranks = [i for i, t in enumerate(texts[:K], start=1) if any(x in t for x in phrases)]
            hits_at_k.append(success_at(ranks, q.get("k", 3)))
            rr.append(reciprocal_rank(ranks))
        chrome += sum(1 for t in texts for f in q.get("forbid", []) if f in t)
        noisy += 1 if q.get("expect_empty") and passages else 0
    return {
        "success@k": mean(hits_at_k),
        "MRR@10": mean(rr),
        "graded": len(graded),
        "chrome violations": chrome,
        "answered unanswerable": noisy,
        **_latency(took),
    }


def score_care(index: LoadedIndex, questions: list[dict]) -> dict:
    """Care advice against labels ({"query", "care": true|false}): is it shown exactly when the
    question states a warning sign?"""
    shown = {q["qid"]: bool(search(index, SearchRequest(q=q["query"])).care_advice) for q in questions}
    wanted = {q["qid"] for q in questions if q["care"]}
    hits = sum(1 for qid in wanted if shown[qid])
    alarms = sum(1 for qid, on in shown.items() if on and qid not in wanted)
    for q in questions:
        if shown[q["qid"]] != bool(q["care"]):
            print(f"  {'missed' if q['care'] else 'false alarm'}: {q['query']}", file=sys.stderr)
    return {
        "precision": hits / max(1, hits + alarms),
        "recall": hits / max(1, len(wanted)),
        "with sign": len(wanted),
        "without": len(questions) - len(wanted),
    }


def score_urgent(index: LoadedIndex, questions: list[dict]) -> dict:
    """Emergency notices against labels ({"query", "urgent": rule id | null}): recall on urgent
    questions, false alarms on the rest, and notices that named another rule."""
    found = {q["qid"]: search(index, SearchRequest(q=q["query"])).urgent for q in questions}
    urgent = [q for q in questions if q["urgent"]]
    calm = [q for q in questions if not q["urgent"]]
    for q in questions:
        notice = found[q["qid"]]
        if bool(notice) != bool(q["urgent"]):
            print(f"  {'missed' if q['urgent'] else 'false alarm'}: {q['query']}", file=sys.stderr)
    return {
        "recall": mean([1.0 if found[q["qid"]] else 0.0 for q in urgent]),
        "false alarms": mean([1.0 if found[q["qid"]] else 0.0 for q in calm]),
        "other rule": sum(1 for q in urgent if found[q["qid"]] and found[q["qid"]].id != q["urgent"]),
        "urgent": len(urgent),
        "not urgent": len(calm),
    }


def _latency(took: list[float]) -> dict:
    ordered = sorted(took)
    return {"p50 ms": statistics.median(ordered), "p99 ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]}


def print_table(rows: dict[str, dict]) -> None:
    columns = list(next(iter(rows.values())))
    print("| engine | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for label, row in rows.items():
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
