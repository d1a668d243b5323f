"""The engines timed side by side: ours, and peers that index the same passages.

Every engine answers a Query with the article slugs of its top k passages and describes its own
configuration in a sentence for the report. A peer also builds its index (returning the seconds
it took, or None when it searches another peer's index) and may say how large that index is on
disk. A new peer row in the table is a class with these four methods added to `make_peers`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Protocol

from bench.mixes import Query, words
from service.index.embedding import Encoder
from service.index.models import Passage
from service.index.schema import analyze
from service.query.search import SearchRequest, search
from service.query.store import LoadedIndex


class Engine(Protocol):
    name: str

    def slugs(self, query: Query, k: int) -> list[str]: ...

    def config(self) -> str: ...


class Peer(Engine, Protocol):
    def build(self) -> float | None: ...

    def size_bytes(self) -> int | None: ...


def make_peers(passages: Sequence[Passage], work: Path, tantivy_tokenizer: str, encoder: Encoder) -> list[Peer]:
    """The peers, in the order of their columns in the table."""
    bm25s = Bm25sPeer(passages)
    return [bm25s, TantivyPeer(passages, work / "tantivy", tantivy_tokenizer), QueryEncoderPeer(bm25s, encoder)]


def peer_text(p: Passage) -> str:
    """What ours indexes for a passage (the indexer's `words` field): title, heading unless it is
    the title, text."""
    heading = "" if p.section == p.article.title else p.section
    return " ".join((p.article.title, heading, p.text))


class Ours:
    name = "ours"

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index

    def config(self) -> str:
        semantic = "" if self.index.semantic else " [the index has no vectors for this model: lexical only]"
        return (
            "service.query.search.search(index, SearchRequest(q, limit=10, prefix=True for typed-ahead box "
            "queries)): the full default search the API calls (hybrid: the question embedded by the served "
            "model unless typed ahead; synonyms, typo handling, snippets, care advice), index opened once "
            f"with that model, no result cache{semantic}"
        )

    def slugs(self, query: Query, k: int) -> list[str]:
        results = search(self.index, SearchRequest(q=query.text, limit=k, prefix=query.prefix))
        return [h.passage.article.slug for h in results.hits]


class Bm25sPeer:
    name = "bm25s"

    def __init__(self, passages: Sequence[Passage]) -> None:
        self.passages = passages
        self.retriever = None

    def build(self) -> float:
        import bm25s

        started = time.perf_counter()
        tokens = [analyze(peer_text(p)) for p in self.passages]
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        self.retriever = retriever
        return time.perf_counter() - started

    def size_bytes(self) -> int | None:
        return None  # kept in memory

    def config(self) -> str:
        r = self.retriever
        return (
            f"bm25s {dist_version('bm25s')}: BM25(method={r.method}, k1={r.k1}, b={r.b}, backend={r.backend}), "
            f"one field = title + heading + text, pre-tokenised with service.index.schema.analyze (same stems "
            f"and stop words), retrieve(k, n_threads=0) = one thread, top-k by numpy argpartition over all "
            f"passages (slow when most scores are 0, i.e. on rare-word queries); query analysis timed; "
            f"zero-score results dropped; no prefix expansion"
        )

    def slugs(self, query: Query, k: int) -> list[str]:
        tokens = analyze(query.text)
        if not tokens:
            return []
        docs, scores = self.retriever.retrieve([tokens], k=k, show_progress=False, n_threads=0)
        return [self.passages[int(d)].article.slug for d, s in zip(docs[0], scores[0]) if s > 0]


class QueryEncoderPeer:
    """A lexical peer that first embeds the question with our encoder: the least a hybrid peer
    pays per question (its ranking is the lexical peer's; the vector is computed, not used)."""

    def __init__(self, lexical: Bm25sPeer, encoder: Encoder) -> None:
        self.name = f"{lexical.name}+encoder"
        self.lexical = lexical
        self.encoder = encoder

    def build(self) -> None:
        return None  # searches the lexical peer's index; passages are not embedded

    def size_bytes(self) -> int | None:
        return None

    def config(self) -> str:
        return (
            f"{self.lexical.name}'s index and ranking, each question (prefix ones too) first embedded "
            f"in-process by the same int8 model ours serves ({self.encoder.model_id}, Encoder.embed_query, "
            f"one onnxruntime thread); no passage vectors, no cosine, no fusion"
        )

    def slugs(self, query: Query, k: int) -> list[str]:
        self.encoder.embed_query(query.text)
        return self.lexical.slugs(query, k)


class TantivyPeer:
    name = "tantivy"

    def __init__(self, passages: Sequence[Passage], folder: Path, tokenizer: str) -> None:
        self.passages = passages
        self.folder = folder
        self.tokenizer = tokenizer
        self.index = self.searcher = None

    def build(self) -> float:
        import tantivy

        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        started = time.perf_counter()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", stored=False, tokenizer_name=self.tokenizer)
        builder.add_unsigned_field("row", stored=True, indexed=False)
        index = tantivy.Index(builder.build(), path=str(self.folder))
        if self.tokenizer == "en_stem_stop":
            index.register_tokenizer("en_stem_stop", _stemming_stop_analyzer())
        writer = index.writer(heap_size=128_000_000, num_threads=1)
        for row, p in enumerate(self.passages):
            writer.add_document(tantivy.Document(body=peer_text(p), row=row))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        self.index, self.searcher = index, index.searcher()
        return time.perf_counter() - started

    def size_bytes(self) -> int | None:
        return sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())

    def config(self) -> str:
        return (
            f"tantivy {dist_version('tantivy')}: one text field = title + heading + text, tokenizer "
            f"{self.tokenizer!r}, writer(heap 128 MB, num_threads=1), {self.searcher.num_segments} segment(s); "
            f"query = its own parser over the query's words (OR, BM25 defaults), search(limit=k) on one "
            f"searcher opened once, row id read from the stored doc; no prefix expansion"
        )

    def slugs(self, query: Query, k: int) -> list[str]:
        text = " ".join(words(query.text))
        if not text:
            return []
        try:
            parsed = self.index.parse_query(text, ["body"])
        except ValueError:
            parsed, _errors = self.index.parse_query_lenient(text, ["body"])
        hits = self.searcher.search(parsed, k).hits
        return [self.passages[self.searcher.doc(addr)["row"][0]].article.slug for _, addr in hits]


def _stemming_stop_analyzer():
    """tantivy's en_stem plus English stop words: closer to our analyzer, for a second opinion."""
    from tantivy import Filter, TextAnalyzerBuilder, Tokenizer

    return (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.remove_long(40))
        .filter(Filter.lowercase())
        .filter(Filter.stopword("english"))
        .filter(Filter.stemmer("english"))
        .build()
    )
