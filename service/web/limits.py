"""Load protection: a per-worker concurrency cap, each client's share of it, and an optional
per-client rate limit on searches.

All answer at once with the API's JSON error shape and a Retry-After header, so an overloaded
worker sheds excess requests cheaply instead of queueing them without bound. One client address
may hold only its share of the cap, so a single noisy address is shed first and cannot starve
everyone else. Health probes and /metrics are never limited: an orchestrator must still see a busy
worker as alive. The rate limit counts questions (searches, suggestions, the search page with a
question), never the page's own CSS/JS, article pages or static files.

A refused request is labelled with the route it was refused on (in the log and /metrics), though
it never reaches the router.

Plain ASGI, like the request-context middleware; state is per worker process (one event loop),
so no locks are needed around the counters.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from service.web.errors import error_response

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# What the rate limit counts: questions. The search page counts only when it carries one.
RATE_LIMITED_PATHS = frozenset({"/search", "/suggest"})
SEARCH_PAGE = "/"
# Without a configured per-client share, one address may hold this fraction of the cap.
DEFAULT_CLIENT_SHARE = 4
# Clients remembered by the rate limiter; the least recently seen are forgotten first, so a
# flood of distinct addresses costs bounded memory (a forgotten client starts with a full bucket).
MAX_TRACKED_CLIENTS = 10_000
OVERLOADED_RETRY_AFTER_S = 1


class TokenBuckets:
    """Per-client token buckets: ``per_minute`` requests a minute, bursts up to ``per_minute``."""

    def __init__(self, per_minute: int, max_clients: int = MAX_TRACKED_CLIENTS) -> None:
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token; 0.0 when allowed, else the seconds until the next token."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.refill_per_s)
        if tokens >= 1.0:
            tokens -= 1.0
            wait = 0.0
        else:
            wait = (1.0 - tokens) / self.refill_per_s
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


class LoadLimitMiddleware:
    """503 ``overloaded`` past ``max_concurrency`` requests in this worker, or past
    ``max_concurrency_per_client`` from one client address (0: a quarter of the cap); 429
    ``rate_limited`` past ``rate_limit_per_minute`` questions from one client address. 0 turns the
    cap or the rate limit off.

    The client address is the one uvicorn puts in the scope; behind a reverse proxy, start uvicorn
    with --forwarded-allow-ips so that it is the visitor's address, not the proxy's.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_concurrency: int = 0,
        rate_limit_per_minute: int = 0,
        max_concurrency_per_client: int = 0,
    ) -> None:
        self.app = app
        self.max_concurrency = max_concurrency
        self.per_client = max_concurrency_per_client or max(1, max_concurrency // DEFAULT_CLIENT_SHARE)
        self.buckets = TokenBuckets(rate_limit_per_minute) if rate_limit_per_minute > 0 else None
        self.in_flight = 0
        self.in_flight_by_client: dict[str, int] = {}  # only clients with a request in flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        if self.buckets is not None and _asks_a_question(scope):
            wait = self.buckets.take(client)
            if wait > 0:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    429,
                    "rate_limited",
                    "too many requests from this address; slow down",
                    math.ceil(wait),
                )
                return
        if self.max_concurrency > 0:
            mine = self.in_flight_by_client.get(client, 0)
            if self.in_flight >= self.max_concurrency or mine >= self.per_client:
                message = (
                    "the server is busy; try again shortly"
                    if mine < self.per_client
                    else "too many requests from this address at once; try again shortly"
                )
                await self._refuse(scope, receive, send, 503, "overloaded", message, OVERLOADED_RETRY_AFTER_S)
                return
        await self._admit(client, scope, receive, send)

    async def _admit(self, client: str, scope: Scope, receive: Receive, send: Send) -> None:
        self.in_flight += 1
        self.in_flight_by_client[client] = self.in_flight_by_client.get(client, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            left = self.in_flight_by_client[client] - 1
            if left:
                self.in_flight_by_client[client] = left
            else:
                del self.in_flight_by_client[client]  # memory stays bounded by requests in flight

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str, retry_after: int
    ) -> None:
        route = _route_of(scope)
        if route is not None:
            scope["route"] = route  # the log line and /metrics name the route, not "unmatched"
        response = error_response(
            Request(scope), status, code, message, headers={"Retry-After": str(max(1, retry_after))}
        )
        await response(scope, receive, send)


def _asks_a_question(scope: Scope) -> bool:
    path = scope.get("path")
    if path in RATE_LIMITED_PATHS:
        return True
    return path == SEARCH_PAGE and bool(QueryParams(scope.get("query_string", b"")).get("q", "").strip())


def _route_of(scope: Scope) -> BaseRoute | None:
    """The route the router would pick for this request (as it does: a full match first, else the
    first route that matches all but the method), or None when no route matches."""
    router = getattr(scope.get("app"), "router", None)
    partial = None
    for route in getattr(router, "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial
