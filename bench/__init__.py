"""The speed benchmark: our search beside bm25s and tantivy, in-process and over HTTP.

Run from the checkout: `python -m bench --help`. The load generator runs as its own process
(`python -m bench.loadgen`), and `bench.server` starts a real server on a free loopback port for
the benchmark, the tests and scripts/soak.py alike.
"""

from pathlib import Path

# The checkout: servers and builds run from here, and profiles name files relative to it.
ROOT = Path(__file__).resolve().parent.parent
