"""The semantic half: vectors in the version, the model check at open, hybrid answers, the floor."""

from __future__ import annotations

import logging
import subprocess

import numpy as np
import pytest

from service.index import version as V
from service.index.embedding import Encoder, default_model_dir
from service.index.semantic import load_encoder
from service.query.search import SearchRequest, search
from service.query.store import open_current, open_version
from tests.conftest import CORPUS, ROOT, build_argv
from tests.test_embedding import shared_model_dir


def _answers(index, q, **options):
    return [(h.passage.article.slug, h.passage.anchor) for h in search(index, SearchRequest(q=q, **options)).hits]


def test_a_version_records_its_model_and_holds_a_unit_vector_per_passage(bundled_index_dir, encoder):
    folder = V.version_path(bundled_index_dir, V.current_version(bundled_index_dir))
    described = V.read_manifest(folder).semantic
    assert described == {
        "model": encoder.model_id,
        "hash": encoder.content_hash,
        "dimensions": encoder.dimensions,
        "passage_tokens": 128,
    }
    vectors = np.load(folder / V.VECTORS)
    assert vectors.dtype == np.float32 and vectors.shape[1] == encoder.dimensions  # the scan's dtype
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=2e-3)
    # The values are the vector cache's float16 ones: a float32 copy of them, exactly.
    assert np.array_equal(vectors.astype(np.float16).astype(np.float32), vectors)


def test_a_version_is_never_queried_with_another_model(bundled_index_dir, caplog):
    fp32 = Encoder(shared_model_dir(), onnx_file="model.onnx")  # same model, another file: another hash
    folder = V.version_path(bundled_index_dir, V.current_version(bundled_index_dir))
    with caplog.at_level(logging.WARNING, logger="healthfaq.semantic"):
        index = open_version(folder, fp32)
    assert index.semantic is None
    assert [r.getMessage() for r in caplog.records if "lexical search only" in r.getMessage()] != []
    assert search(index, SearchRequest(q="kegel exercises")).hits  # still answers, lexically


def test_a_build_without_a_model_is_lexical_and_says_so(tmp_path):
    done = subprocess.run(
        build_argv(CORPUS, tmp_path / "index", "--model", str(tmp_path / "no-such-model")),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "lexical-only" in done.stderr and "Traceback" not in done.stderr
    index = open_current(tmp_path / "index", load_encoder(""))
    assert index.manifest.semantic is None and index.semantic is None
    assert not (V.version_path(tmp_path / "index", index.version) / V.VECTORS).exists()


@pytest.mark.parametrize(
    "q, expected",
    [
        ("I finish too quickly in bed", ("semen-leakage", "sexual-arousal")),
        ("stuff coming out of my penis", ("semen-leakage", "introduction")),
        ("lump under my jaw", ("submandibular-gland-swollen-and-painful", "summary")),
        ("white fluid comes out after toilet", ("semen-leakage", "after-urination")),
    ],
)
def test_plain_words_find_what_the_lexical_half_alone_misses(bundled_index, lexical_index, q, expected):
    assert expected in _answers(bundled_index, q, limit=3)
    assert expected not in _answers(lexical_index, q, limit=3)


@pytest.mark.parametrize(
    "q", ["car insurance quote", "chocolate cake recipe", "tax return deadline", "premier league table"]
)
def test_unrelated_questions_still_find_nothing(bundled_index, q):
    assert search(bundled_index, SearchRequest(q=q)).total == 0


def test_as_you_type_stays_lexical(bundled_index, lexical_index):
    for q in ["semen leak", "belly butt", "sialad"]:
        assert _answers(bundled_index, q, prefix=True) == _answers(lexical_index, q, prefix=True)


class CountingEncoder(Encoder):
    """The real model, counting the questions it embeds."""

    questions = 0

    def embed_query(self, text: str) -> np.ndarray:
        self.questions += 1
        return super().embed_query(text)


def test_a_half_typed_question_never_runs_the_model_and_the_whole_one_does(bundled_index_dir):
    encoder = CountingEncoder(default_model_dir())
    index = open_current(bundled_index_dir, encoder)
    encoder.questions = 0  # opening embeds the articles' warning signs; what counts is per question
    typed = "my dad's face is drooping on one side and he can't lift his ar"  # an emergency, no trigger phrase yet
    for end in range(3, len(typed) + 1):
        if typed[end - 1].isalnum():
            search(index, SearchRequest(q=typed[:end], prefix=True))
    assert encoder.questions == 0
    whole = search(index, SearchRequest(q=typed + "m"))
    assert encoder.questions >= 1 and whole.urgent is not None and whole.urgent.id == "stroke"


def test_a_model_setting_of_none_means_lexical():
    assert load_encoder("none") is None and load_encoder("OFF") is None
    assert load_encoder("") is not None


def test_a_plain_english_word_is_not_corrected_into_the_corpus_vocabulary(bundled_index, lexical_index):
    assert search(bundled_index, SearchRequest(q="white fluid comes out after toilet")).did_you_mean is None
    assert search(lexical_index, SearchRequest(q="white fluid comes out after toilet")).did_you_mean  # no dictionary
