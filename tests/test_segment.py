"""The bulk segment writer must produce what Whoosh's own ``add_document`` produces."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh import scoring
from whoosh.codec.whoosh3 import W3Codec
from whoosh.query import Or, Term
from whoosh.searching import Searcher

from service.build.chunking import chunk_articles
from service.build.corpus import load_articles
from service.build.segment import check_codec, commit_segments, create_index, write_segment
from service.index import schema as S
from tests.conftest import CORPUS
from tests.generated_corpus import write_generated_corpus

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'


def _write_with_add_document(folder: Path, passages) -> None:
    """The reference: every passage's document (schema.passage_document) through Whoosh's stock
    writer, analysis and all."""
    ix = whoosh_index.create_in(str(folder), S.build_schema())
    writer = ix.writer()
    for passage in passages:
        writer.add_document(**S.passage_document(passage))
    writer.commit()
    ix.close()


@pytest.fixture(scope="module")
def both_indexes(tmp_path_factory: pytest.TempPathFactory):
    """The bundled articles plus 300 generated ones: common words span several 128-posting blocks."""
    root = tmp_path_factory.mktemp("segments")
    generated = write_generated_corpus(root / "generated.jsonl", records=300)
    articles = load_articles(CORPUS / "articles") + load_articles(generated)
    passages = chunk_articles(articles)
    (root / "bulk").mkdir()
    (root / "stock").mkdir()
    create_index(root / "bulk", S.build_schema())
    written = write_segment(root / "bulk", articles)
    commit_segments(root / "bulk", [written.segment])
    assert written.passages == len(passages)
    _write_with_add_document(root / "stock", passages)
    bulk, stock = whoosh_index.open_dir(str(root / "bulk")), whoosh_index.open_dir(str(root / "stock"))
    yield bulk.reader(), stock.reader(), passages
    bulk.close()
    stock.close()


def test_same_documents_and_stored_fields(both_indexes) -> None:
    bulk, stock, passages = both_indexes
    assert bulk.doc_count() == stock.doc_count() == len(passages)
    assert list(bulk.iter_docs()) == list(stock.iter_docs())


def test_same_terms_and_posting_statistics(both_indexes) -> None:
    bulk, stock, _ = both_indexes
    terms = list(stock.all_terms())
    assert list(bulk.all_terms()) == terms
    assert {name for name, _ in terms} == {S.ID_FIELD, S.SLUG, S.TITLE, S.SECTION, S.TEXT_FIELD, S.WORDS}
    multi_block = 0
    for name, text in terms:
        ours, theirs = bulk.term_info(name, text), stock.term_info(name, text)
        assert (
            ours.doc_frequency(),
            ours.weight(),
            ours.max_weight(),
            ours.min_length(),
            ours.max_length(),
            ours.min_id(),
            ours.max_id(),
        ) == (
            theirs.doc_frequency(),
            theirs.weight(),
            theirs.max_weight(),
            theirs.min_length(),
            theirs.max_length(),
            theirs.min_id(),
            theirs.max_id(),
        ), (name, text)
        multi_block += ours.doc_frequency() > 128
    assert multi_block > 20  # the comparison covered posting lists of several blocks


def test_same_postings(both_indexes) -> None:
    bulk, stock, _ = both_indexes
    for name, text in stock.all_terms():
        ours, theirs = bulk.postings(name, text), stock.postings(name, text)
        assert list(ours.items_as("weight")) == list(theirs.items_as("weight")), (name, text)
        if name not in (S.ID_FIELD, S.SLUG):
            ours, theirs = bulk.postings(name, text), stock.postings(name, text)
            assert list(ours.items_as("frequency")) == list(theirs.items_as("frequency")), (name, text)
        if name in S.RANKED_FIELDS:
            ours, theirs = bulk.postings(name, text), stock.postings(name, text)
            assert list(ours.items_as("positions")) == list(theirs.items_as("positions")), (name, text)


def test_same_field_lengths(both_indexes) -> None:
    bulk, stock, passages = both_indexes
    for name in (S.TITLE, S.SECTION, S.TEXT_FIELD, S.WORDS):
        assert bulk.field_length(name) == stock.field_length(name) > 0
        assert (bulk.min_field_length(name), bulk.max_field_length(name)) == (
            stock.min_field_length(name),
            stock.max_field_length(name),
        )
        assert [bulk.doc_field_length(n, name) for n in range(len(passages))] == [
            stock.doc_field_length(n, name) for n in range(len(passages))
        ]


def test_whoosh_searches_it_the_same(both_indexes) -> None:
    bulk, stock, _ = both_indexes
    query = Or([Term(S.TEXT_FIELD, S.stem("semen")), Term(S.TITLE, S.stem("leakage")), Term(S.WORDS, "blood")])
    results = []
    for reader in (bulk, stock):
        with Searcher(reader, weighting=scoring.BM25F(), closereader=False) as searcher:
            results.append([(hit.docnum, round(hit.score, 6)) for hit in searcher.search(query, limit=20)])
    assert results[0] == results[1] and len(results[0]) == 20


def test_only_the_codec_it_was_written_for() -> None:
    check_codec(W3Codec())
    with pytest.raises(RuntimeError):
        check_codec(W3Codec(blocklimit=64))
