"""Write Whoosh index segments from analysed token ids, posting lists a block at a time.

Whoosh's ``add_document`` spends ~30 µs of Python per posting (analysis, a sorting pool, a
length lookup on disk and a call chain per posting), which made it 90% of a MedQuAD build. The
analysis is already done once in termcounts.py, so this module hands Whoosh's own codec the
finished posting lists instead: stored fields and lengths still go through the codec's
per-document writer, and each term's postings are filled into the codec's posting writer 128 at
a time (its block size), which then encodes and writes each block exactly as it would have.
The result is a normal Whoosh index, posting for posting the same as ``add_document`` writes for
``schema.passage_document`` — ``tests/test_segment.py`` builds both and compares them.

This reaches into ``W3PostingsWriter``'s block buffer, so it is tied to the pinned
whoosh-reloaded release (see pyproject.toml); ``check_codec`` refuses any other codec.
"""

from __future__ import annotations

import shutil
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from whoosh import formats
from whoosh import index as whoosh_index
from whoosh.codec.base import Segment
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import FieldType, Schema
from whoosh.index import TOC, clean_files
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte

from service.build.chunking import chunk_articles
from service.build.termcounts import TermCounts, TokenRows, count_terms
from service.index import schema as S
from service.index.models import Article, Passage

BLOCK = 128  # postings per block: W3Codec's default, which check_codec insists on
# A term's postings: (term bytes, docnums, weights, encoded frequencies, quantised field lengths)
Postings = tuple[bytes, list[int], list[float], list[bytes], list[int]]


def create_index(folder: Path, schema: Schema) -> None:
    """An empty Whoosh index (schema, no segments) for ``write_segment`` to add to."""
    whoosh_index.create_in(str(folder), schema).close()


@dataclass(frozen=True)
class WrittenSegment:
    segment: Segment
    passages: int


def write_segment(folder: Path, articles: Sequence[Article]) -> WrittenSegment:
    """Chunk and analyse ``articles`` and write their passages as one segment of the index in ``folder``.

    The segment is not visible until ``commit_segments`` lists it, so several of these can run at
    once (one process each) on consecutive parts of the corpus.
    """
    passages = chunk_articles(articles)
    counts = count_terms(passages)
    ix = whoosh_index.open_dir(str(folder))
    schema, storage = ix.schema, ix.storage
    codec = W3Codec()
    check_codec(codec)
    segment = codec.new_segment(storage, ix.indexname)
    lengths = {name: rows.lengths for name, rows in _token_rows(counts).items()}
    _write_documents(codec, storage, segment, schema, passages, counts.dupkeys, lengths)
    fieldwriter = codec.field_writer(storage, segment)
    for name in sorted(n for n in schema.names() if schema[n].indexed):  # Whoosh's term order
        fieldwriter.start_field(name, schema[name])
        for btext, docnums, weights, values, doc_lengths in _field_postings(schema[name], name, passages, counts):
            fieldwriter.start_term(btext)
            _fill_postings(fieldwriter._postwriter, docnums, weights, values, doc_lengths)
            fieldwriter.finish_term()
        fieldwriter.finish_field()
    fieldwriter.close()
    segment.set_doc_count(len(passages))
    segment.create_compound_file(storage)
    segment.compound = True
    ix.close()
    return WrittenSegment(segment, len(passages))


def commit_segments(folder: Path, segments: Sequence[Segment]) -> None:
    """Publish the segments as the index's next generation, in the given (document) order."""
    ix = whoosh_index.open_dir(str(folder))
    generation = ix.latest_generation() + 1
    TOC(ix.schema, list(segments), generation).write(ix.storage, ix.indexname)
    clean_files(ix.storage, ix.indexname, generation, segments)
    ix.close()
    # The per-document writers' scratch folder (Whoosh leaves it behind, empty).
    shutil.rmtree(Path(folder) / f"{ix.indexname}.tmp", ignore_errors=True)


def check_codec(codec: W3Codec) -> None:
    if type(codec) is not W3Codec or codec._blocklimit != BLOCK or codec._inlinelimit != 1:
        raise RuntimeError("segment.py writes Whoosh's W3 codec (block 128, inline limit 1) only")


def _token_rows(counts: TermCounts) -> dict[str, TokenRows]:
    return {**counts.fields, S.WORDS: counts.word_rows}


def _field_postings(
    fieldobj: FieldType, name: str, passages: Sequence[Passage], counts: TermCounts
) -> Iterator[Postings]:
    token_rows = _token_rows(counts).get(name)
    if token_rows is not None:
        vocabulary = counts.words if name == S.WORDS else counts.terms
        return _counted_postings(fieldobj, vocabulary, token_rows, token_rows.lengths)
    return _analysed_postings(fieldobj, [cast(str, S.stored_values(p, "")[name]) for p in passages])


