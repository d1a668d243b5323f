"""Content gaps: opt-in, normalised, aggregated zero-result questions and `healthfaq gaps`."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from service.web.app import create_app
from service.web.gaps import GapsLog, normalise_question, top_gaps
from tests.conftest import ROOT, make_settings, start_server, stop_server


def test_questions_are_normalised_and_personal_details_dropped():
    assert normalise_question("  Why does my 3yo have ZEBRA\tstripes?? ") == "why does my #yo have zebra stripes"
    assert normalise_question("email me at jo.doe@example.org, born 1984") == "email me at <email> born #"
    assert normalise_question("a\x00b\u202ec") == "a b c"
    assert normalise_question("?!  ") == ""
    assert len(normalise_question("word " * 500)) <= 200


def test_the_log_aggregates_by_frequency_and_skips_broken_lines(tmp_path):
    log = GapsLog(tmp_path / "gaps.jsonl")
    for question in ["Zebra stripes?", "zebra   stripes", "quantum homework", "Zebra stripes!", "?"]:
        log.record(question)
    with open(tmp_path / "gaps.jsonl", "ab") as handle:
        handle.write(b'{"q": "cut sho')  # a line a crash cut short
    assert top_gaps(tmp_path / "gaps.jsonl") == [("zebra stripes", 3), ("quantum homework", 1)]
    assert top_gaps(tmp_path / "gaps.jsonl", n=1) == [("zebra stripes", 3)]


def test_the_log_stops_at_its_size_cap(tmp_path):
    log = GapsLog(tmp_path / "gaps.jsonl", max_bytes=200)
    recorded = [log.record(f"question number {'x' * n}") for n in range(20)]
    assert recorded[0] and not recorded[-1]
    assert (tmp_path / "gaps.jsonl").stat().st_size <= 200


def test_off_by_default(bundled_index_dir):
    assert create_app(make_settings(bundled_index_dir)).state.gaps is None


def _gaps_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service", "gaps", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


@pytest.mark.slow
def test_a_real_server_records_gaps_and_the_command_lists_them(tmp_path, bundled_index_dir):
    gaps_file = tmp_path / "gaps" / "gaps.jsonl"
    server = start_server(bundled_index_dir, tmp_path, env={"HEALTHFAQ_GAPS_FILE": str(gaps_file)})
    try:
        for q, prefix in [
            ("Why does my 3yo have zebra stripes?", "false"),
            ("why does my 7yo have zebra stripes", "false"),
            ("quantum chromodynamics homework", "false"),
            ("kegel", "false"),
            ("zebr", "true"),
        ]:
            response = httpx.get(server.url + "/search", params={"q": q, "prefix": prefix}, timeout=10)
            assert response.status_code == 200, server.output()
    finally:
        stop_server(server)
    listed = _gaps_cli("--file", str(gaps_file), "--top", "5")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["2  why does my #yo have zebra stripes", "1  quantum chromodynamics homework"]
    as_json = _gaps_cli("--json", env={"PATH": "/usr/bin:/bin", "HEALTHFAQ_GAPS_FILE": str(gaps_file)})
    assert json.loads(as_json.stdout)[0] == {"question": "why does my #yo have zebra stripes", "count": 2}


def test_the_command_explains_the_opt_in_when_no_log_is_configured():
    result = _gaps_cli(env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "HEALTHFAQ_GAPS_FILE" in result.stderr and "Traceback" not in result.stderr
