"""The bulk posting reader must read back exactly what Whoosh's own matchers read."""

from __future__ import annotations

import pytest
from whoosh import index as whoosh_index

from service.build.corpus import load_articles
from service.build.postings import read_fields
from service.build.segment import commit_segments, create_index, write_segment
from service.index import schema as S
from tests.conftest import CORPUS
from tests.generated_corpus import write_generated_corpus


@pytest.fixture(scope="module")
def two_segment_reader(tmp_path_factory):
    """The test articles plus 300 generated ones, written as two segments: common terms span
    several 128-posting blocks, and document numbers continue across segments."""
    root = tmp_path_factory.mktemp("postings")
    articles = load_articles(CORPUS) + load_articles(write_generated_corpus(root / "generated.jsonl", records=300))
    folder = root / "index"
    folder.mkdir()
    create_index(folder, S.build_schema())
    half = len(articles) // 2
    commit_segments(
        folder, [write_segment(folder, articles[:half]).segment, write_segment(folder, articles[half:]).segment]
    )
    ix = whoosh_index.open_dir(str(folder))
    reader = ix.reader()
    yield reader
    reader.close()
    ix.close()


def _expected(reader, name):
    positional = name in S.RANKED_FIELDS
    rows = []
    for term in reader.lexicon(name):
        matcher = reader.postings(name, term)
        for docnum, value in matcher.items_as("positions" if positional else "frequency"):
            freq = len(value) if positional else value
            rows.append((term.decode("utf-8"), docnum, freq, tuple(value) if positional else None))
    return sorted(rows)


def _read(postings):
    rows, at = [], 0
    positions = postings.positions
    for term_id, docnum, freq in zip(postings.term_ids.tolist(), postings.docnums.tolist(), postings.freqs.tolist()):
        found = None
        if positions is not None:
            found = tuple(positions[at : at + freq].tolist())
            at += freq
        rows.append((postings.terms[term_id], docnum, freq, found))
    return sorted(rows)


@pytest.mark.parametrize("name", [*S.RANKED_FIELDS, S.WORDS])
def test_every_posting_read_in_bulk_is_what_whoosh_reads(two_segment_reader, name):
    assert len(two_segment_reader.leaf_readers()) == 2
    expected = _expected(two_segment_reader, name)
    assert len(expected) > 1000 or name != S.TEXT_FIELD
    assert _read(read_fields(two_segment_reader, [name])[name]) == expected


def test_only_frequency_and_position_fields_are_read(two_segment_reader):
    with pytest.raises(TypeError):
        read_fields(two_segment_reader, [S.ID_FIELD])
