"""The two rooms: the server never loads the build.

Build and serve meet only at the index version on disk. A module of service/build/ (or a library
only the build needs: scipy is gone, tqdm draws the build's progress bar, onnx writes the scan
graph) showing up in a serving process would mean the seam leaks. Each check runs in a fresh
interpreter, since this test process has imported the build for its fixtures.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

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


ROOMS_BELOW = {  # a room may import from itself and from the rooms listed; never upwards
    "index": set(),
    "safety": {"index", "query"},
    "query": {"index", "safety"},
    "web": {"index", "query", "safety", "settings"},
}


def test_each_room_imports_only_the_rooms_below_it() -> None:
    """Read statically: index/ is the shared ground; query/ and safety/ never reach into web/ (HTTP
    errors, parameters) or build/; only web/, the CLI and the entry point know about HTTP."""
    found = []
    for room, allowed in ROOMS_BELOW.items():
        for path in sorted((ROOT / "service" / room).glob("*.py")):
            for other in re.findall(r"^\s*from service\.([a-z]+)", path.read_text(encoding="utf-8"), re.M):
                if other != room and other not in allowed:
                    found.append(f"{path.relative_to(ROOT)} imports service.{other}")
    assert found == []
