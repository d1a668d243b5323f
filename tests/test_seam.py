"""The two rooms: the server never loads the build.

Build and serve meet only at the index version on disk. A module of service/build/ (or a library
only the build needs: scipy is gone, tqdm draws the build's progress bar, onnx writes the scan
graph) showing up in a serving process would mean the seam leaks. Each check runs in a fresh
interpreter, since this test process has imported the build for its fixtures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BUILD_ONLY = ("service.build", "scipy", "tqdm", "onnx")

SERVE_AND_SEARCH = """
import json, sys
from pathlib import Path
from starlette.testclient import TestClient
from service.app import app, create_app
from service.settings import Settings

settings = Settings(index_dir=Path(sys.argv[1]), build_if_missing=False)
with TestClient(create_app(settings)) as client:
    found = client.get("/search", params={"q": "blood clot in the leg"}).json()
    client.get("/", params={"q": "fainting"})
    client.get("/suggest", params={"q": "bloo"})
print(json.dumps({"results": len(found["results"]), "modules": sorted(sys.modules)}))
"""


def _build_only(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == b or m.startswith(b + ".") for b in BUILD_ONLY)]


def test_serving_a_version_loads_no_build_module(bundled_index_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_SEARCH, str(bundled_index_dir)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["results"] > 0  # it really searched, model and all
    assert "onnxruntime" in report["modules"] and "service.query.search" in report["modules"]
    assert _build_only(report["modules"]) == []


def test_importing_the_entry_point_reads_nothing_and_loads_no_build_module() -> None:
    code = "import json, sys; import service.app, service.cli; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "", "HEALTHFAQ_PORT": "not a port"},
    )
    assert done.returncode == 0, done.stderr  # a bad setting is not read at import
    assert _build_only(json.loads(done.stdout)) == []


def test_the_check_above_would_see_a_leak() -> None:
    assert _build_only(["service.build.indexer", "scipy.sparse", "tqdm", "onnx.helper", "onnxruntime"]) == [
        "service.build.indexer",
        "scipy.sparse",
        "tqdm",
        "onnx.helper",
    ]
