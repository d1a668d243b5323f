"""Choose the meaning thresholds of the emergency check on the TUNE half of the labelled sets.

    python scripts/calibrate_safety.py --index test-index tests/data/safety/*.jsonl [/tmp/safety/*.jsonl]

Every question is read once (its clauses embedded as the search would); then each candidate
policy (floor, margin, probability, sure) is scored from those numbers: recall on emergencies, false alarms
on ordinary questions, right rule. Prints the best policies by a loss that counts a false alarm
as heavily as a miss (issue 16: a false "call your emergency number" is no lesser defect), and
the figures of the one in service/urgent.py. The holdout half is never read here; report it
with `healthfaq check-rules --split holdout`.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.index.semantic import load_encoder  # noqa: E402
from service.query.search import read_question  # noqa: E402
from service.query.store import open_current  # noqa: E402
from service.safety.care import POLICY as CARE_POLICY  # noqa: E402
from service.safety.rulecheck import TUNE, read_labelled, split_of  # noqa: E402
from service.safety.urgent import POLICY  # noqa: E402

FLOORS = [0.4, 0.45, 0.5, 0.55, 0.6]
MARGINS = [-0.05, -0.02, 0.0, 0.02, 0.04, 0.06, 0.08, 0.1]
PROBABILITIES = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
CERTAIN = [0.8, 0.9, 0.95, 0.98, 1.01]
SURES = [0.0, 0.6]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", type=Path, nargs="+")
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--check", choices=["urgent", "care"], default="urgent")
    parser.add_argument(
        "--alarm-weight",
        type=float,
        default=3.0,
        help="cost of a false alarm rate point against a recall point (default 3)",
    )
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    index = open_current(args.index, load_encoder(""))
    questions = [
        q for path in args.questions for q in read_labelled(path) if args.check in q and split_of(q["qid"]) == TUNE
    ]
    print(f"{len(questions)} tune questions ({sum(1 for q in questions if q[args.check])} positive)", file=sys.stderr)
    matcher = index.urgent.matcher if args.check == "urgent" else index.care.matcher
    policy = POLICY if args.check == "urgent" else CARE_POLICY
    ids = [s.id for s in matcher.signs]
    rows = []  # per question: (label, words rule or None, [(like per rule, ordinary, cue)])
    for n, q in enumerate(questions):
        reading = read_question(index, q["query"], index.semantic.embed(q["query"]))
        words = matcher.by_words(reading.parts)
        clauses = matcher.scores(reading)
        rows.append((q[args.check], words[0].sign.id if words else None, clauses))
        if n % 500 == 0:
            print(f"  read {n}/{len(questions)}", file=sys.stderr)
    results = []
    for floor, margin, probability, certain, sure in itertools.product(FLOORS, MARGINS, PROBABILITIES, CERTAIN, SURES):
        if certain <= probability:
            continue
        candidate = replace(policy, floor=floor, margin=margin, probability=probability, certain=certain, sure=sure)
        results.append((*score(rows, ids, matcher, candidate), candidate))
    urgent = sum(1 for r in rows if r[0])
    calm = len(rows) - urgent
    ranked = sorted(results, key=lambda r: (1 - r[0] / urgent) + args.alarm_weight * r[1] / calm)
    print("recall  false-alarms  right-rule  floor margin probability certain sure")
    for found, alarms, right, p in ranked[: args.top]:
        print(
            f"{found / urgent:.3f}   {alarms:4d} ({alarms / calm:.2%})  {right / max(found, 1):.3f}   "
            f"{p.floor:.2f}  {p.margin:+.2f}  {p.probability:.2f}  {p.certain:.2f}  {p.sure:.2f}"
        )
    found, alarms, right = score(rows, ids, matcher, policy)
    print(
        f"shipped policy {policy}: recall {found / urgent:.3f}, false alarms {alarms} "
        f"({alarms / calm:.2%}), right rule {right / max(found, 1):.3f}"
    )
    return 0


def score(rows, ids, matcher, policy) -> tuple[int, int, int]:
    found = alarms = right = 0
    matcher.policy = policy
    for label, words, clauses in rows:
        shown = words or decide(clauses, ids, matcher)
        if label:
            found += shown is not None
            right += shown == label or (label is True and shown is not None)
        else:
            alarms += shown is not None
    return found, alarms, right


def decide(clauses, ids, matcher):
    """The sign the nearest meaning match names, as SignMatcher._by_meaning orders them."""
    best, best_like = None, -1.0
    for scores in clauses:
        ok = matcher.met(scores)
        if ok.any():
            sign = int(np.argmax(np.where(ok, scores.like, -2.0)))
            if scores.like[sign] > best_like:
                best, best_like = ids[sign], float(scores.like[sign])
    return best


if __name__ == "__main__":
    sys.exit(main())
