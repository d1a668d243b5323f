"""Load protection: a per-worker concurrency cap and an optional per-client rate limit.

Both answer at once with the API's JSON error shape and a Retry-After header, so an overloaded
worker sheds excess requests cheaply instead of queueing them without bound. Health probes and
/metrics are never limited: an orchestrator must still see a busy worker as alive.

Plain ASGI, like the request-context middleware; state is per worker process (one event loop),
so no locks are needed around the counters.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import error_response

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
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
    """503 ``overloaded`` past ``max_concurrency`` requests in this worker; 429 ``rate_limited``
    past ``rate_limit_per_minute`` requests from one client address. 0 turns either off.

    The client address is the one uvicorn puts in the scope; behind a reverse proxy, start uvicorn
    with --forwarded-allow-ips so that it is the visitor's address, not the proxy's.
    """

    def __init__(self, app: ASGIApp, max_concurrency: int = 0, rate_limit_per_minute: int = 0) -> None:
        self.app = app
        self.max_concurrency = max_concurrency
        self.buckets = TokenBuckets(rate_limit_per_minute) if rate_limit_per_minute > 0 else None
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        if self.buckets is not None:
            client = scope.get("client")
            wait = self.buckets.take(client[0] if client else "unknown")
            if wait > 0:
                await self._refuse(scope, receive, send, 429, "rate_limited",
                                   "too many requests from this address; slow down", math.ceil(wait))
                return
        if 0 < self.max_concurrency <= self.in_flight:
            await self._refuse(scope, receive, send, 503, "overloaded",
                               "the server is busy; try again shortly", OVERLOADED_RETRY_AFTER_S)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                      message: str, retry_after: int) -> None:
        response = error_response(Request(scope), status, code, message,
                                  headers={"Retry-After": str(max(1, retry_after))})
        await response(scope, receive, send)
