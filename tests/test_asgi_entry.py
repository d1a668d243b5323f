"""The documented ASGI entry point, run exactly as the README shows it, on a real port.

Deployments run the service under their own ASGI server (uvicorn, gunicorn's uvicorn worker,
hypercorn) by naming ``service.app:app``; the move of the app into service/web/ once broke that
name without a sound. This test reads the uvicorn command from README.md and runs it.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, wait_until

pytestmark = pytest.mark.slow  # a real server


def _documented_command() -> tuple[dict[str, str], list[str]]:
    """The README's ``uvicorn service.app:app`` line as (environment, argv)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(m.group(0) for m in re.finditer(r"^\S+=\S+ uvicorn service\.app:app .*$", readme, re.M))
    words = shlex.split(line)
    env = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
    return env, [w for w in words if not re.match(r"^[A-Z_]+=", w)]


def _ready(url: str, process: subprocess.Popen) -> bool:
    assert process.poll() is None, "the server exited before it was ready"
    try:
        return httpx.get(url + "/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_the_documented_uvicorn_command_serves_searches(tmp_path: Path, bundled_index_dir: Path) -> None:
    env, argv = _documented_command()
    assert argv[:2] == ["uvicorn", "service.app:app"] and env == {"HEALTHFAQ_INDEX_DIR": "index"}
    port = free_port()
    argv = [sys.executable, "-m", *argv]
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    os.symlink(bundled_index_dir, tmp_path / "index")  # the command's relative `index`
    process = subprocess.Popen(
        argv,
        cwd=tmp_path,
        env={**os.environ, **env, "HEALTHFAQ_BUILD_IF_MISSING": "false"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url, process), timeout=60, what=f"{url}/readyz answering 200")
        found = httpx.get(url + "/search", params={"q": "blood clot in my leg"}, timeout=10).json()
        assert found["results"] and found["results"][0]["article"]["slug"]
        assert httpx.get(url + "/healthz", timeout=10).json()["status"] == "ok"
        assert "<form" in httpx.get(url + "/", params={"q": "fainting"}, timeout=10).text
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[1]
    assert process.returncode == 0, output
    assert "Traceback" not in output
