"""End to end against a real uvicorn on a free loopback port."""

import httpx
import pytest

from service.build.indexer import build_index
from service.index.version import current_version, list_versions
from tests.conftest import CORPUS, wait_until

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'


def test_real_server_answers_and_survives_a_rebuild(live_server, tmp_path):
    url = live_server.url
    first = httpx.get(url + "/search", params={"q": "prostate cancer symptoms"}, timeout=10)
    assert first.status_code == 200, live_server.output()
    hit = first.json()["results"][0]
    assert "prostate" in hit["text"].lower()
    page = httpx.get(url + hit["url"].split("#")[0], timeout=10)
    assert f'id="{hit["url"].split("#")[1]}"' in page.text

    index_dir = tmp_path / "index"
    before = current_version(index_dir)
    build_index(CORPUS, index_dir)
    after = current_version(index_dir)
    assert after != before and len(list_versions(index_dir)) >= 2
    statuses = []

    def switched() -> bool:
        """One search (its status kept: requests keep succeeding while the service switches),
        then whether the new version is served."""
        statuses.append(httpx.get(url + "/search", params={"q": "kegel"}, timeout=10).status_code)
        return httpx.get(url + "/healthz", timeout=10).json().get("version") == after

    wait_until(
        switched, timeout=30, interval=0.01, what="the server to serve the rebuilt version", detail=live_server.output
    )
    assert set(statuses) == {200}, statuses
