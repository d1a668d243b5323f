"""create_app(settings): routes, middleware, error handlers, and a lifespan that opens the index."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from service.query.cache import ResultCache
from service.settings import Settings
from service.web import api, pages
from service.web.cors import CorsMiddleware
from service.web.errors import ApiError, handle_api_error, handle_http_exception, handle_unexpected
from service.web.gaps import GapsLog
from service.web.limits import LoadLimitMiddleware
from service.web.metrics import Metrics, MetricsMiddleware, metrics_endpoint
from service.web.middleware import RequestContextMiddleware
from service.web.reloading import IndexHolder
from service.web.threads import apply_thread_plan

log = logging.getLogger("healthfaq")
STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> Starlette:
    """The application; uvicorn calls it with no argument (``--factory``), so each worker builds
    its settings from the environment when it starts, never at import."""
    settings = settings or Settings.from_env()
    holder = IndexHolder(settings)
    metrics = Metrics(holder)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # An existing index is opened before the first request; a missing one is built in the
        # background while /healthz says "starting" and /readyz says 503.
        apply_thread_plan()
        await anyio.to_thread.run_sync(holder.refresh)
        watcher = asyncio.create_task(_keep_index_current(holder, settings.reload_interval))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if app.state.gaps is not None:
                await anyio.to_thread.run_sync(app.state.gaps.close)

    routes = [
        Route("/", pages.search_page, methods=["GET", "HEAD"]),
        Route("/favicon.ico", pages.favicon, methods=["GET", "HEAD"]),
        Route("/search", api.search_endpoint, methods=["GET", "HEAD"]),
        Route("/suggest", api.suggest_endpoint, methods=["GET", "HEAD"]),
        Route("/articles/{slug}", pages.article_page, methods=["GET", "HEAD"]),
        Route("/healthz", api.healthz, methods=["GET", "HEAD"]),
        Route("/readyz", api.readyz, methods=["GET", "HEAD"]),
        Route("/openapi.json", api.openapi, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET", "HEAD"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [
        Middleware(RequestContextMiddleware, log_queries=settings.log_queries),
        Middleware(MetricsMiddleware, metrics=metrics),
    ]
    if settings.cors_origins:
        # Only the listed sites may call the API from their pages (the embeddable search box);
        # with none listed no CORS header is sent and browsers keep other origins out.
        middleware.append(
            Middleware(
                CorsMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET"],
                expose_headers=["X-Request-ID"],
            )
        )
    # Innermost, so a refused request still gets a request id, a log line and a metric.
    middleware.append(
        Middleware(
            LoadLimitMiddleware,
            max_concurrency=settings.max_concurrency,
            max_concurrency_per_client=settings.max_concurrency_per_client,
            rate_limit_per_minute=settings.rate_limit_per_minute,
        )
    )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
    )
    app.state.settings = settings
    app.state.holder = holder
    app.state.metrics = metrics
    app.state.cache = ResultCache(settings.result_cache_size)
    # Searches that run the model go to worker threads, but only one per core at a time: more
    # threads fight over the cores and the GIL. On MedQuAD at 8 connections (one worker, 2 cores)
    # unbounded threads served 54 requests/s with p99 339 ms; one per core 66-73/s, p99 141-154 ms,
    # as many as searching on the event loop (66/s), which meanwhile stays free for everything else.
    app.state.search_threads = anyio.CapacityLimiter(_usable_cores())
    app.state.gaps = GapsLog(settings.gaps_file) if settings.gaps_file else None
    return app


async def _keep_index_current(holder: IndexHolder, interval: float) -> None:
    """Open the index at start (building it if there is none), then follow new versions."""
    await anyio.to_thread.run_sync(holder.build_if_missing)
    while True:
        try:
            await anyio.to_thread.run_sync(holder.refresh)
        except Exception:  # keep watching: one failed check must not stop reloads for good
            log.exception("index refresh failed")
        await asyncio.sleep(interval)


def _usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
