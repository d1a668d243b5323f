"""The vector cache: hits and misses, atomic persistence, the size bound, and a rebuild that
embeds only what changed (real shipped model)."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from service.build import vectorcache
from service.build.vectorcache import VectorCache, cached_passage_vectors, text_key

DIMENSIONS = 4


def unit_rows(count: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, DIMENSIONS)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_text_keys_are_stable_and_distinct():
    assert text_key("pain in the belly button") == text_key("pain in the belly button")
    assert text_key("pain in the belly button") != text_key("pain in the belly button.")
    assert len(text_key("")) == 16


def test_miss_then_hit(tmp_path):
    cache = VectorCache(tmp_path, "model-a", DIMENSIONS)
    keys = [text_key(t) for t in ("one", "two", "three")]
    vectors, missing = cache.lookup(keys)
    assert missing == [0, 1, 2] and not vectors.any()
    stored = unit_rows(2)
    cache.store(keys[:2], stored)
    vectors, missing = cache.lookup(keys)
    assert missing == [2]
    assert vectors.dtype == np.float32
    assert np.allclose(vectors[:2], stored, atol=1e-3) and not vectors[2].any()


def test_saved_vectors_survive_a_new_process_view(tmp_path):
    keys = [text_key(t) for t in ("one", "two")]
    cache = VectorCache(tmp_path, "model-a", DIMENSIONS)
    cache.store(keys, unit_rows(2))
    cache.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-a.npz"]  # no temporary file left
    reopened = VectorCache(tmp_path, "model-a", DIMENSIONS)
    vectors, missing = reopened.lookup(keys)
    assert missing == [] and np.array_equal(vectors, cache.lookup(keys)[0])
    assert VectorCache(tmp_path, "model-b", DIMENSIONS).lookup(keys)[1] == [0, 1]


def test_save_keeps_only_the_latest_builds_entries_and_model(tmp_path):
    keys = [text_key(str(n)) for n in range(5)]
    old_model = VectorCache(tmp_path, "model-old", DIMENSIONS)
    old_model.store(keys, unit_rows(5))
    old_model.save()
    cache = VectorCache(tmp_path, "model-new", DIMENSIONS)
    cache.store(keys, unit_rows(5, seed=1))
    cache.save(keep=keys[1:3] + [text_key("never embedded")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-new.npz"]
    reopened = VectorCache(tmp_path, "model-new", DIMENSIONS)
    assert len(reopened) == 2
    assert reopened.lookup(keys)[1] == [0, 3, 4]


def test_an_unreadable_cache_starts_afresh(tmp_path, caplog):
    (tmp_path / "model-a.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with caplog.at_level(logging.WARNING, logger="healthfaq.vectorcache"):
        cache = VectorCache(tmp_path, "model-a", DIMENSIONS)
    assert len(cache) == 0 and "unreadable" in caplog.text
    cache.store([text_key("one")], unit_rows(1))
    cache.save()
    assert len(VectorCache(tmp_path, "model-a", DIMENSIONS)) == 1


def test_vectors_of_another_width_are_not_used(tmp_path, caplog):
    cache = VectorCache(tmp_path, "model-a", DIMENSIONS)
    cache.store([text_key("one")], unit_rows(1))
    cache.save()
    with caplog.at_level(logging.WARNING, logger="healthfaq.vectorcache"):
        assert len(VectorCache(tmp_path, "model-a", DIMENSIONS + 1)) == 0
    assert "wrong shape" in caplog.text


def test_store_refuses_mismatched_vectors(tmp_path):
    cache = VectorCache(tmp_path, "model-a", DIMENSIONS)
    with pytest.raises(ValueError):
        cache.store([text_key("one"), text_key("two")], unit_rows(1))


def test_a_rebuild_embeds_only_the_changed_passages(tmp_path, encoder):
    folder = tmp_path / "vector-cache"
    passages = [
        "Pain around the belly button can come from the gut.",
        "Drink water and rest.",
        "See a doctor when the pain is sharp.",
        "Pain around the belly button can come from the gut.",
    ]
    log = io.StringIO()
    cold = cached_passage_vectors(
        encoder, VectorCache(folder, encoder.passage_key, encoder.dimensions), passages, progress=log
    )
    assert log.getvalue().splitlines()[-1].startswith("embedding passages: 3/3 passages (100%)")  # repeat once
    assert np.allclose(np.linalg.norm(cold, axis=1), 1.0, atol=2e-3)
    assert np.allclose(cold, encoder.embed_passages(passages), atol=2e-3)

    edited = [passages[0], "Drink plenty of water and rest.", passages[2], passages[3]]
    log = io.StringIO()
    cache = VectorCache(folder, encoder.passage_key, encoder.dimensions)
    warm = cached_passage_vectors(encoder, cache, edited, progress=log)
    assert log.getvalue().splitlines()[-1].startswith("embedding passages: 1/1 passages (100%)")
    assert np.array_equal(warm[[0, 2, 3]], cold[[0, 2, 3]])
    assert float(warm[1] @ cold[1]) < 0.999
    assert np.allclose(warm[1], encoder.embed_passages([edited[1]])[0], atol=2e-3)
    assert len(cache) == 3  # the old text of the edited passage was dropped

    log = io.StringIO()
    again = cached_passage_vectors(
        encoder, VectorCache(folder, encoder.passage_key, encoder.dimensions), edited, progress=log
    )
    assert log.getvalue() == "" and np.array_equal(again, warm)


class BrokenPipe(io.StringIO):
    """A stderr whose reader went away after a few lines, as when a piped build is interrupted."""

    def __init__(self, lines_before_failing: int) -> None:
        super().__init__()
        self.lines_left = lines_before_failing

    def write(self, text: str) -> int:
        if self.lines_left == 0:
            raise BrokenPipeError("reader gone")
        self.lines_left -= 1
        return super().write(text)


def test_a_failed_cold_build_keeps_its_checkpoint(tmp_path, encoder, monkeypatch):
    """With checkpoints every 2 passages, a build that dies on its third passage keeps two."""
    monkeypatch.setattr(vectorcache, "CHECKPOINT_PASSAGES", 2)
    passages = [f"Passage number {n} about sleep and tiredness." for n in range(5)]
    cache = VectorCache(tmp_path, encoder.passage_key, encoder.dimensions)
    with pytest.raises(BrokenPipeError):
        cached_passage_vectors(encoder, cache, passages, progress=BrokenPipe(lines_before_failing=2))
    resumed = VectorCache(tmp_path, encoder.passage_key, encoder.dimensions)
    assert len(resumed) == 2
    log = io.StringIO()
    cached_passage_vectors(encoder, resumed, passages, progress=log)
    assert log.getvalue().splitlines()[-1].startswith("embedding passages: 3/3 passages (100%)")
