"""Query-string parameters -> SearchRequest, with the API's documented limits and error codes."""

from __future__ import annotations

from collections.abc import Mapping

from service.query.search import MAX_LIMIT, MAX_WINDOW, SearchRequest
from service.query.suggest import DEFAULT_SUGGESTIONS, MAX_SUGGEST_CHARS, MAX_SUGGESTIONS
from service.web.errors import ApiError

MAX_QUERY_CHARS = 2000
DEFAULT_LIMIT = 10


def search_request(params: Mapping[str, str], known_articles: Mapping[str, object] | None) -> SearchRequest:
    q = _question(params, MAX_QUERY_CHARS)
    limit = _integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _integer(params, "offset", 0, 0, MAX_WINDOW - 1)
    if offset + limit > MAX_WINDOW:
        raise ApiError(400, "invalid_parameter", f"offset + limit must not exceed {MAX_WINDOW}")
    article = params.get("article") or None
    if article is not None and known_articles is not None and article not in known_articles:
        raise ApiError(404, "unknown_article", f"no article with slug {article!r}")
    return SearchRequest(q=q, limit=limit, offset=offset, article=article, prefix=boolean(params, "prefix"))


def suggest_params(params: Mapping[str, str]) -> tuple[str, int]:
    """(q, limit) for /suggest, with the same error codes as /search."""
    q = _question(params, MAX_SUGGEST_CHARS)
    raw = (params.get("limit") or "").strip()
    if not raw:
        return q, DEFAULT_SUGGESTIONS
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_SUGGESTIONS):
        raise ApiError(400, "invalid_parameter", f"'limit' must be an integer between 1 and {MAX_SUGGESTIONS}")
    return q, int(raw)


def _question(params: Mapping[str, str], max_chars: int) -> str:
    q = params.get("q")
    if q is None or not q.strip():
        raise ApiError(400, "missing_query", "the 'q' parameter is required and must not be blank")
    if len(q) > max_chars:
        raise ApiError(400, "query_too_long", f"'q' is {len(q)} characters; the limit is {max_chars}")
    return q


def boolean(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return False
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ApiError(400, "invalid_parameter", f"'{name}' must be true or false")


def _integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be an integer between {low} and {high}")
    value = int(text)
    if not low <= value <= high:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be an integer between {low} and {high}")
    return value
