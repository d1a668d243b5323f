"""The benchmark's own pieces: one percentile method, the load generator against a real server,
and the table's rows and targets from a run's results."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import report, urgent_cost
from bench.build import OurBuild, embedding_figures
from bench.corpora import EDIT_MARK, QUICK_RECORDS, ChangedArticle, write_slice, write_with_one_article_changed
from bench.mixes import Query
from bench.stats import percentiles
from service.build.progress import Progress
from service.safety.urgent import UrgentDetector
from tests.conftest import ROOT, start_server, stop_server


def test_percentiles_match_numpy_and_handle_few_values():
    values = [random.Random(3).expovariate(1.0) for _ in range(997)]
    assert percentiles(values, (50, 95, 99)) == pytest.approx(list(np.percentile(values, [50, 95, 99])))
    assert percentiles([], (50, 99)) == [None, None]
    assert percentiles([4.0], (50, 99)) == [4.0, 4.0]


@pytest.mark.slow
def test_loadgen_counts_answers_from_a_real_server(bundled_index_dir: Path, tmp_path: Path):
    paths = tmp_path / "paths.txt"
    paths.write_text("/healthz\n/search?q=kegel+exercises\n")
    server = start_server(bundled_index_dir, tmp_path)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.loadgen",
                "--port",
                str(server.port),
                "--paths",
                str(paths),
                "--concurrency",
                "2",
                "--duration",
                "0.5",
                "--warmup",
                "0.1",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    finally:
        stop_server(server)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] > 0 and result["errors"] == 0 and set(result["status"]) == {"200"}, result
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"], result


def _figures(p50: float) -> dict:
    return {"median": {"p50": p50, "p95": p50, "p99": p50, "cpu_p99": p50}}


def _build(seconds: float, embedded: int, embedding_seconds: float) -> OurBuild:
    return OurBuild(
        command="service build",
        seconds=seconds,
        wall_seconds=seconds + 1,
        passages=5,
        size_bytes=2**20,
        peak_rss_bytes=2**27,
        version="v1",
        embedded=embedded,
        embedding_seconds=embedding_seconds,
    )


def test_table_rows_and_targets_from_results():
    latency = {
        mix: {
            "ours": _figures(2.0),
            "bm25s": _figures(1.0),
            "tantivy": _figures(0.5),
            "bm25s+encoder": _figures(1.5 if mix == "faq" else 1.2),
        }
        for mix in ("box", "prefix", "faq", "long")
    }
    latency["faq"]["ours"] = {"median": {"p50": 2.9, "p95": 4.0, "p99": 4.6, "cpu_p99": 4.0}}
    in_process = report.InProcess(
        records=3,
        passages=5,
        load_chunk_seconds=0.1,
        peers=["bm25s", "tantivy", "bm25s+encoder"],
        peer_builds={"bm25s": [1.0], "tantivy": [0.5]},
        peer_sizes={"bm25s": None, "tantivy": 2**20, "bm25s+encoder": None},
        open_seconds=0.2,
        mix_sizes={"box": 1, "prefix": 1, "faq": 1, "long": 1},
        latency=latency,
        mrr_at_10={"ours": 0.771, "bm25s": 0.6, "tantivy": 0.4, "bm25s+encoder": 0.6},
        engine_config={},
        profile="",
        neighbour={
            "ours": {"quiet_p50": 2.9, "busy_p50": 4.4, "ratio": 4.4 / 2.9},
            "bm25s+encoder": {"quiet_p50": 1.5, "busy_p50": 6.0, "ratio": 4.0},
        },
    )
    results = report.Results(
        started_at="2026-01-01T00:00:00",
        machine={},
        args=argparse.Namespace(),
        build=_build(60.0, 5, 55.5),
        rebuild=_build(5.0, 2, 0.5),
        in_process=in_process,
        http=None,
        notes=[],
    )
    table = report.make_table(results)
    rows = {(r["area"], r["figure"]): r for r in table.rows}
    assert rows[("latency box", "p50 ms")]["ratio"] == "2.0× bm25s, 4.0× tantivy, 1.7× bm25s+encoder"
    assert rows[("build", "seconds without embedding")]["ours"] == "4.5"
    assert rows[("build", "of which embedding: seconds, texts/s")]["ours"] == "55.5, 0/s"
    assert rows[("rebuild", "passages/s; passages embedded")]["ours"] == "1/s; 2"
    assert "bm25s+encoder" not in rows[("build", "seconds (ours: service build, cold)")]  # no index of its own
    assert rows[("busy neighbour", "faq p50 ms, ours: quiet → beside a busy process")]["ratio"] == "1.52× quiet"
    assert rows[("latency long", "p50 over ours faq p50")]["ratio"] == "0.7× ours faq"
    assert dict(table.verdicts) == {
        "build without embedding ≤ 10× tantivy": True,
        "embedding ≥ 86 texts/s": False,
        "prefix p50 ≤ 3× bm25s": True,
        "faq p50 ≤ 1.3× bm25s+encoder": False,
        "faq p99 ≤ 2× bm25s+encoder": False,
        "long p50 ≤ 2× ours faq p50": True,
        "faq p50 beside a busy process ≤ 2× quiet": True,
        "faq MRR@10 ≥ 0.77": True,
    }
    header = table.render().splitlines()[0]
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "area",
        "figure",
        "ours",
        "bm25s",
        "tantivy",
        "bm25s+encoder",
        "ratio",
        "target",
        "ok",
    ]  # no HTTP: no /healthz


def test_embedding_figures_read_the_builds_own_progress_line():
    out = io.StringIO()
    now = [0.0]
    with Progress(8, "embedding passages", "passage", out, clock=lambda: now[0]) as progress:
        for _ in range(8):
            now[0] += 0.5
            progress.update(1)
    assert embedding_figures("built v1: 3 articles\n" + out.getvalue()) == (8, pytest.approx(4.0))
    assert embedding_figures("built v1: 3 articles, 5 passages in 0.40 s -> index") == (0, 0.0)


def test_one_article_changed_keeps_the_other_records_and_the_words(tmp_path: Path):
    records = [
        {"id": "a_1", "title": "A", "text": "First line.\nSecond line."},
        {"id": "b_1", "title": "B", "text": "Other."},
    ]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    changed = write_with_one_article_changed(corpus, tmp_path / "changed.jsonl")
    lines = (tmp_path / "changed.jsonl").read_text().splitlines()
    assert changed == ChangedArticle("a_1", 2)
    assert json.loads(lines[0])["text"] == f"First line.{EDIT_MARK}\nSecond line.{EDIT_MARK}"
    assert lines[1] == corpus.read_text().splitlines()[1]


def test_quick_slice_keeps_the_faq_answers(tmp_path: Path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": f"r{i}", "title": "T", "text": "x"}) + "\n" for i in range(QUICK_RECORDS + 50))
    )
    faq = [Query("q", relevant=frozenset({"r7", f"r{QUICK_RECORDS + 40}"}))]
    kept = write_slice(corpus, faq, tmp_path / "slice.jsonl", seed=13)
    ids = [json.loads(line)["id"] for line in (tmp_path / "slice.jsonl").read_text().splitlines()]
    assert kept == len(ids) == QUICK_RECORDS + 2
    assert {"r7", f"r{QUICK_RECORDS + 40}"} <= set(ids) and ids == sorted(ids, key=lambda i: int(i[1:]))


def test_the_urgent_cost_pairs_each_question_with_and_without_the_check(bundled_index):
    without = dataclasses.replace(bundled_index, urgent=UrgentDetector([]))
    queries = [Query("crushing pain in my chest"), Query("blood in semen"), Query("my face is drooping")]
    with_check, without_check = urgent_cost.paired_ms(bundled_index, without, queries, seed=1)
    assert len(with_check) == len(without_check) == 3 and min(with_check + without_check) > 0