def _write_documents(
    codec: W3Codec,
    storage,
    segment,
    schema: Schema,
    passages: Sequence[Passage],
    dupkeys: Sequence[str],
    lengths: dict[str, np.ndarray],
) -> None:
    """Stored fields and per-field lengths, in the order and form ``add_document`` gives them."""
    writer = codec.per_document_writer(storage, segment)
    names = sorted(schema.names())
    per_field = {name: lengths[name].tolist() if name in lengths else None for name in names}
    for docnum, passage in enumerate(passages):
        stored = S.stored_values(passage, dupkeys[docnum])
        writer.start_doc(docnum)
        for name in names:
            field = schema[name]
            field_lengths = per_field[name]
            length = field_lengths[docnum] if field_lengths is not None and field.scorable else 0
            writer.add_field(name, field, stored.get(name) if field.stored else None, length)
        writer.finish_doc()
    writer.close()


def _counted_postings(
    fieldobj: FieldType, vocabulary: Sequence[str], rows: TokenRows, doc_lengths: np.ndarray
) -> Iterator[Postings]:
    """Each term's (docnums, weights, encoded values, field lengths), terms in byte order.

    A posting is a run of one term's tokens in one passage; its value is the frequency, or for
    a positional field the positions (a token's place in its passage's row), encoded as Whoosh's
    own format encodes them.
    """
    fmt = fieldobj.format
    if type(fmt) not in (formats.Frequency, formats.Positions):
        raise TypeError(f"counted fields must use Whoosh's Frequency or Positions format, not {type(fmt).__name__}")
    positions = np.arange(len(rows.ids)) - np.repeat(rows.indptr[:-1], rows.lengths)
    order = np.lexsort((positions, rows.rows, rows.ids))  # by term, then passage, then position
    terms, docs, positions = rows.ids[order], rows.rows[order], positions[order]
    first = np.ones(len(terms), dtype=bool)
    first[1:] = (terms[1:] != terms[:-1]) | (docs[1:] != docs[:-1])
    starts = np.flatnonzero(first)
    freqs = np.diff(np.append(starts, len(terms)))
    if type(fmt) is formats.Positions:
        values = _position_values(fmt, positions.tolist(), starts.tolist(), freqs.tolist())
    else:
        encoded = [pack_uint(f) for f in range(int(freqs.max(initial=0)) + 1)]
        values = list(map(encoded.__getitem__, freqs.tolist()))
    docnums = docs[starts].tolist()
    weights = (freqs * fmt.field_boost).tolist()
    quantised = _quantised(doc_lengths)[docs[starts]].tolist()
    bounds = np.searchsorted(terms[starts], np.arange(len(vocabulary) + 1)).tolist()
    btexts = [fieldobj.to_bytes(t) for t in vocabulary]
    for col in sorted((c for c in range(len(vocabulary)) if bounds[c + 1] > bounds[c]), key=btexts.__getitem__):
        a, b = bounds[col], bounds[col + 1]
        yield btexts[col], docnums[a:b], weights[a:b], values[a:b], quantised[a:b]


def _position_values(fmt: formats.Positions, positions: list[int], starts: list[int], freqs: list[int]) -> list[bytes]:
    """``fmt.encode`` of each posting's positions; most postings hold one, encoded once each."""
    single = [fmt.encode([at]) for at in range(max(positions, default=-1) + 1)]
    return [
        single[positions[start]] if freq == 1 else fmt.encode(positions[start : start + freq])
        for start, freq in zip(starts, freqs)
    ]


def _analysed_postings(fieldobj: FieldType, values: Sequence[str]) -> Iterator[Postings]:
    """Postings of a small field (ids, slugs) through the field's own ``index``: no lengths."""
    postings: dict[bytes, tuple[list[int], list[float], list[bytes]]] = {}
    for docnum, value in enumerate(values):
        for btext, _freq, weight, vbytes in fieldobj.index(value):
            docs, weights, encoded = postings.setdefault(btext, ([], [], []))
            docs.append(docnum)
            weights.append(weight)
            encoded.append(vbytes)
    for btext in sorted(postings):
        docs, weights, encoded = postings[btext]
        yield btext, docs, weights, encoded, [0] * len(docs)


def _quantised(lengths: np.ndarray) -> np.ndarray:
    """Field lengths as Whoosh reads them back: rounded through its one-byte encoding."""
    table = {n: byte_to_length(length_to_byte(n)) for n in set(lengths.tolist())}
    return np.array([table[n] for n in lengths.tolist()], dtype=np.int64)


def _fill_postings(
    postwriter, docnums: list[int], weights: list[float], values: list[bytes], lengths: list[int]
) -> None:
    """What ``add_posting`` does per posting, done per block: same buffers, same statistics."""
    for start in range(0, len(docnums), BLOCK):
        if start:
            postwriter._write_block()
        end = start + BLOCK
        block_weights = weights[start:end]
        block_lengths = [n for n in lengths[start:end] if n]
        postwriter._ids = array("I", docnums[start:end])
        postwriter._weights = array("f", block_weights)
        postwriter._values = [v for v in values[start:end] if v]
        postwriter._maxweight = max(0, max(block_weights))
        postwriter._minlength = min(block_lengths) if block_lengths else None
        postwriter._maxlength = max(block_lengths) if block_lengths else 0
