"""The sentence encoder on the real shipped model (and the fp32 one from ../shared for comparison)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from service.build.progress import Progress
from service.index.embedding import Encoder, ModelUnavailable, default_model_dir
from tests.conftest import ROOT

SHARED_MODEL = ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2-onnx"
# Verbatim from tests/data/corpus/articles/semen-leakage.md.
PREMATURE_EJACULATION = "Premature ejaculation means that you ejaculate when you and your partner do not want it."
QUESTIONS = [
    "I finish too quickly in bed",
    "lump under my jaw",
    "white fluid comes out after toilet",
    "can't stop leaking",
    "it stings when I climax",
    "how do I get my sense of smell back",
]
SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank. "  # 14 tokens


def shared_model_dir() -> Path:
    """The development model folder; under CI=true its absence fails, elsewhere it skips."""
    if not (SHARED_MODEL / "model.onnx").is_file():
        reason = f"the fp32 development model is not at {SHARED_MODEL}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return SHARED_MODEL


@pytest.fixture(scope="module")
def fp32_encoder() -> Encoder:
    return Encoder(shared_model_dir(), onnx_file="model.onnx")


def test_shipped_files_match_the_checksums_in_their_readme():
    folder = default_model_dir()
    table = dict(
        re.findall(
            r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", (folder / "README.md").read_text(encoding="utf-8"), re.MULTILINE
        )
    )
    assert set(table) == {"model_qint8.onnx", "tokenizer.json", "LICENSE"}
    for name, expected in table.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == expected, name
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")


def test_identity_for_the_manifest(encoder):
    assert encoder.model_id == "all-MiniLM-L6-v2-int8/model_qint8.onnx"
    assert re.fullmatch(r"[0-9a-f]{16}", encoder.content_hash)
    assert Encoder(default_model_dir()).content_hash == encoder.content_hash
    assert encoder.passage_key == f"{encoder.content_hash}-128"
    assert encoder.dimensions == 384


def test_int8_is_preferred_when_both_files_are_there(tmp_path):
    assert Encoder(shared_model_dir()).onnx_path.name == "model_qint8.onnx"
    (tmp_path / "tokenizer.json").symlink_to(SHARED_MODEL / "tokenizer.json")
    (tmp_path / "model.onnx").symlink_to(SHARED_MODEL / "model.onnx")
    fp32_only = Encoder(tmp_path)
    assert fp32_only.onnx_path.name == "model.onnx"
    assert fp32_only.content_hash != Encoder(SHARED_MODEL).content_hash


def test_vectors_are_unit_length_float32(encoder):
    query = encoder.embed_query("blood in urine")
    passages = encoder.embed_passages([PREMATURE_EJACULATION, "pee", ""])
    assert query.shape == (384,) and query.dtype == np.float32
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    assert abs(np.linalg.norm(query) - 1.0) < 1e-5
    assert encoder.embed_passages([]).shape == (0, 384)


def test_int8_questions_point_where_fp32_ones_do(encoder, fp32_encoder):
    for question in QUESTIONS:
        cosine = float(encoder.embed_query(question) @ fp32_encoder.embed_query(question))
        assert cosine > 0.9, question


def test_a_paraphrase_is_nearer_than_an_unrelated_text(encoder):
    question = encoder.embed_query("I finish too quickly in bed")
    related, unrelated = encoder.embed_passages([PREMATURE_EJACULATION, "car insurance quote"])
    assert question @ related > 0.3 > question @ unrelated


def test_sorting_and_threads_do_not_change_vectors(encoder):
    """Vectors come back in input order whatever the length sort and the number of threads, equal
    to one-passage calls; the worker threads are gone afterwards (the build forks after this)."""
    texts = [SENTENCE * n for n in (1, 9, 3, 12, 2)] + QUESTIONS
    one_by_one = np.stack([encoder.embed_passages([text])[0] for text in texts])
    threads_before = threading.active_count()
    assert np.allclose(encoder.embed_passages(texts, threads=2), one_by_one, atol=1e-5)
    assert threading.active_count() == threads_before
    assert np.allclose(encoder.embed_passages(texts), one_by_one, atol=1e-5)


def test_progress_counts_every_passage(encoder):
    stream = io.StringIO()
    with Progress(3, "embedding passages", "passage", stream) as progress:
        encoder.embed_passages(["one", "two", "three"], threads=2, progress=progress)
    assert progress.done == 3
    assert stream.getvalue().splitlines()[-1].startswith("embedding passages: 3/3 passages (100%)")


def test_passages_are_cut_at_128_tokens_and_questions_at_256(encoder):
    long_text = SENTENCE * 10  # ~140 tokens: past the passage cut, within the question cut
    very_long = SENTENCE * 25  # ~350 tokens
    first, longer = encoder.embed_passages([long_text, long_text + "Car insurance quote."])
    assert np.allclose(first, longer, atol=1e-6)
    assert not np.allclose(
        encoder.embed_query(long_text), encoder.embed_query(long_text + "Car insurance quote."), atol=1e-3
    )
    assert np.allclose(
        encoder.embed_query(very_long), encoder.embed_query(very_long + "Car insurance quote."), atol=1e-6
    )


def test_a_missing_folder_is_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        Encoder(tmp_path / "nowhere")


@pytest.mark.parametrize("leave_out", ["tokenizer.json", "model_qint8.onnx"])
def test_an_incomplete_folder_is_unavailable(tmp_path, leave_out):
    for name in {"tokenizer.json", "model_qint8.onnx"} - {leave_out}:
        shutil.copy(default_model_dir() / name, tmp_path / name)
    with pytest.raises(ModelUnavailable, match="no "):
        Encoder(tmp_path)


def test_a_truncated_model_is_unavailable(tmp_path):
    shutil.copy(default_model_dir() / "tokenizer.json", tmp_path)
    (tmp_path / "model_qint8.onnx").write_bytes((default_model_dir() / "model_qint8.onnx").read_bytes()[:1_000_000])
    with pytest.raises(ModelUnavailable, match="model_qint8.onnx"):
        Encoder(tmp_path)


def test_a_corrupt_tokenizer_is_unavailable(tmp_path):
    shutil.copy(default_model_dir() / "model_qint8.onnx", tmp_path)
    (tmp_path / "tokenizer.json").write_text('{"version": "1.0", "model": ', encoding="utf-8")
    with pytest.raises(ModelUnavailable, match="tokenizer.json"):
        Encoder(tmp_path)
