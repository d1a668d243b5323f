"""The OpenAPI 3.1 document of the public endpoints, written out so clients can rely on it."""

from __future__ import annotations

from functools import lru_cache

from service.query.search import MAX_LIMIT, MAX_RELATED, MAX_WINDOW
from service.query.suggest import DEFAULT_SUGGESTIONS, MAX_SUGGEST_CHARS, MAX_SUGGESTIONS
from service.web.params import DEFAULT_LIMIT, MAX_QUERY_CHARS

_ERROR = {"$ref": "#/components/schemas/Error"}


def _error_responses(*statuses: int) -> dict:
    text = {
        400: "Invalid parameter",
        404: "Not found",
        429: "Too many questions from this address",
        503: "Index not ready or server busy",
    }
    return {str(s): {"description": text[s], "content": {"application/json": {"schema": _ERROR}}} for s in statuses}


_REQUEST_ID = {"$ref": "#/components/headers/X-Request-ID"}
_RETRY_AFTER = {"$ref": "#/components/headers/Retry-After"}
_METHOD_NOT_ALLOWED = {
    "description": "Any method other than GET and HEAD",
    "headers": {"Allow": {"schema": {"type": "string"}, "description": "GET, HEAD"}},
    "content": {"application/json": {"schema": _ERROR}},
}


def _as_served(paths: dict) -> dict:
    """What the server does on every path, stated once: each GET also answers HEAD (the same
    status and headers, no body), any other method is 405, every response carries X-Request-ID,
    and a 429 or 503 says when to try again."""
    out = {}
    for path, item in paths.items():
        get = dict(item["get"])
        get["responses"] = {
            status: _with_headers(status, response)
            for status, response in {**get["responses"], "405": _METHOD_NOT_ALLOWED}.items()
        }
        head = {
            "operationId": get["operationId"] + "_head",
            "summary": "Headers only: as GET, without a body",
            "parameters": get.get("parameters", []),
            "responses": {
                status: {k: v for k, v in response.items() if k != "content"}
                for status, response in get["responses"].items()
            },
        }
        out[path] = {"get": get, "head": head}
    return out


def _with_headers(status: str, response: dict) -> dict:
    headers = {**response.get("headers", {}), "X-Request-ID": _REQUEST_ID}
    if status in ("429", "503"):
        headers["Retry-After"] = _RETRY_AFTER
    return {**response, "headers": headers}


_ARTICLE = {
    "type": "object",
    "required": ["slug", "title", "url"],
    "properties": {
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "url": {"type": ["string", "null"], "description": "The publisher's page, when known"},
    },
}

_ANSWER = {
    "type": ["object", "null"],
    "required": ["start", "end", "text"],
    "properties": {
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
        "text": {"type": "string", "description": "The answering sentence(s), plain text: text[start:end]"},
    },
    "description": "The sentence(s) of the passage that answer the question; start and end are offsets in "
    "Unicode code points into the result's text, and the snippet contains the whole of it. Null while "
    "the last word is being typed (prefix=true), and for an index built before sentences were stored",
}

_RESULT = {
    "type": "object",
    "required": ["id", "article", "section", "text", "snippet", "score", "url", "answer"],
    "properties": {
        "id": {"type": "string", "description": "Stable while the passage text is unchanged"},
        "article": _ARTICLE,
        "section": {"type": "string"},
        "text": {"type": "string", "description": "The full passage, the publisher's words"},
        "snippet": {"type": "string", "description": "HTML-escaped excerpt; only <mark> tags"},
        "score": {"type": "number"},
        "url": {"type": "string", "description": "Link to the section the passage comes from"},
        "answer": _ANSWER,
    },
}

_RELATED = {
    "type": "object",
    "required": ["slug", "title", "url", "score"],
    "properties": {
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "url": {"type": "string", "description": "Link to the article: the publisher's page when known"},
        "score": {"type": "number"},
    },
}

