"""The result cache keeps rankings, never another request's words, timing or correction."""

from __future__ import annotations

from service.query.cache import ResultCache
from service.query.search import SearchRequest, cached_search, search


def test_a_cached_ranking_is_answered_with_this_requests_own_words(bundled_index):
    cache = ResultCache(16)
    first = search(bundled_index, SearchRequest(q="Kegel   EXERCISES"), cache)
    assert cached_search(bundled_index, SearchRequest(q="kegel exercises"), cache) is not None  # same words
    second = search(bundled_index, SearchRequest(q="kegel exercises"), cache)
    assert first.query == "Kegel   EXERCISES" and second.query == "kegel exercises"
    assert [h.passage.id for h in first.hits] == [h.passage.id for h in second.hits]


def test_did_you_mean_is_built_from_the_request_being_answered(bundled_index):
    cache = ResultCache(16)
    first = search(bundled_index, SearchRequest(q="Submandibullar   GLEND?"), cache)
    second = search(bundled_index, SearchRequest(q="submandibullar glend"), cache)
    assert first.did_you_mean == "submandibular gland?"
    assert second.did_you_mean == "submandibular gland"
    assert len(cache) == 1  # one ranking served both


def test_different_words_or_options_are_different_entries(bundled_index):
    cache = ResultCache(16)
    search(bundled_index, SearchRequest(q="pain"), cache)
    assert cached_search(bundled_index, SearchRequest(q="pain", limit=3), cache) is None
    assert cached_search(bundled_index, SearchRequest(q="pain", prefix=True), cache) is None
    assert cached_search(bundled_index, SearchRequest(q="pains"), cache) is None


def test_a_newer_version_empties_the_cache_and_an_older_one_is_not_kept():
    cache = ResultCache(4)
    cache.put("v2", "k", "ranked on v2")
    assert cache.get("v2", "k") == "ranked on v2" and cache.get("v1", "k") is None
    cache.put("v1", "k", "late answer from the replaced version")
    assert cache.get("v2", "k") == "ranked on v2"
    cache.put("v3", "other", "x")
    assert len(cache) == 1 and cache.get("v2", "k") is None


def test_least_recently_used_entries_go_first():
    cache = ResultCache(2)
    cache.put("v", "a", 1)
    cache.put("v", "b", 2)
    cache.get("v", "a")
    cache.put("v", "c", 3)
    assert (cache.get("v", "a"), cache.get("v", "b"), cache.get("v", "c")) == (1, None, 3)
    assert ResultCache(0).get("v", "a") is None


def test_a_finished_and_an_unfinished_last_word_are_different_entries(bundled_index):
    cache = ResultCache(16)
    search(bundled_index, SearchRequest(q="kegel exercise", prefix=True), cache)  # mid-word: lexical
    assert cached_search(bundled_index, SearchRequest(q="kegel exercise?", prefix=True), cache) is None
