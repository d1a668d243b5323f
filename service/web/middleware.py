"""ASGI middleware: request ids, security headers and a privacy-respecting access log.

Plain ASGI (no BaseHTTPMiddleware) so it adds microseconds, not a task per request.
"""

from __future__ import annotations

import logging
import time
import uuid

import orjson
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.web.errors import error_response

access_log = logging.getLogger("healthfaq.access")
error_log = logging.getLogger("healthfaq.error")

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}


class RequestContextMiddleware:
    """Gives each request an id (echoed in X-Request-ID and in error bodies) and logs it as JSON.

    The question text is logged only when the operator opts in (settings.log_queries).
    """

    def __init__(self, app: ASGIApp, log_queries: bool = False) -> None:
        self.app = app
        self.log_queries = log_queries

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Answered here, inside this middleware, so even a 500 carries the request id header
            # and the security headers; the log line names the same id. Re-raised so that the
            # server logs the traceback (and test clients see it); nothing of it reaches the client.
            error_log.error("request %s failed: %s", request_id, type(exc).__name__)
            if not response_started:
                response = error_response(
                    Request(scope), 500, "internal_error", "the server failed to answer this request"
                )
                await response(scope, receive, send_with_headers)
            raise
        finally:
            self._log(scope, status, started, request_id)

    def _log(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        route = scope.get("route")
        record = {
            "event": "request",
            "request_id": request_id,
            "method": scope.get("method"),
            "route": getattr(route, "path", None) or "unmatched",
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "results": scope.get("state", {}).get("result_count"),
        }
        if self.log_queries:
            record["query_string"] = scope.get("query_string", b"").decode("latin-1")
        access_log.info(orjson.dumps(record).decode())
