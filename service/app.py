"""The ASGI entry point, for running the service under any ASGI server:

    uvicorn service.app:app --host 0.0.0.0 --port 8000 --workers 2
    gunicorn -k uvicorn.workers.UvicornWorker -w 2 -b 0.0.0.0:8000 service.app:app
    hypercorn -w 2 -b 0.0.0.0:8000 service.app:app

``app`` is what those commands name; ``create_app`` is the factory (``uvicorn --factory
service.app:create_app``; ``healthfaq serve`` uses it). Either way each worker process builds its
own Settings from the HEALTHFAQ_* environment when it starts serving, never at import, so the
module can be imported (by a test, a server's preload) without reading anything.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from service.settings import SettingsError
from service.web.app import create_app

__all__ = ["app", "create_app"]


class _AppOnFirstCall:
    """An ASGI app that builds the real one (``create_app()``) at its first call: the lifespan
    start-up in the worker that serves. Servers call an app from one event loop, so the first
    call is never raced."""

    def __init__(self) -> None:
        self._app: Starlette | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            try:
                self._app = create_app()
            except SettingsError as exc:
                if scope["type"] != "lifespan":
                    raise
                await _fail_startup(receive, send, str(exc))
                return
        await self._app(scope, receive, send)


async def _fail_startup(receive: Receive, send: Send, reason: str) -> None:
    """A bad HEALTHFAQ_* value: answer the server's start-up with "failed" and the one line that
    names the setting. The server logs that line and exits; an exception here would be taken for
    an app without lifespan support, and every request would then fail with a traceback."""
    await receive()  # lifespan.startup
    await send({"type": "lifespan.startup.failed", "message": reason})


app = _AppOnFirstCall()