_CARE = {
    "type": "object",
    "required": ["id", "article", "section", "text", "url"],
    "properties": {
        "id": {"type": "string"},
        "article": _ARTICLE,
        "section": {"type": "string"},
        "text": {"type": "string"},
        "url": {"type": "string"},
    },
}

_SEARCH_RESULTS = {
    "type": "object",
    "required": ["query", "total", "results", "took_ms", "did_you_mean", "urgent", "care_advice", "related"],
    "properties": {
        "query": {"type": "string"},
        "total": {"type": "integer", "minimum": 0},
        "results": {"type": "array", "items": _RESULT},
        "took_ms": {"type": "number"},
        "did_you_mean": {
            "type": ["string", "null"],
            "description": "The question with typos corrected, when a correction was used",
        },
        "urgent": {
            "type": ["object", "null"],
            "required": ["id", "title", "message", "source", "basis", "lead"],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "message": {"type": "string"},
                "source": {"type": "string"},
                "basis": {
                    "type": "string",
                    "enum": ["words", "meaning"],
                    "description": "How the rule was met: a trigger phrase stated in "
                    "the question, or a description close in meaning "
                    "to the rule's examples",
                },
                "lead": {
                    "type": ["string", "null"],
                    "description": "Show before the message when not null (a match by "
                    "meaning: 'If this is happening now:')",
                },
            },
            "description": "An emergency notice to show before anything else, when the question describes "
            "an emergency happening now (the editors' rules); otherwise null. A safety net, "
            "not triage",
        },
        "care_advice": {
            "type": ["array", "null"],
            "items": _CARE,
            "description": "The publisher's 'see a doctor' passages when a warning sign is met",
        },
        "related": {
            "type": "array",
            "maxItems": MAX_RELATED,
            "items": _RELATED,
            "description": "Not a direct answer: up to three articles close in meaning to the question, "
            "given when answers are few or none; otherwise empty",
        },
    },
}


_SUGGESTIONS = {
    "type": "object",
    "required": ["query", "suggestions"],
    "properties": {
        "query": {"type": "string"},
        "suggestions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["text", "kind"],
                "properties": {
                    "text": {"type": "string", "description": "What to put in the search box (plain text)"},
                    "kind": {"type": "string", "enum": ["title", "section", "phrase"]},
                    "url": {
                        "type": "string",
                        "description": "For a title or section: the article, or its section, to open",
                    },
                },
            },
        },
    },
}


