"""Speed and memory of the sentence encoder (service/embedding.py) on MedQuAD development data.

    python scripts/embed_bench.py                 # ~5-10 min on 2 busy cores
    python scripts/embed_bench.py --passages 300  # quicker

Prints, every figure measured in this run:
- question embedding p50/p99 (ms), one thread, int8 (the shipped model) against fp32 (from
  ../shared/models), over MedQuAD dev questions; and the same for long questions (250 words
  of MedQuAD answer text, as long as a consumer message gets) cut at 128 and at 256
  tokens — the cost of the question cap;
- passage embedding rate (passages/s): int8, passages cut at 128 tokens, --threads threads, a
  fixed sample of --passages MedQuAD passages (the normal loader and chunker): the encoder's one
  passage per run on worker threads, against batches of 32 sorted by length on one session with
  intra-op threads (interleaved rounds), and the cosine between the two ways' vectors;
- peak RSS delta of loading each model and embedding one question (a fresh child process each,
  its peak RSS after the imports against after the load);
- with --candidate FILE.onnx (another quantisation of the same model, e.g. onnxruntime's
  quantize_static calibrated on passages): its passages' median and 5th-percentile cosine to fp32
  beside the shipped int8's, whether its vectors depend on their batch mates (largest change
  between a batch of 16 and one at a time), and its rate one per run and in batches of 8 and 32.
  What a faster, batch-independent build would have to beat (README, "Meaning").
The machine's load average is printed too: 2 shared cores make every timing noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tokenizers import Tokenizer  # noqa: E402

from service.build.chunking import chunk_articles  # noqa: E402
from service.build.corpus import load_articles  # noqa: E402

# The batched comparison row reuses the encoder's own model run (private on purpose: not an API).
from service.index.embedding import Encoder, _embed_batch, default_model_dir, open_session  # noqa: E402  # noqa: E402

MEDQUAD = ROOT.parent / "shared" / "bench" / "medquad"
SHARED_MODEL = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2-onnx"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--medquad", type=Path, default=MEDQUAD)
    parser.add_argument("--fp32-model", type=Path, default=SHARED_MODEL, help="folder holding model.onnx")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--candidate", type=Path, help="another ONNX file of the same model to compare")
    parser.add_argument("--rss-child", choices=["int8", "fp32"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        print(json.dumps(_rss_of_loading(args.rss_child, args.fp32_model)))
        return
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    int8 = Encoder(default_model_dir())
    fp32 = Encoder(args.fp32_model, onnx_file="model.onnx")
    questions = _dev_questions(args.medquad / "dev_queries.jsonl", args.questions)
    passages = chunk_articles(load_articles(args.medquad / "corpus.jsonl"))
    sample = [p.text for p in random.Random(0).sample(passages, min(args.passages, len(passages)))]
    long_questions = [" ".join((a + " " + b).split()[:250]) for a, b in zip(sample[:60], sample[60:120])]

    print("\n| question embedding, one thread | p50 ms | p99 ms |\n|---|---|---|")
    for name, encoder in (("int8", int8), ("fp32", fp32)):
        p50, p99 = _query_latency(encoder, questions)
        print(f"| {name}, {len(questions)} MedQuAD dev questions | {p50:.2f} | {p99:.2f} |")
    for cap in (128, 256):
        capped = Encoder(default_model_dir(), question_max_tokens=cap)
        p50, p99 = _query_latency(capped, long_questions)
        print(f"| int8, {len(long_questions)} long questions (250 words) cut at {cap} tokens | {p50:.2f} | {p99:.2f} |")

    print(
        f"\n| passage embedding, int8, 128 tokens, {args.threads} threads, {len(sample)} passages | passages/s |"
        "\n|---|---|"
    )
    rates, vectors = _passage_rates(int8, sample, args.threads)
    print(f"| one passage per run, {args.threads} worker threads (the encoder's way) | {rates['single']:.1f} |")
    print(f"| batches of 32 sorted by length, {args.threads} intra-op threads | {rates['batched']:.1f} |")
    cosines = (vectors["single"] * vectors["batched"]).sum(axis=1)
    print(f"\nbatches of 32 vs one per run, same passages: cosine min {cosines.min():.4f}, mean {cosines.mean():.4f}")

    print("\n| model | peak RSS delta of load + one question (MB) |\n|---|---|")
    for name in ("int8", "fp32"):
        child = subprocess.run(
            [sys.executable, __file__, "--rss-child", name, "--fp32-model", str(args.fp32_model)],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"| {name} | {json.loads(child.stdout)['delta_mb']:.0f} |")
    if args.candidate:
        _compare_candidate(args.candidate, int8, fp32, sample[:400], args.threads)
    print(f"\nload average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def _compare_candidate(candidate: Path, int8: Encoder, fp32: Encoder, texts: list[str], threads: int) -> None:
    """Fidelity to fp32, batch independence and rate of another ONNX file beside the shipped int8."""
    reference = fp32.embed_passages(texts, threads=threads)
    tokenizer = Tokenizer.from_file(str(int8.model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=int8.passage_max_tokens)
    tokenizer.no_padding()
    encodings = [tokenizer.encode(text) for text in texts]
    print(
        f"\n| {len(texts)} passages | cosine to fp32: median | p5 | batch of 16 vs one at a time: max change "
        f"| passages/s: one per run | batches of 8 | of 32 |\n|---|---|---|---|---|---|---|"
    )
    for name, path in (("shipped int8", int8.onnx_path), (candidate.name, candidate)):
        session = open_session(path)
        single = np.stack([_embed_batch(session, [e])[0] for e in encodings])
        cosines = (single * reference).sum(axis=1)
        batched = np.concatenate([_embed_batch(session, encodings[i : i + 16]) for i in range(0, len(encodings), 16)])
        change = float(np.abs(batched - single).max())
        rates = [_batch_rate(session, encodings, size, threads) for size in (1, 8, 32)]
        print(
            f"| {name} | {np.median(cosines):.4f} | {np.percentile(cosines, 5):.4f} | {change:.1e} | "
            + " | ".join(f"{r:.1f}" for r in rates)
            + " |"
        )


def _batch_rate(session, encodings: list, size: int, threads: int) -> float:
    """Passages/s in batches of ``size`` sorted by length, ``threads`` batches at a time."""
    from concurrent.futures import ThreadPoolExecutor

    ordered = sorted(encodings, key=lambda e: -len(e.ids))
    batches = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda batch: _embed_batch(session, batch), batches))
    return len(encodings) / (time.perf_counter() - started)


def _dev_questions(path: Path, count: int) -> list[str]:
    with path.open(encoding="utf-8") as lines:
        questions = [json.loads(line)["query"] for line in lines]
    return random.Random(0).sample(questions, min(count, len(questions)))


def _query_latency(encoder: Encoder, questions: list[str]) -> tuple[float, float]:
    for question in questions[:20]:
        encoder.embed_query(question)  # warm-up: the first runs allocate the session's arena
    timings = []
    for question in questions:
        started = time.perf_counter()
        encoder.embed_query(question)
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 99))


def _passage_rates(encoder: Encoder, texts: list[str], threads: int) -> tuple[dict, dict]:
    """Both ways over the same passages, in interleaved rounds of 200 (alternating which goes
    first) so that the other users of the machine weigh on both alike."""
    batched_session = open_session(encoder.onnx_path, threads)
    tokenizer = Tokenizer.from_file(str(encoder.model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=encoder.passage_max_tokens)
    tokenizer.no_padding()

    def batched(chunk: list[str]) -> np.ndarray:
        encodings = [tokenizer.encode(text) for text in chunk]
        order = sorted(range(len(chunk)), key=lambda i: -len(encodings[i].ids))
        out = np.empty((len(chunk), encoder.dimensions), dtype=np.float32)
        for start in range(0, len(order), 32):
            rows = order[start : start + 32]
            out[rows] = _embed_batch(batched_session, [encodings[i] for i in rows])
        return out

    ways = {"single": lambda chunk: encoder.embed_passages(chunk, threads=threads), "batched": batched}
    seconds = dict.fromkeys(ways, 0.0)
    parts: dict[str, list] = {name: [] for name in ways}
    for number, start in enumerate(range(0, len(texts), 200)):
        chunk = texts[start : start + 200]
        for name in list(ways) if number % 2 == 0 else list(ways)[::-1]:
            started = time.perf_counter()
            parts[name].append(ways[name](chunk))
            seconds[name] += time.perf_counter() - started
    rates = {name: len(texts) / seconds[name] for name in ways}
    return rates, {name: np.concatenate(parts[name]) for name in ways}


def _rss_of_loading(name: str, fp32_model: Path) -> dict:
    before = _peak_rss_kb()
    encoder = Encoder(default_model_dir()) if name == "int8" else Encoder(fp32_model, onnx_file="model.onnx")
    encoder.embed_query("how long does a cold last")
    return {"delta_mb": (_peak_rss_kb() - before) / 1024}


def _peak_rss_kb() -> int:
    """VmHWM, this address space's peak. Not ru_maxrss: exec keeps the parent's peak in it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    main()
