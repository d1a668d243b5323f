"""The README's examples are what the server answers (on the tests' copy of the bundled articles,
which the README's examples describe; an editor changing corpus/ does not make this fail)."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT

# --- the README's examples are what the server answers -------------------------------------
# The README's JSON example is real JSON in which a string ending in " …" stands for a longer
# value that begins with the part before " …"; took_ms is whatever was measured. A failure
# prints the block to paste into the README.


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(title)
    return text[start : text.index("\n### ", start + 1)]


def _matches(shown, real, where: str = "$") -> list[str]:
    if where == "$.took_ms":
        return [] if isinstance(real, (int, float)) else [where]
    if isinstance(shown, str) and shown.endswith(" …"):
        return [] if isinstance(real, str) and real.startswith(shown[:-2]) else [where]
    if isinstance(shown, dict) and isinstance(real, dict):
        if set(shown) != set(real):
            return [f"{where} keys"]
        return [m for key in shown for m in _matches(shown[key], real[key], f"{where}.{key}")]
    if isinstance(shown, list) and isinstance(real, list):
        if len(shown) != len(real):
            return [f"{where} length"]
        return [m for n, (a, b) in enumerate(zip(shown, real)) for m in _matches(a, b, f"{where}[{n}]")]
    if isinstance(shown, float) and isinstance(real, float):
        return [] if abs(shown - real) < 1e-4 else [where]
    return [] if shown == real else [where]


def _as_readme_json(value, width: int = 60):
    """The real answer with long strings cut at a word, as the README shows it."""
    if isinstance(value, dict):
        return {k: v if k == "took_ms" else _as_readme_json(v, width) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_readme_json(v, width) for v in value]
    if isinstance(value, str) and len(value) > width:
        return value[: value.rfind(" ", 0, width)] + " …"
    return value


def test_the_readme_search_examples_are_what_the_server_answers(shared_client):
    section = _readme_section("### `GET /search`")
    url = re.search(r"curl '(http://127\.0\.0\.1:8000/search\?[^']+)'\n```\n\n```json\n(.*?)\n```", section, re.S)
    assert url, "the README's /search example (a curl line, then its JSON) is missing"
    shown = json.loads(url.group(2))
    real = shared_client.get(url.group(1).removeprefix("http://127.0.0.1:8000")).json()
    refused = re.search(r"curl -i '(http://127\.0\.0\.1:8000/search\?[^']+)' +# (\d+) (\w+)", section)
    response = shared_client.get(refused.group(1).removeprefix("http://127.0.0.1:8000"))
    assert not _matches(shown, real), (
        f"README.md's example differs at {_matches(shown, real)}; the server answers:\n"
        + json.dumps(_as_readme_json(real), ensure_ascii=False)
    )
    assert (response.status_code, response.json()["error"]["code"]) == (int(refused.group(2)), refused.group(3))
