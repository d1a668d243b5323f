"""JSON endpoints. Each reads the served index once and calls search.py through it."""

from __future__ import annotations

import re
import time

import anyio
from starlette.requests import Request
from starlette.responses import Response

from service.index.models import SearchResults
from service.query.search import SearchRequest, cached_search, embeds_question
from service.query.search import search as run_search
from service.query.store import LoadedIndex
from service.web.errors import ApiError
from service.web.jsonresponse import JSONResponse
from service.web.openapi import openapi_document
from service.web.params import search_request, suggest_params
from service.web.reloading import IndexHolder, Served


def holder_of(request: Request) -> IndexHolder:
    return request.app.state.holder


def served_or_503(request: Request) -> Served:
    served = holder_of(request).served
    if served is None:
        raise ApiError(
            503,
            "index_not_ready",
            "the search index is not loaded yet; try again shortly",
            headers={"Retry-After": "2"},
        )
    return served


# A lexical search-box question costs about a millisecond: handing it to a worker thread would
# cost as much again. Anything that runs the model (several ms of CPU, more on a busy machine) or
# a long pasted message goes to a thread, so the event loop keeps reading requests, answering
# probes and closing idle connections on time while searches queue.
INLINE_QUESTION_CHARS = 200


async def search_endpoint(request: Request) -> Response:
    served = served_or_503(request)
    search = search_request(request.query_params, served.index.articles)
    cache = request.app.state.cache
    results = cached_search(served.index, search, cache)  # a repeated question is answered on the loop
    if results is None and len(search.q) <= INLINE_QUESTION_CHARS and not embeds_question(served.index, search):
        results = run_search(served.index, search, cache)
    elif results is None:
        results = await search_in_thread(request, served.index, search)
    note_search(request, search, results)
    return JSONResponse(results.to_dict(public_url=request.app.state.settings.public_url))


async def search_in_thread(request: Request, index: LoadedIndex, search: SearchRequest) -> SearchResults:
    """A search in a worker thread, within the app's limit of searches at once (one per core)."""
    return await anyio.to_thread.run_sync(
        run_search, index, search, request.app.state.cache, limiter=request.app.state.search_threads
    )


def note_search(request: Request, search: SearchRequest, results: SearchResults) -> None:
    """Record a finished search for the access log, /metrics and (opt-in) the content-gaps log.

    Every endpoint or page that answers a question calls this, so no search goes uncounted.
    """
    request.state.result_count = len(results.hits)
    if results.urgent is not None:
        request.app.state.metrics.urgent_notices.labels(results.urgent.id).inc()
    if results.total or search.prefix:  # a half-typed question finding nothing is no gap
        return
    request.app.state.metrics.zero_results.inc()
    gaps = request.app.state.gaps
    if gaps is not None and results.urgent is None:  # an emergency is never kept, even as a gap
        gaps.record_later(search.q)  # written on the log's thread, not the event loop


async def suggest_endpoint(request: Request) -> Response:
    """Completions for a search box: titles, section headings and frequent phrases."""
    served = served_or_503(request)
    q, limit = suggest_params(request.query_params)
    suggester = served.index.suggester
    if suggestion_may_be_slow(q):
        suggestions = await anyio.to_thread.run_sync(suggester.suggest, q, limit)
    else:
        suggestions = suggester.suggest(q, limit)
    return JSONResponse({"query": q, "suggestions": [s.to_dict() for s in suggestions]})


# A suggestion for a word or two of two letters or more costs well under a millisecond even on
# MedQuAD (~30,000 passages), less than a hop to a worker thread. A one-letter word stands for
# hundreds of indexed words, and many words add up: bounded to a few ms, but off the loop.
_ONE_LETTER_WORD = re.compile(r"(?<!\w)\w(?!\w)")
INLINE_SUGGEST_WORDS = 3


def suggestion_may_be_slow(q: str) -> bool:
    return len(q.split()) > INLINE_SUGGEST_WORDS or _ONE_LETTER_WORD.search(q) is not None


async def healthz(request: Request) -> Response:
    holder = holder_of(request)
    served = holder.served
    body: dict = {
        "status": holder.status,
        "passages": served.index.passage_count if served else 0,
        "semantic": bool(served and served.index.semantic),
    }
    if served:
        body.update(
            version=served.index.version,
            articles=len(served.index.articles),
            index_age_s=round(time.time() - served.loaded_at, 1),
        )
    if holder.problem:
        body["problem"] = holder.problem
    return JSONResponse(body)


async def readyz(request: Request) -> Response:
    served = holder_of(request).served
    if served is None:
        return JSONResponse({"ready": False}, status_code=503, headers={"Retry-After": "2"})
    return JSONResponse({"ready": True, "version": served.index.version})


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())
