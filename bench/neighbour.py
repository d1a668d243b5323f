"""One busy neighbour: the same questions timed on a quiet machine and beside a process that
keeps one core busy, as concurrent requests or another service do on a shared 2-core machine.

Why a separate measurement: a search that leans on several threads (BLAS's, ONNX Runtime's) is
fast alone and slow beside anything else; the thread plan (service/threads.py) is judged here.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence

from bench.engines import Engine
from bench.latency import time_batch
from bench.mixes import Query

SPIN = "while True: pass"


def busy_neighbour(engine: Engine, queries: Sequence[Query]) -> dict[str, float]:
    """{"quiet_p50", "busy_p50", "ratio"} in ms: quiet before and after (the lower counts), busy between."""
    quiet = time_batch(engine, queries)["p50"]
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        time.sleep(0.5)  # the spinner is running before the first question
        busy = time_batch(engine, queries)["p50"]
    finally:
        spinner.kill()
        spinner.wait()
    quiet = min(quiet, time_batch(engine, queries)["p50"])
    return {"quiet_p50": quiet, "busy_p50": busy, "ratio": busy / quiet}
