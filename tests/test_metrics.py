"""GET /metrics: requests by route and status, latency, zero-result searches, index version and age."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.web.app import create_app
from tests.conftest import make_settings


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _requests(samples, route: str, status: str, method: str = "GET") -> float:
    key = ("healthfaq_requests_total", (("method", method), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


def test_requests_are_counted_by_route_template_and_status(client):
    client.get("/search", params={"q": "kegel exercises"})
    client.get("/articles/no-such-article")
    client.get("/no/such/path")
    client.request("BREW", "/search")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert _requests(samples, "/search", "200") == 1
    assert _requests(samples, "/articles/{slug}", "404") == 1  # the template, never the slug sent
    assert _requests(samples, "unmatched", "404") == 1
    assert _requests(samples, "/search", "405", method="other") == 1  # unknown methods share a label
    assert not any("no-such-article" in str(labels) for _, labels in samples)
    assert samples[("healthfaq_request_duration_seconds_count", (("route", "/search"),))] == 2


def test_zero_result_searches_are_counted_but_not_as_you_type_ones(client):
    def zero_results() -> float:
        return _samples(client.get("/metrics").text)[("healthfaq_zero_result_searches_total", ())]

    before = zero_results()
    assert client.get("/search", params={"q": "quantum chromodynamics homework"}).json()["total"] == 0
    assert client.get("/search", params={"q": "zebr", "prefix": "true"}).json()["total"] == 0
    assert client.get("/search", params={"q": "kegel"}).json()["total"] > 0
    assert zero_results() == before + 1


def test_index_version_and_age_match_what_is_served(shared_client):
    health = shared_client.get("/healthz").json()
    samples = _samples(shared_client.get("/metrics").text)
    info = [labels for name, labels in samples if name == "healthfaq_index_info"]
    assert info == [(("status", "ok"), ("version", health["version"]))]
    assert samples[("healthfaq_index_ready", ())] == 1
    assert samples[("healthfaq_index_passages", ())] == health["passages"]
    assert samples[("healthfaq_index_age_seconds", ())] >= 0
    assert samples[("process_resident_memory_bytes", ())] > 0


def test_each_app_has_its_own_registry(bundled_index_dir):
    first, second = create_app(make_settings(bundled_index_dir)), create_app(make_settings(bundled_index_dir))
    assert first.state.metrics.registry is not second.state.metrics.registry


@pytest.mark.slow
def test_a_real_server_serves_metrics_and_counts_its_requests(live_server):
    for _ in range(3):
        assert httpx.get(live_server.url + "/search", params={"q": "belly button pain"}, timeout=10).status_code == 200
    samples = _samples(httpx.get(live_server.url + "/metrics", timeout=10).text)
    assert _requests(samples, "/search", "200") == 3, live_server.output()
