"""Hostile input, generated: schemathesis over every documented operation, hypothesis on the
query builder and the parameter parser."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.query.question import MAX_PREFIX_EXPANSIONS, MAX_QUERY_TERMS, plan_query
from service.query.search import MAX_LIMIT, MAX_WINDOW, SearchRequest, search
from service.web.app import create_app
from service.web.errors import ApiError
from service.web.openapi import openapi_document
from service.web.params import MAX_QUERY_CHARS, search_request
from tests.conftest import make_settings

API_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Loaded from the same function that serves /openapi.json (checked below), so collection needs no
# index; each operation's requests go in-process to an app whose lifespan has opened the index.
# (schemathesis.pytest.from_fixture would fit better, but 4.32.5's lazy loader fails on pytest 9.)
schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def app(bundled_index_dir):
    """One app for every fuzzed operation: the fuzz only reads answers, and the model and index it
    opens stay loaded when schemathesis ends and restarts its lifespan around each operation."""
    return create_app(make_settings(bundled_index_dir))


def test_the_fuzzed_document_is_the_served_one(shared_client):
    assert shared_client.get("/openapi.json").json() == json.loads(json.dumps(openapi_document()))


@schema.parametrize()
@settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_5xx(case, app):
    case.call_and_validate(app=app, checks=API_CHECKS)


# --- the query builder ---------------------------------------------------------------------

_WORDS = [
    "belly",
    "button",
    "pain",
    "kegel",
    "smell",
    "covid",
    "semen",
    "leak",
    "the",
    "and",
    "my",
    "doctor",
    "AND",
    "OR",
    "NOT",
    "TO",
    "title:",
    "text:pain",
    "*",
    "?",
    "~2",
    "^3",
    "[a TO z]",
    "{x}",
    "(",
    ")",
    '"',
    "pain*",
    "bel?y",
    "\u202e",
    "\u0301",
    "😷",
    "\x00",
    "ß",
    "İ",
    "ﬁ",
    "١٢٣",
    "日本語",
    "-",
    "+",
    "\\",
]
_QUESTIONS = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(_WORDS), max_size=200).map(" ".join),
    st.lists(st.sampled_from(_WORDS) | st.text(min_size=1, max_size=12), max_size=60).map("".join),
)


def _column_bound(index) -> int:
    """Most columns any question can ask for: typed and corrected stems, completions, pairs of
    kept stems, and every column a synonym rule could add. Independent of the question's length."""
    synonym_columns = sum(2 * len(alt) - 1 for alts in index.synonyms.expansions.values() for alt in alts)
    return 2 * MAX_QUERY_TERMS + MAX_PREFIX_EXPANSIONS + MAX_QUERY_TERMS**2 + synonym_columns


@given(text=_QUESTIONS, prefix=st.booleans())
@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_plan_query_never_raises_stays_bounded_and_is_deterministic(bundled_index, text, prefix):
    plan = plan_query(text, bundled_index, prefix=prefix)
    assert len(plan.groups) <= MAX_QUERY_TERMS + 1  # + the half-typed last word's completions
    assert len(plan.cols) == len(plan.weights) == len(set(plan.cols)) <= _column_bound(bundled_index)
    assert all(0 < w <= 1 for w in plan.weights)
    assert plan == plan_query(text, bundled_index, prefix=prefix)


def test_a_long_question_is_capped_at_the_term_limit(bundled_index):
    vocabulary = sorted(bundled_index.word_df)[:400]
    plan = plan_query(" ".join(vocabulary), bundled_index)
    assert len(vocabulary) > MAX_QUERY_TERMS and len(plan.groups) == MAX_QUERY_TERMS


@given(text=_QUESTIONS, limit=st.integers(1, MAX_LIMIT), offset=st.integers(0, 40), prefix=st.booleans())
@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_search_answers_any_text(bundled_index, text, limit, offset, prefix):
    results = search(bundled_index, SearchRequest(q=text, limit=limit, offset=offset, prefix=prefix))
    assert len(results.hits) <= limit and len(results.hits) <= max(0, results.total - offset)
    json.dumps(results.to_dict())  # always serialisable


# --- query-string parameters ---------------------------------------------------------------

_VALUES = st.one_of(
    st.text(max_size=30),
    st.integers(-(10**15), 10**15).map(str),
    st.sampled_from(["", " ", "1e3", "0x10", "٣", "+5", "-0", "true", "yes", "off", "NaN"]),
)


@given(params=st.dictionaries(st.sampled_from(["q", "limit", "offset", "article", "prefix", "other"]), _VALUES))
@settings(max_examples=500, derandomize=True, deadline=None)
def test_parameters_parse_to_a_valid_request_or_a_client_error(params):
    known_articles = {"semen-leakage": {}}
    try:
        request = search_request(params, known_articles)
    except ApiError as exc:
        assert exc.status in (400, 404) and exc.code and exc.message
        return
    assert request.q.strip() and len(request.q) <= MAX_QUERY_CHARS
    assert 1 <= request.limit <= MAX_LIMIT and 0 <= request.offset
    assert request.offset + request.limit <= MAX_WINDOW
    assert request.article in (None, "semen-leakage")
