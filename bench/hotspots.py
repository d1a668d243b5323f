"""Where our search spends its time: cProfile over the first queries of each mix (--profile).

Two lists per mix: our own functions (service/) by cumulative time, which says which step is
slow, and every function by its own time, which says what inside it is.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from collections.abc import Sequence
from pathlib import Path

from bench import ROOT
from bench.engines import Ours
from bench.latency import K
from bench.mixes import Query

_HEADER = f"{'tottime ms/q':>12} {'cumtime ms/q':>12} {'calls/q':>8}  function (service/ first by cumtime)\n"


def profile_ours(engine: Ours, mixes: dict[str, list[Query]], n: int, top: int) -> str:
    """The profile as text, ``top`` rows per list, figures per query."""
    out = io.StringIO()
    for mix in ("faq", "long", "box"):
        queries = mixes[mix][:n]
        stats = _profile(engine, queries)
        rows = [
            (tt, ct, nc, f"{_short(file)}:{line}({func})")
            for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items()
        ]
        out.write(
            f"\n### profile: ours, {len(queries)} {mix} queries, "
            f"{stats.total_tt / len(queries) * 1000:.2f} ms/query under cProfile\n"
        )
        out.write(_HEADER)
        ours = sorted((r for r in rows if r[3].startswith("service/")), key=lambda r: -r[1])[:top]
        _write_rows(out, ours, len(queries))
        out.write(f"{'':>12} {'':>12} {'':>8}  -- top by own time --\n")
        _write_rows(out, sorted(rows, key=lambda r: -r[0])[:top], len(queries))
    return out.getvalue()


def _profile(engine: Ours, queries: Sequence[Query]) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    for q in queries:
        engine.slugs(q, K)
    profiler.disable()
    return pstats.Stats(profiler)


def _write_rows(out: io.StringIO, rows: list[tuple], n: int) -> None:
    for tt, ct, nc, name in rows:
        out.write(f"{tt / n * 1000:12.3f} {ct / n * 1000:12.3f} {nc / n:8.1f}  {name}\n")


def _short(file: str) -> str:
    """A file as the reader knows it: relative to the checkout, or to site-packages."""
    path = Path(file)
    try:
        return str(path.resolve().relative_to(ROOT))
    except (ValueError, OSError):
        pass
    parts = path.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :])
    return file if file.startswith("<") or file == "~" else "/".join(parts[-2:])
