"""The benchmark's own pieces: one percentile method, the load generator against a real server,
and the table's rows and targets from a run's results."""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import report
from bench.stats import percentiles
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
        done = subprocess.run([sys.executable, "-m", "bench.loadgen", "--port", str(server.port), "--paths", str(paths),
                               "--concurrency", "2", "--duration", "0.5", "--warmup", "0.1"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
    finally:
        stop_server(server)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] > 0 and result["errors"] == 0 and set(result["status"]) == {"200"}, result
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"], result


def _figures(p50: float) -> dict:
    return {"median": {"p50": p50, "p95": p50, "p99": p50, "cpu_p99": p50}}


def test_table_rows_and_targets_from_results():
    latency = {mix: {"ours": _figures(2.0), "bm25s": _figures(1.0), "tantivy": _figures(0.5)}
               for mix in ("box", "faq", "long")}
    in_process = report.InProcess(
        records=3, passages=5, load_chunk_seconds=0.1, peer_builds={"bm25s": [1.0], "tantivy": [0.5]},
        peer_sizes={"bm25s": None, "tantivy": 2**20}, open_seconds=0.2, mix_sizes={"box": 1, "faq": 1, "long": 1},
        latency=latency, mrr_at_10={"ours": 0.5, "bm25s": 0.6, "tantivy": 0.4}, engine_config={}, profile="")
    results = report.Results(started_at="2026-01-01T00:00:00", machine={}, args=argparse.Namespace(), build=None,
                             in_process=in_process, http=None, notes=[])
    table = report.make_table(results)
    assert [(r["area"], r["figure"]) for r in table.rows][:3] == [
        ("open", "index open, seconds"), ("latency box", "p50 ms"), ("latency box", "p95 ms")]
    assert table.rows[1]["ratio"] == "2.0× bm25s, 4.0× tantivy"
    assert dict(table.verdicts) == {"box p50 ≤ 3× bm25s": True, "faq p50 ≤ 5× bm25s": True,
                                    "faq p99 ≤ 10× bm25s": True, "faq MRR@10 > bm25s": False}
    header = table.render().splitlines()[0]
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "area", "figure", "ours", "bm25s", "tantivy", "ratio", "target", "ok"]  # no HTTP run: no /healthz column
