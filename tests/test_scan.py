"""The int8 pre-scan (scan.py): its bounds hold for every passage, and the search it filters ranks
exactly as a scan of every float32 vector does."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from service.build.scanfile import write_scan
from service.index import version as V
from service.index.scan import SCAN_MODEL, PassageScan
from service.index.semantic import SemanticIndex
from service.query.search import Meaning, SearchRequest, _fused, search
from service.query.store import open_current
from tests.conftest import DATA

DIMENSIONS = 384


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _clustered_vectors(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Passages in topics, like a real corpus: many cosines near each other and near the floor."""
    topics = rng.normal(size=(12, DIMENSIONS))
    vectors = topics[rng.integers(0, len(topics), rows)] + rng.normal(scale=1.1, size=(rows, DIMENSIONS))
    return _unit(vectors).astype(np.float16).astype(np.float32)  # the cache's precision, as built


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, encoder):
    """4,000 passages with their scan, as a version folder holds them."""
    rng = np.random.default_rng(5)
    vectors = _clustered_vectors(rng, 4000)
    folder = tmp_path_factory.mktemp("scan")
    write_scan(folder, vectors)
    semantic = SemanticIndex(encoder=encoder, vectors=vectors, scan=PassageScan(folder, len(vectors), DIMENSIONS))
    return semantic, rng


def test_every_cosine_lies_within_its_bounds(synthetic):
    semantic, rng = synthetic
    widths = []
    for _ in range(50):
        question = _unit(
            semantic.vectors[rng.integers(len(semantic.vectors))][None] + rng.normal(scale=0.003, size=(1, DIMENSIONS))
        )[0]
        exact = semantic.vectors @ question
        bounds = semantic.scan.bounds(question)
        assert np.all(bounds.lower <= exact) and np.all(exact <= bounds.upper)
        widths.append(float(np.median(bounds.upper - bounds.lower)))
    assert np.median(widths) < 0.03  # narrow enough to be worth it (the real error is ~0.003)


@pytest.mark.parametrize("needed", [10, 60, 150])
def test_the_filtered_ranking_is_the_exact_one(synthetic, needed):
    """Candidates, fused scores and the answer count, with bounds from the scan against bounds
    that are the exact cosines, for questions whose meaning pools are far wider than the page."""
    semantic, rng = synthetic
    exact_scan = dataclasses.replace(semantic, scan=None)
    allowed = rng.random(len(semantic.vectors)) > 0.05
    for _ in range(30):
        question = _unit(
            semantic.vectors[rng.integers(len(semantic.vectors))][None] + rng.normal(scale=0.003, size=(1, DIMENSIONS))
        )[0]
        lexical = np.where(rng.random(len(allowed)) < 0.1, rng.random(len(allowed)) * 10, 0.0)
        eligible = (lexical > 2) & allowed
        filtered = _fused(lexical, eligible, Meaning(semantic, question, semantic.bounds(question)), allowed, needed)
        everything = _fused(
            lexical, eligible, Meaning(exact_scan, question, exact_scan.bounds(question)), allowed, needed
        )
        assert filtered.rows.tolist() == everything.rows.tolist()
        assert np.allclose(filtered.scores, everything.scores, rtol=0, atol=1e-6)
        assert filtered.total == everything.total
        assert sorted(filtered.near_rows.tolist()) == sorted(everything.near_rows.tolist())
        assert (semantic.bounds(question).lower >= 0.3).sum() > 150  # more answers by meaning than any page


def _questions() -> list[str]:
    lines = (DATA / "lay_questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()]


def test_search_on_a_built_version_matches_the_exact_scan(bundled_index):
    assert bundled_index.semantic.scan is not None  # the build wrote it and the version opened it
    exact = dataclasses.replace(bundled_index, semantic=dataclasses.replace(bundled_index.semantic, scan=None))
    for q in _questions():
        for request in (SearchRequest(q=q), SearchRequest(q=q, limit=5, offset=5)):
            scanned, scanned_exactly = search(bundled_index, request), search(exact, request)
            assert [h.passage.id for h in scanned.hits] == [h.passage.id for h in scanned_exactly.hits]
            assert np.allclose(
                [h.score for h in scanned.hits], [h.score for h in scanned_exactly.hits], rtol=0, atol=1e-6
            )
            assert scanned.total == scanned_exactly.total


def test_vectors_are_float32_mapped_read_only_and_shared(bundled_index):
    vectors = bundled_index.semantic.vectors
    assert vectors.dtype == np.float32 and not vectors.flags.writeable
    assert isinstance(vectors.base, np.memmap) or isinstance(getattr(vectors.base, "base", None), np.memmap)


def test_a_version_built_before_the_scan_still_serves_the_same_answers(
    bundled_index_dir, bundled_index, encoder, tmp_path
):
    """float16 vectors and no scan.onnx (what the previous release wrote): converted at open,
    scanned exactly, same answers."""
    old_dir = tmp_path / "index"
    shutil.copytree(bundled_index_dir, old_dir)
    folder = V.version_path(old_dir, V.current_version(old_dir))
    (folder / SCAN_MODEL).unlink()
    np.save(folder / V.VECTORS, np.load(folder / V.VECTORS).astype(np.float16))
    old = open_current(old_dir, encoder)
    assert old.semantic.scan is None and old.semantic.vectors.dtype == np.float32
    for q in _questions()[:20]:
        ours, theirs = search(bundled_index, SearchRequest(q=q)), search(old, SearchRequest(q=q))
        assert [h.passage.id for h in ours.hits] == [h.passage.id for h in theirs.hits]
        assert ours.total == theirs.total


def test_an_article_filter_reads_only_that_articles_rows(bundled_index):
    slug, (start, end) = next(iter(bundled_index.article_rows.items()))
    title = bundled_index.articles[slug]["title"]
    question = bundled_index.semantic.embed(title)
    bounds = bundled_index.semantic.bounds(question, (start, end))
    outside = np.ones(bundled_index.passage_count, dtype=bool)
    outside[start:end] = False
    assert np.all(bounds.lower[outside] == -1.0)
    assert np.allclose(bounds.lower[start:end], bundled_index.semantic.vectors[start:end] @ question)
    hits = search(bundled_index, SearchRequest(q=title, article=slug)).hits
    assert hits and all(h.passage.article.slug == slug for h in hits)


def test_the_thread_plan_leaves_blas_one_thread():
    from threadpoolctl import threadpool_info

    from service.web.threads import apply_thread_plan

    apply_thread_plan()
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "no BLAS pool found: the check below would pass on nothing"  # numpy ships OpenBLAS
    assert all(pool["num_threads"] == 1 for pool in blas)
