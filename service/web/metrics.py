"""Prometheus metrics: requests by route and status, latency, zero-result searches, index state.

One registry per app (no import-time global), so tests can build several apps in one process.
Labels are bounded: the route *template* (``/articles/{slug}``, never the path a client sent), a
fixed set of methods and the status code, so hostile requests cannot grow the series count.

Several uvicorn workers each keep their own counters and a scrape of GET /metrics is answered
by whichever worker accepts it. That is simple and exact per process; for fleet totals run one
worker per container (or pod) and let Prometheus sum over instances.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.web.reloading import IndexHolder

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
# Seconds; most searches take milliseconds, the tail is what an operator watches.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The app's metric instruments and the registry they are exposed from."""

    def __init__(self, holder: IndexHolder) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "healthfaq_requests",
            "HTTP requests answered, by route template and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "healthfaq_request_duration_seconds",
            "Time to answer a request, by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.zero_results = Counter(
            "healthfaq_zero_result_searches", "Searches (not as-you-type) that found no passage", registry=self.registry
        )
        # By rule id (a short list the editors keep), never by question.
        self.urgent_notices = Counter(
            "healthfaq_urgent_notices",
            "Searches answered with an emergency notice, by rule",
            ["rule"],
            registry=self.registry,
        )
        self.registry.register(_IndexCollector(holder))
        ProcessCollector(registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method if method in _METHODS else "other", str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _IndexCollector(Collector):
    """Index state read at scrape time, so it is never stale."""

    def __init__(self, holder: IndexHolder) -> None:
        self.holder = holder

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield CounterMetricFamily(
            "healthfaq_index_open_failures",
            "Published index versions this worker could not open (each counted once)",
            value=self.holder.open_failures,
        )
        served = self.holder.served
        info = GaugeMetricFamily(
            "healthfaq_index_info",
            "The index version in service (value 1) and its status",
            labels=["version", "status"],
        )
        info.add_metric([served.index.version if served else "", self.holder.status], 1.0)
        yield info
        yield GaugeMetricFamily(
            "healthfaq_index_ready", "1 when an index is loaded and searches are answered", value=1.0 if served else 0.0
        )
        if served is None:
            return
        yield GaugeMetricFamily(
            "healthfaq_index_passages", "Passages in the served index", value=float(served.index.passage_count)
        )
        built = served.index.manifest.built_timestamp()
        yield GaugeMetricFamily(
            "healthfaq_index_age_seconds",
            "Seconds since the served version was built",
            value=max(0.0, time.time() - (built if built is not None else served.loaded_at)),
        )
        yield GaugeMetricFamily(
            "healthfaq_index_loaded_timestamp_seconds",
            "Unix time this worker started serving the version",
            value=served.loaded_at,
        )


class MetricsMiddleware:
    """Counts every HTTP request once it is answered (rejections by the load limits included)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(route, scope.get("method", ""), status, time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
