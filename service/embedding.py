"""The sentence encoder: text → unit-length vector, with all-MiniLM-L6-v2 on ONNX Runtime.

Why onnxruntime + tokenizers directly and not fastembed (0.9.1 was measured, see the report of
issue 11): both run offline from a local folder and neither needs torch, but
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
~3× faster per question and no worse in the issue-11 measurements). The shipped default lives in
``service/data/all-MiniLM-L6-v2-int8`` (see its README for source, licence and checksums).

One passage per model run by default (``BATCH_SIZE``): the int8 file is *dynamically* quantised,
so each layer's activation scale is computed over the whole input tensor, and in a batch of 32 a
passage's vector depends on its batch mates (cosine to its own one-text vector down to 0.979 on 200
MedQuAD passages). A vector that is a function of its text alone is what makes the vector cache
sound — a rebuild that embeds three changed passages must give them the vectors a cold build would
— and one-text runs cost no throughput measurable here (scripts/embed_bench.py prints both). For
an fp32 model batching is exact (padding is masked out of the mean), so ``batch_size`` stays a
parameter; batches are then formed from texts sorted by length to keep the padding small.

Lengths: passages are cut at 128 tokens, the length the model was trained with (and the better
retrieval in issue 11's measurements). Questions are cut at 256 tokens, sentence-transformers'
default for this model: a consumer message often names its subject late, the API admits 2,000
characters, and one 256-token question still costs a few milliseconds with one thread (see
scripts/embed_bench.py); typical questions are far shorter and pay nothing for the higher cap.
"""
from __future__ import annotations

import hashlib
import threading
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from .progress import Progress

MODEL_FILES = ("model_qint8.onnx", "model.onnx")  # first present wins: int8 before fp32
TOKENIZER_FILE = "tokenizer.json"
PASSAGE_MAX_TOKENS = 128
QUESTION_MAX_TOKENS = 256
BATCH_SIZE = 1  # see the module docstring: int8 vectors must not depend on batch mates
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
    """One loaded model; thread-safe. ``embed_query`` serves requests on a one-thread session;
    ``embed_passages`` runs on a session with as many threads as the build asks for."""

    def __init__(self, model_dir: Path | str, onnx_file: str | None = None,
                 passage_max_tokens: int = PASSAGE_MAX_TOKENS,
                 question_max_tokens: int = QUESTION_MAX_TOKENS) -> None:
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
        self._sessions: dict[int, onnxruntime.InferenceSession] = {}
        self._sessions_lock = threading.Lock()
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

    @property
    def passage_key(self) -> str:
        """What passage vectors depend on (model and cut length): the vector cache's key."""
        return f"{self.content_hash}-{self.passage_max_tokens}"

    def embed_query(self, text: str) -> np.ndarray:
        """One question → float32 vector of ``dimensions``, unit length; one thread."""
        encoding = self._question_tokenizer.encode(text)
        return self._run(self._session(1), [encoding])[0]

    def embed_passages(self, texts: Sequence[str], threads: int = 1,
                       progress: Progress | None = None, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Passages → float32 array (len(texts), dimensions), rows unit length, in input order.

        Batches of ``batch_size`` texts of similar length (sorted longest first, so the padding
        is small and the slowest batch comes first); ``progress.update`` after each batch.
        """
        vectors = np.empty((len(texts), self.dimensions), dtype=np.float32)
        encodings = [self._passage_tokenizer.encode(text) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        session = self._session(threads)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            vectors[rows] = self._run(session, [encodings[i] for i in rows])
            if progress is not None:
                progress.update(len(rows))
        return vectors

    def _session(self, threads: int) -> onnxruntime.InferenceSession:
        threads = max(1, int(threads))
        with self._sessions_lock:
            if threads not in self._sessions:
                self._sessions[threads] = _open_session(self.onnx_path, threads)
            return self._sessions[threads]

    def _run(self, session: onnxruntime.InferenceSession, encodings: list) -> np.ndarray:
        longest = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(encodings), longest), dtype=np.int64)
        mask = np.zeros((len(encodings), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, :len(encoding.ids)] = encoding.ids
            mask[row, :len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        wanted = {node.name for node in session.get_inputs()}
        hidden = session.run(None, {name: feeds[name] for name in wanted})[0]
        return _mean_pool_normalised(hidden, mask)

    def _probe(self) -> int:
        """Run the model once at load: a truncated or foreign file fails here, not mid-build."""
        try:
            session = self._session(1)
            missing = {"input_ids", "attention_mask"} - {node.name for node in session.get_inputs()}
            if missing:
                raise ModelUnavailable(f"{self.onnx_path} has no input {', '.join(sorted(missing))}")
            vector = self._run(session, [self._question_tokenizer.encode("probe")])[0]
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
    tokenizer.no_padding()  # batches are padded in _run, to their own longest text
    return tokenizer


def _open_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: no graph-optimisation chatter in server logs
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options,
                                            providers=["CPUExecutionProvider"])
    except Exception as error:
        raise ModelUnavailable(f"cannot load {path}: {error}") from error


def _mean_pool_normalised(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' pooling: masked mean, then L2 normalisation (same epsilons)."""
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    means = summed / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    return (means / np.clip(norms, 1e-12, None)).astype(np.float32)
