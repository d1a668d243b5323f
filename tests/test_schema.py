"""Regression tests of the Whoosh (whoosh-reloaded 2.7.5) features this project relies on."""

from whoosh import index as whoosh_index

from service.index import schema as S
from service.index.version import current_version, version_path


def test_analyzer_stems_drops_stop_words_and_handles_typographic_apostrophes():
    assert S.analyze("Pain when urinating") == ["pain", "urin"]
    assert S.analyze("painful urination") == ["pain", "urin"]
    assert S.analyze("doesn’t") == S.analyze("doesn't")
    assert S.words("The Semen") == ["the", "semen"]


def test_whoosh_analyzer_matches_the_fast_path_with_positions_and_chars():
    text = "Blood in semen, and “Kegel” exercises!"
    tokens = [
        (t.text, t.pos, t.startchar, t.endchar)
        for t in S.HealthAnalyzer(stemmed=True)(text, positions=True, chars=True)
    ]
    assert [t[0] for t in tokens] == S.analyze(text)
    assert [t[1] for t in tokens] == list(range(len(tokens)))
    assert all(text[s:e].lower().startswith(w[:3]) for w, _, s, e in tokens)


def test_whoosh_index_stores_fields_and_keeps_the_unstemmed_vocabulary(bundled_index_dir):
    ix = whoosh_index.open_dir(str(version_path(bundled_index_dir, current_version(bundled_index_dir))))
    with ix.searcher() as searcher:
        reader = searcher.reader()
        stored = [fields for _, fields in reader.iter_docs()]
        assert {"id", "slug", "title", "section", "anchor", "text", "position"} <= set(stored[0])
        assert reader.doc_frequency(S.WORDS, "sialadenitis") >= 1
        assert reader.doc_frequency(S.TEXT_FIELD, "sialaden") >= 1  # stemmed
        assert reader.doc_frequency(S.TEXT_FIELD, "sialadenitis") == 0
        assert b"urination" in set(reader.lexicon(S.WORDS)) or "urination" in set(reader.lexicon(S.WORDS))
        # Section headings are indexed (searchable) and stored.
        assert reader.doc_frequency(S.SECTION, "prostat") >= 1
    ix.close()


def test_schema_round_trips_through_the_index_toc(bundled_index_dir):
    ix = whoosh_index.open_dir(str(version_path(bundled_index_dir, current_version(bundled_index_dir))))
    assert ix.schema[S.TEXT_FIELD].analyzer == S.HealthAnalyzer(stemmed=True)
    assert ix.schema[S.WORDS].analyzer == S.HealthAnalyzer(stemmed=False)
    ix.close()
