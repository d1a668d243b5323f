"""Cross-origin access for the embeddable search box: Starlette's CORS middleware, with a refused
preflight answered in the API's one JSON error shape instead of Starlette's plain text."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from service.web.errors import error_response

_REFUSED_PREFIX = "Disallowed CORS "


class CorsMiddleware(CORSMiddleware):
    """Only the listed origins may call the API from their pages, with GET."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        is_preflight = (
            headers is not None
            and scope["method"] == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        )
        if headers is None or not is_preflight:
            await super().__call__(scope, receive, send)
            return
        response = self.preflight_response(request_headers=headers)
        if response.status_code == 400:
            response = _as_json_error(scope, response)
        await response(scope, receive, send)


def _as_json_error(scope: Scope, refused: Response) -> Response:
    """Starlette's "Disallowed CORS origin, method" as a 400 ``cors_not_allowed`` JSON error,
    keeping the preflight headers (Vary, Access-Control-Allow-Methods) that say what is allowed."""
    what = bytes(refused.body).decode().removeprefix(_REFUSED_PREFIX)
    headers = {k: v for k, v in refused.headers.items() if k.lower() not in {"content-length", "content-type"}}
    return error_response(
        Request(scope),
        400,
        "cors_not_allowed",
        f"cross-origin request refused: this {what} is not allowed (only GET, from listed origins)",
        headers=headers,
    )
