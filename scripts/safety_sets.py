"""Write the public benign question sets the safety checks are measured on (nothing is committed).

    python scripts/safety_sets.py --out /tmp/safety [--mediqa /path/to/MEDIQA2019]

Each output file is JSON Lines in the check-rules format ({"qid", "query", "urgent": null}):
- medquad_dev.jsonl: the MedQuAD dev questions (../shared/bench/medquad/dev_queries.jsonl);
- consumer_dev.jsonl: our consumer messages over MedQuAD (bench/data/consumer_dev.jsonl);
- mediqa_rqe.jsonl: with --mediqa, the questions of the MEDIQA 2019 RQE training and validation
  files (consumer and clinical questions, each text once). The repository ships no licence file;
  its README asks users to cite the overview paper (see README "Care advice and emergency
  notices"). It is read from a local checkout and never copied into this repository. Only the
  `MEDIQA_Task2_RQE` training and validation files are read: the test file and the QA task's
  files are kept for measurement by others.

Score them with `healthfaq check-rules --questions FILE --split holdout`.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEDQUAD_DEV = ROOT.parent / "shared" / "bench" / "medquad" / "dev_queries.jsonl"
CONSUMER_DEV = ROOT / "bench" / "data" / "consumer_dev.jsonl"
RQE_FILES = ("MEDIQA2019-Task2-RQE-TrainingSet-AMIA2016.xml", "MEDIQA2019-Task2-RQE-ValidationSet-AMIA2016.xml")


def benign(path: Path, prefix: str) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"qid": f"{prefix}-{q['qid']}", "query": q["query"], "urgent": None} for q in lines]


def mediqa_rqe(folder: Path) -> list[dict]:
    seen: dict[str, dict] = {}
    for name in RQE_FILES:
        root = ET.parse(folder / "MEDIQA_Task2_RQE" / name).getroot()
        for pair in root.iter("pair"):
            for part in ("chq", "faq"):
                node = pair.find(part)
                text = " ".join((node.text or "").split()) if node is not None else ""
                if text and text not in seen:
                    seen[text] = {
                        "qid": f"rqe-{name.split('-')[3]}-{pair.get('pid')}-{part}",
                        "query": text,
                        "urgent": None,
                    }
    return list(seen.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mediqa", type=Path, help="a checkout of the MEDIQA2019 repository")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sets = {"medquad_dev.jsonl": benign(MEDQUAD_DEV, "mq"), "consumer_dev.jsonl": benign(CONSUMER_DEV, "cd")}
    if args.mediqa:
        sets["mediqa_rqe.jsonl"] = mediqa_rqe(args.mediqa)
    for name, questions in sets.items():
        with (args.out / name).open("w", encoding="utf-8") as out:
            for q in questions:
                out.write(json.dumps(q, ensure_ascii=False) + "\n")
        print(f"{args.out / name}: {len(questions)} questions", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
