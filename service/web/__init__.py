"""The HTTP service: the Starlette app, API, pages, limits, metrics and index reloading."""
