"""Read a Whoosh index's posting lists back whole, as arrays: the ranking is derived from these.

Whoosh's matchers step through postings one Python call at a time (microseconds each), which is
right for a query and far too slow for reading every posting of a corpus. This reader walks a
segment's term table once and decodes each posting block with two C calls (zlib, pickle): the
same bytes Whoosh's own ``W3LeafMatcher`` reads, without the per-posting calls.

Like segment.py it knows the W3 codec's block layout, so it is tied to the pinned
whoosh-reloaded release; ``tests/test_postings.py`` checks it against Whoosh's own matchers.
"""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate, islice, repeat

import numpy as np
from whoosh import formats
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.reading import IndexReader, SegmentReader

_TERMINFO = W3TermInfo._struct
_POINTER = struct.Struct("!qi")  # offset of a term's postings in the postings file, and their length
_FIELD_NUMBER = struct.Struct("!H")  # a term key starts with its field's number
_BLOCK_LENGTH = struct.Struct("!i")  # a block's length; negative for a term's last block
_MAGIC_SIZE = 4  # every posting list starts with the W3 header tag
_COUNT_SIZE = 4  # a Positions value starts with the number of positions


@dataclass(frozen=True)
class FieldPostings:
    """Every posting of one field: posting ``i`` says ``terms[term_ids[i]]`` occurs ``freqs[i]``
    times in document ``docnums[i]``; in a positional field, at the next ``freqs[i]`` entries of
    ``positions``."""

    terms: list[str]
    term_ids: np.ndarray
    docnums: np.ndarray
    freqs: np.ndarray
    positions: np.ndarray | None


def read_fields(reader: IndexReader, fields: Iterable[str]) -> dict[str, FieldPostings]:
    """All postings of the named Frequency or Positions fields, over every segment, documents
    numbered as the reader numbers them."""
    found: dict[str, _Collector] = {}
    for name in fields:
        fmt = reader.schema[name].format
        if type(fmt) not in (formats.Frequency, formats.Positions):
            raise TypeError(f"field {name!r} has {type(fmt).__name__} postings")
        found[name] = _Collector(positional=type(fmt) is formats.Positions)
    for segment_reader, docbase in reader.leaf_readers():
        _read_segment(segment_reader, docbase, found)
    return {name: collector.result() for name, collector in found.items()}


class _Collector:
    def __init__(self, positional: bool) -> None:
        self.positional = positional
        self.term_ids: dict[str, int] = {}
        self.postings = array("q")  # term id per posting
        self.docnums = array("q")
        self.values: list[bytes] = []  # a frequency field's big-endian uint32 values, a block at a time
        # A positional field's values repeat a lot (most postings hold one small position): each
        # distinct value is decoded once, postings keep its number.
        self.value_codes: dict[bytes, int] = {}
        self.codes = array("q")

    def add(self, term: str, docnums: Iterable[int], values) -> None:
        term_id = self.term_ids.setdefault(term, len(self.term_ids))
        before = len(self.docnums)
        self.docnums.extend(docnums)
        self.postings.extend(repeat(term_id, len(self.docnums) - before))
        if self.positional:
            codes = self.value_codes
            self.codes.extend([codes.setdefault(v, len(codes)) for v in values])
        else:
            self.values.append(values if isinstance(values, bytes) else b"".join(values))

    def result(self) -> FieldPostings:
        if self.positional:
            freqs, positions = _decode_positions(list(self.value_codes), np.frombuffer(self.codes, dtype=np.int64))
        else:
            freqs = np.frombuffer(b"".join(self.values), dtype=">u4").astype(np.int64)
            positions = None
        return FieldPostings(
            terms=list(self.term_ids),
            term_ids=np.frombuffer(self.postings, dtype=np.int64),
            docnums=np.frombuffer(self.docnums, dtype=np.int64),
            freqs=freqs,
            positions=positions,
        )


def _decode_positions(distinct: list[bytes], codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each posting's frequency, and all postings' positions in posting order, from the numbers
    of their (distinct, decoded once) Whoosh Positions values: a count, then pickled deltas."""
    decoded = [list(accumulate(pickle.loads(value[_COUNT_SIZE:]))) for value in distinct]
    sizes = np.array([len(p) for p in decoded], dtype=np.int64)
    table = np.fromiter((p for positions in decoded for p in positions), dtype=np.int64, count=int(sizes.sum()))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    freqs = sizes[codes]
    within = np.arange(int(freqs.sum())) - np.repeat(np.cumsum(freqs) - freqs, freqs)
    return freqs, table[np.repeat(starts[codes], freqs) + within]


def _read_segment(reader: SegmentReader, docbase: int, found: dict[str, _Collector]) -> None:
    terms = reader._terms
    numbers = {terms._fieldmap[name]: name for name in found if name in terms._fieldmap}
    postfile = _whole_file(terms._postfile)
    stream = io.BytesIO(postfile)
    for key, value in terms._tindex.items():
        name = numbers.get(_FIELD_NUMBER.unpack_from(key)[0])
        if name is None:
            continue
        term = key[_FIELD_NUMBER.size :].decode("utf-8")
        if value[0]:  # flags: postings inlined in the term info
            ids, _, values = pickle.loads(value[_TERMINFO.size :])
            found[name].add(term, [docbase + i for i in ids], values)
            continue
        offset, _ = _POINTER.unpack_from(value, _TERMINFO.size)
        _read_blocks(stream, postfile, offset + _MAGIC_SIZE, docbase, term, found[name])


def _whole_file(structfile) -> bytes:
    """The postings file's bytes: a compound segment's sub-file is already in memory."""
    if hasattr(structfile, "_buf"):
        return bytes(structfile._buf)
    structfile.seek(0)
    return structfile.read()


def _read_blocks(stream: io.BytesIO, postfile: bytes, at: int, docbase: int, term: str, collector: _Collector) -> None:
    """One term's posting blocks: each is (length, pickled info, compressed pickled data)."""
    while True:
        (length,) = _BLOCK_LENGTH.unpack_from(postfile, at)
        stream.seek(at + _BLOCK_LENGTH.size)
        info = pickle.load(stream)
        start, end = stream.tell(), at + _BLOCK_LENGTH.size + abs(length)
        data = postfile[start:end]
        ids, _, values = pickle.loads(zlib.decompress(data) if info[3] else data)
        collector.add(term, islice(accumulate(ids, initial=docbase), 1, None), values)
        if length < 0:
            return
        at = end
