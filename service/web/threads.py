"""The serving process's thread plan: parallelism comes from requests, never from inside one.

A search runs on one request thread (the event loop, or a worker thread within the app's limit of
one per core, app.py), and everything it calls runs on that thread alone: the model and the int8
passage scan on one-thread ONNX Runtime sessions (embedding.py, scan.py), and numpy's BLAS (the
exact cosines of the candidates, the safety checks' small products) pinned here to one thread.

Why not let BLAS use every core: its worker threads busy-wait after each product and take the
cores from the model run and from the other requests. Measured on MedQuAD, 2 cores, with one
busy neighbour process: the exact scan with default BLAS threads took a question from 4.9 to 15.2
ms; with the int8 scan and one BLAS thread a single question on a quiet machine loses nothing
(the scan no longer leans on BLAS), see README "Operations".

Applied once per process at start-up (each uvicorn worker's lifespan, the CLI's search, the
benchmark), before any request: threadpoolctl sets OpenBLAS's process-wide thread count.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

BLAS_THREADS = 1


def apply_thread_plan() -> None:
    """One BLAS thread for the whole process (ONNX Runtime's sessions are one-thread already)."""
    threadpool_limits(limits=BLAS_THREADS, user_api="blas")
