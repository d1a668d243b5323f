"""The sentence encoder: text → unit-length vector, with all-MiniLM-L6-v2 on ONNX Runtime.

Why onnxruntime + tokenizers directly and not fastembed (0.9.1 was measured): both run offline
from a local folder and neither needs torch, but
- fastembed takes its truncation length from tokenizer_config.json (512 for this model: neither the
  128 tokens the model was trained on nor sentence-transformers' 256); changing it, or using one
  length for passages and another for questions, means reaching into its private tokenizer or
  loading the model twice;
- it registers a local model in a process-wide table (``add_custom_model`` refuses a second
  registration of a name), and wants tokenizer_config.json, special_tokens_map.json and
  config.json beside the model;
- it adds ~27 MB of packages we would never call (huggingface-hub downloads, loguru, pillow, mmh3,
  py-rust-stemmers) and no progress reporting;
- what we need from it is thirty lines: tokenise, run the session, mean-pool, normalise.

The vectors are sentence-transformers' own: mean of ``last_hidden_state`` over the positions whose
attention mask is 1, then L2-normalised. A model folder holds ``tokenizer.json`` and
``model_qint8.onnx`` and/or ``model.onnx``; when both are there the int8 one is used (4× smaller,
~3× faster per question and no worse in our MedQuAD measurements). The shipped default lives in
``service/data/all-MiniLM-L6-v2-int8`` (see its README for source, licence and checksums).

One passage per model run, ``threads`` runs at a time — not batches of 32 on a multi-threaded
session, for two measured reasons. The int8 file is *dynamically* quantised: each layer's
activation scale is computed over the whole input tensor, so in a batch a passage's vector depends
on its batch mates (cosine to its own one-passage vector down to 0.979 on 200 MedQuAD passages);
a vector that is a function of its text alone is what makes the vector cache sound (a rebuild
that embeds three edited passages gives them the vectors a cold build would). And it is faster on
2 shared cores: independent one-thread runs do not wait on each other, intra-op threads do
(interleaved on 1,200 MedQuAD passages, 2 threads: 20.0/s against 11.4/s; scripts/embed_bench.py
prints both on every run).

Lengths: passages are cut at 128 tokens, the length the model was trained with (and the better
retrieval on MedQuAD). Questions are cut at 256 tokens, sentence-transformers'
default for this model: a consumer message often states its actual question after a paragraph of
context, and the API admits 2,000 characters (~450 tokens). The cap bounds the cost of the longest
question at about 2.4× that of the same question cut at 128 (scripts/embed_bench.py); typical
questions (MedQuAD dev: median 14 tokens, at most 38) are far shorter than either cap and pay nothing for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime
from tokenizers import Encoding, Tokenizer


class Progress(Protocol):
    """What ``embed_many`` reports to (the build's progress line); the serving side passes none."""

    def update(self, done: int) -> None: ...


MODEL_FILES = ("model_qint8.onnx", "model.onnx")  # first present wins: int8 before fp32
TOKENIZER_FILE = "tokenizer.json"
PASSAGE_MAX_TOKENS = 128
QUESTION_MAX_TOKENS = 256
HASH_HEX_DIGITS = 16
DEFAULT_MODEL = "all-MiniLM-L6-v2-int8"


class ModelUnavailable(Exception):
    """The model folder is missing, incomplete or unreadable; search falls back to lexical."""


def default_model_dir() -> Path:
    """The int8 model shipped inside the package (works offline, in a wheel as in a checkout)."""
    return Path(str(resources.files("service") / "data" / DEFAULT_MODEL))


def find_model_file(model_dir: Path) -> Path:
    """The ONNX file an Encoder would load from ``model_dir``: int8 when present, else fp32."""
    for name in MODEL_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    raise ModelUnavailable(f"no {' or '.join(MODEL_FILES)} in model folder {model_dir}")


class Encoder:
    """One loaded model on one single-threaded onnxruntime session; thread-safe (the server's
    request threads call ``embed_query`` concurrently; ``embed_passages`` adds worker threads).

    Raises ModelUnavailable when the folder is missing, lacks a file, or the model does not load
    and run (it is run once at load). ``onnx_file`` names the file to use instead of the int8-first
    choice (the fp32 comparison in tests and scripts/embed_bench.py).
    """

    def __init__(
        self,
        model_dir: Path | str,
        onnx_file: str | None = None,
        passage_max_tokens: int = PASSAGE_MAX_TOKENS,
        question_max_tokens: int = QUESTION_MAX_TOKENS,
    ) -> None:
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise ModelUnavailable(f"model folder {self.model_dir} does not exist")
        self.onnx_path = self.model_dir / onnx_file if onnx_file else find_model_file(self.model_dir)
        if not self.onnx_path.is_file():
            raise ModelUnavailable(f"no {self.onnx_path.name} in model folder {self.model_dir}")
        self.passage_max_tokens = passage_max_tokens
        self.question_max_tokens = question_max_tokens
        self._passage_tokenizer = _load_tokenizer(self.model_dir / TOKENIZER_FILE, passage_max_tokens)
        self._question_tokenizer = _load_tokenizer(self.model_dir / TOKENIZER_FILE, question_max_tokens)
        self._session = open_session(self.onnx_path)
        self.dimensions = self._probe()

    @property
    def model_id(self) -> str:
        """Human-readable name for the manifest: the folder's name and the file used."""
        return f"{self.model_dir.name}/{self.onnx_path.name}"

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the ONNX file then tokenizer.json, short hex: equal hashes, equal vectors."""
        digest = hashlib.sha256()
        for path in (self.onnx_path, self.model_dir / TOKENIZER_FILE):
            with path.open("rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()[:HASH_HEX_DIGITS]

    @cached_property
    def dictionary(self) -> frozenset[str]:
        """The tokenizer's whole words (alphabetic, 3+ letters): ~21,000 ordinary English words,
        which the speller leaves alone when the corpus does not use them."""
        vocabulary = self._question_tokenizer.get_vocab()
        return frozenset(w for w in vocabulary if w.isalpha() and w.isascii() and len(w) >= 3)

    @property
    def passage_key(self) -> str:
        """What passage vectors depend on (model and cut length): the vector cache's key."""
        return f"{self.content_hash}-{self.passage_max_tokens}"

    def embed_query(self, text: str) -> np.ndarray:
        """One question → float32 vector of ``dimensions``, unit length; one thread."""
        encoding = self._question_tokenizer.encode(text)
        return _embed_batch(self._session, [encoding])[0]

    def embed_questions(self, texts: Sequence[str]) -> np.ndarray:
        """Several short texts (a message's clauses) in one model run: (len(texts), dimensions).

        Batched, so each vector depends slightly on its batch mates (see above): fine for reading
        a question, never used for passages or anything cached.
        """
        if not texts:
            return np.empty((0, self.dimensions), dtype=np.float32)
        return _embed_batch(self._session, [self._question_tokenizer.encode(t) for t in texts])

    def embed_passages(self, texts: Sequence[str], threads: int = 1, progress: Progress | None = None) -> np.ndarray:
        """Passages → float32 array (len(texts), dimensions), rows unit length, in input order.

        One passage per model run, ``threads`` runs at a time (worker threads sharing the
        one-thread session; onnxruntime releases the GIL while it runs), longest passages first so
        the threads finish together; ``progress.update(1)`` per passage. The worker threads have
        ended when this returns: the build forks only from a single-threaded process.
        """
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        encodings = [self._passage_tokenizer.encode(text) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        workers = ThreadPoolExecutor(max_workers=max(1, threads)) if threads > 1 else None
        try:
            ordered = (encodings[row] for row in order)
            results = workers.map(self._embed_one, ordered) if workers else map(self._embed_one, ordered)
            for row, vector in zip(order, results):
                vectors[row] = vector
                if progress is not None:
                    progress.update(1)
        finally:
            if workers:
                workers.shutdown(wait=True, cancel_futures=True)
        return vectors

    def _embed_one(self, encoding: Encoding) -> np.ndarray:
        return _embed_batch(self._session, [encoding])[0]

    def _probe(self) -> int:
        """Run the model once at load: a truncated or foreign file fails here, not mid-build."""
        try:
            inputs = {node.name for node in self._session.get_inputs()}
            missing = {"input_ids", "attention_mask"} - inputs
            if missing:
                raise ModelUnavailable(f"{self.onnx_path} has no input {', '.join(sorted(missing))}")
            vector = _embed_batch(self._session, [self._question_tokenizer.encode("probe")])[0]
        except ModelUnavailable:
            raise
        except Exception as error:  # onnxruntime raises its own types for bad graphs and shapes
            raise ModelUnavailable(f"cannot run {self.onnx_path}: {error}") from error
        if vector.ndim != 1 or not np.isfinite(vector).all():
            raise ModelUnavailable(f"{self.onnx_path} does not produce sentence vectors")
        return int(vector.shape[0])


def _load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    if not path.is_file():
        raise ModelUnavailable(f"no {path.name} in model folder {path.parent}")
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception for unreadable JSON
        raise ModelUnavailable(f"cannot read {path}: {error}") from error
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.no_padding()  # _embed_batch pads a batch to its own longest text
    return tokenizer


def open_session(path: Path, threads: int = 1) -> onnxruntime.InferenceSession:
    """An ONNX Runtime CPU session on ``threads`` threads (one for serving: see threads.py);
    ModelUnavailable when the file does not load."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: no graph-optimisation chatter in server logs
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:
        raise ModelUnavailable(f"cannot load {path}: {error}") from error


def _embed_batch(session: onnxruntime.InferenceSession, encodings: Sequence[Encoding]) -> np.ndarray:
    """Encodings → unit vectors, one model run; a batch is padded to its longest encoding."""
    longest = max(len(encoding.ids) for encoding in encodings)
    ids = np.zeros((len(encodings), longest), dtype=np.int64)
    mask = np.zeros((len(encodings), longest), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        ids[row, : len(encoding.ids)] = encoding.ids
        mask[row, : len(encoding.ids)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    wanted = {node.name for node in session.get_inputs()}  # some exports take no token types
    hidden = session.run(None, {name: feeds[name] for name in wanted})[0]
    return _mean_pool_normalised(hidden, mask)


def _mean_pool_normalised(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' pooling: masked mean, then L2 normalisation (same epsilons)."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    means = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    return (means / np.clip(norms, 1e-12, None)).astype(np.float32)