def _param(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


# A question must hold something other than spaces: "   " is refused as missing.
NOT_BLANK = r"\S"
_INTEGER = "; decimal digits (leading zeros and surrounding spaces are ignored)"
_BOOLEAN = "; true or false (1/0, yes/no and on/off are accepted too, in any letter case)"
PARAMETER_RULES = (
    "Query parameters: an empty value (limit=) is the same as leaving the parameter out; a "
    "parameter given more than once counts with its last value; unknown parameters are ignored."
)

SEARCH_PARAMETERS = [
    _param(
        "q",
        {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS, "pattern": NOT_BLANK},
        "The question, free text (any characters are treated as text); it must contain a character "
        "other than white space",
        required=True,
    ),
    _param(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "Results per page" + _INTEGER,
    ),
    _param(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_WINDOW - 1, "default": 0},
        f"Results to skip; offset + limit may not exceed {MAX_WINDOW}" + _INTEGER,
    ),
    _param("article", {"type": "string"}, "Only passages of the article with this slug"),
    _param(
        "prefix",
        {"type": "boolean", "default": False},
        "Treat the last word as a prefix (what a search box sends while typing)" + _BOOLEAN,
    ),
]


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Health FAQ search",
            "version": "1.0.0",
            "description": "Passages of the publisher's health articles for a free-text question. "
            "Every answer links back to the article section it came from. " + PARAMETER_RULES,
        },
        "paths": _as_served(
            {
                "/search": {
                    "get": {
                        "operationId": "search",
                        "summary": "Best passages for a question",
                        "parameters": SEARCH_PARAMETERS,
                        "responses": {
                            "200": {
                                "description": "Ranked passages",
                                "content": {"application/json": {"schema": _SEARCH_RESULTS}},
                            },
                            **_error_responses(400, 404, 429, 503),
                        },
                    }
                },
                "/suggest": {
                    "get": {
                        "operationId": "suggest",
                        "summary": "Completions for a search box: article titles, section headings, frequent phrases",
                        "description": "Every typed word may match anywhere in a suggestion; the last one as a prefix "
                        "unless followed by a space. Words may carry a typo. Cheap enough for every "
                        "keystroke.",
                        "parameters": [
                            _param(
                                "q",
                                {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": MAX_SUGGEST_CHARS,
                                    "pattern": NOT_BLANK,
                                },
                                "What has been typed so far; it must contain a character other than white space",
                                required=True,
                            ),
                            _param(
                                "limit",
                                {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": MAX_SUGGESTIONS,
                                    "default": DEFAULT_SUGGESTIONS,
                                },
                                "Most suggestions to return" + _INTEGER,
                            ),
                        ],
                        "responses": {
                            "200": {
                                "description": "Suggestions, best first",
                                "content": {"application/json": {"schema": _SUGGESTIONS}},
                            },
                            **_error_responses(400, 429, 503),
                        },
                    }
                },
                "/articles/{slug}": {
                    "get": {
                        "operationId": "article",
                        "summary": "An article as an HTML page, an id on every section",
                        "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}],
                        "responses": {
                            "200": {
                                "description": "HTML page",
                                "content": {"text/html": {"schema": {"type": "string"}}},
                            },
                            **_error_responses(404, 429, 503),
                        },
                    }
                },
                "/healthz": {
                    "get": {
                        "operationId": "healthz",
                        "summary": "Liveness and index status (always 200)",
                        "responses": {
                            "200": {
                                "description": "Status",
                                "content": {
                                    "application/json": {
                                        "schema": {
                                            "type": "object",
                                            "required": ["status", "passages"],
                                            "properties": {
                                                "status": {"type": "string", "enum": ["ok", "starting", "degraded"]},
                                                "passages": {"type": "integer"},
                                                "version": {"type": "string"},
                                                "articles": {"type": "integer"},
                                                "index_age_s": {"type": "number"},
                                                "problem": {"type": "string"},
                                            },
                                        }
                                    }
                                },
                            }
                        },
                    }
                },
                "/readyz": {
                    "get": {
                        "operationId": "readyz",
                        "summary": "200 once an index is loaded, else 503",
                        "responses": {
                            "200": {
                                "description": "Ready",
                                "content": {"application/json": {"schema": {"type": "object"}}},
                            },
                            "503": {
                                "description": "Not ready",
                                "content": {"application/json": {"schema": {"type": "object"}}},
                            },
                        },
                    }
                },
                "/metrics": {
                    "get": {
                        "operationId": "metrics",
                        "summary": "Prometheus metrics of the worker that answers",
                        "description": "Requests by route and status, latency, zero-result searches, index version and "
                        "age. Each uvicorn worker counts its own requests.",
                        "responses": {
                            "200": {
                                "description": "Prometheus text format",
                                "content": {"text/plain": {"schema": {"type": "string"}}},
                            }
                        },
                    }
                },
            }
        ),
        "components": {
            "headers": {
                "X-Request-ID": {
                    "description": "This request's id: also in the error body and the server log",
                    "schema": {"type": "string"},
                },
                "Retry-After": {
                    "description": "Seconds to wait before trying again",
                    "schema": {"type": "integer", "minimum": 1},
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "request_id": {"type": ["string", "null"]},
                            },
                        }
                    },
                }
            },
        },
    }
