"""A short soak (scripts/soak.py): mixed load at concurrency 32 on a real server, with a
rebuild and a SIGKILLed build during it. Zero 5xx, zero connection errors, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'


def test_short_soak_with_a_reindex_and_a_killed_build():
    result = subprocess.run(
        [sys.executable, "scripts/soak.py", "--duration", "16", "--reindex-every", "5", "--records", "300", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert result.stdout.strip(), result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)
    assert report["requests"] > 0 and report["by_status"].get("200", 0) > 0
    assert report["server_errors"] == 0 and report["connection_errors"] == {}, report
    assert report["killed_builds"] == 1 and report["rebuilds"] >= 1 and report["failed_builds"] == [], report
    assert report["final_version_served"], report
    assert report["rss_growth"] < 0.10, report
    assert result.returncode == 0
