"""A plain (non-editable) install, used outside the checkout, carries everything a build needs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow  # a fresh virtual environment and a pip install


def test_a_wheel_installed_outside_the_checkout_builds_with_the_default_synonyms(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # --no-compile: the same files installed, without writing .pyc for every dependency (seconds).
    install = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-compile",
            "-c",
            str(ROOT / "constraints.txt"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    site = tmp_path / "site"
    shutil.copytree(CORPUS / "articles", site / "articles")  # a corpus folder with no synonyms of its own

    def healthfaq(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(venv / "bin" / "healthfaq"), *args], capture_output=True, text=True, cwd=tmp_path, timeout=300
        )

    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import service; print(service.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert str(venv) in where and str(ROOT) not in where  # the installed copy, not the checkout
    built = healthfaq("build", "--corpus", str(site), "--index", str(tmp_path / "index"))
    assert built.returncode == 0, built.stderr
    # "navel" is in no article: only the default synonym rules lead it to "umbilicus".
    found = healthfaq("search", "navel", "--index", str(tmp_path / "index"), "--json")
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert results and "umbilicus" in results[0]["text"]
