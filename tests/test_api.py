"""The JSON API through Starlette's TestClient, lifespan included."""

import pytest


def test_search_returns_the_documented_shape(shared_client):
    body = shared_client.get("/search", params={"q": "wet dreams", "limit": 3}).json()
    assert set(body) == {"query", "total", "results", "took_ms", "did_you_mean", "urgent", "care_advice", "related"}
    assert body["query"] == "wet dreams" and body["total"] >= 1
    hit = body["results"][0]
    assert set(hit) == {"id", "article", "section", "text", "snippet", "score", "url", "answer"}
    assert set(hit["article"]) == {"slug", "title", "url"}
    assert hit["url"] == f"/articles/{hit['article']['slug']}#during-sleep"
    assert "Nocturnal ejaculation" in hit["text"]


def test_section_links_land_on_real_text(shared_client):
    hit = shared_client.get("/search", params={"q": "multiple sclerosis"}).json()["results"][0]
    path, anchor = hit["url"].split("#")
    page = shared_client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'id="{anchor}"' in page.text
    assert "multiple sclerosis" in page.text


@pytest.mark.parametrize(
    "params, status, code",
    [
        ({}, 400, "missing_query"),
        ({"q": "   "}, 400, "missing_query"),
        ({"q": "x" * 2001}, 400, "query_too_long"),
        ({"q": "semen", "limit": "0"}, 400, "invalid_parameter"),
        ({"q": "semen", "limit": "51"}, 400, "invalid_parameter"),
        ({"q": "semen", "limit": "ten"}, 400, "invalid_parameter"),
        ({"q": "semen", "offset": "-1"}, 400, "invalid_parameter"),
        ({"q": "semen", "offset": "499", "limit": "2"}, 400, "invalid_parameter"),
        ({"q": "semen", "offset": "1e3"}, 400, "invalid_parameter"),
        ({"q": "semen", "prefix": "maybe"}, 400, "invalid_parameter"),
        ({"q": "semen", "article": "no-such-article"}, 404, "unknown_article"),
    ],
)
def test_bad_parameters_get_a_clear_json_error(shared_client, params, status, code):
    response = shared_client.get("/search", params=params)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert error["request_id"] == response.headers["x-request-id"]


def test_2000_characters_is_still_accepted(shared_client):
    assert shared_client.get("/search", params={"q": "semen " * 333 + "ab"}).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_json(shared_client, method):
    response = shared_client.request(method, "/search?q=semen")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_unknown_path_and_article_are_404_json(shared_client):
    assert shared_client.get("/nope").json()["error"]["code"] == "not_found"
    response = shared_client.get("/articles/nope")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_article"


def test_healthz_and_readyz(shared_client):
    health = shared_client.get("/healthz").json()
    assert health["status"] == "ok" and health["passages"] > 10
    assert shared_client.get("/readyz").status_code == 200


def test_openapi_documents_the_endpoints(shared_client):
    doc = shared_client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ["/search", "/articles/{slug}", "/healthz"]:
        assert path in doc["paths"]
    names = {p["name"] for p in doc["paths"]["/search"]["get"]["parameters"]}
    assert {"q", "limit", "offset", "article", "prefix"} <= names


def test_openapi_requires_every_field_the_search_answer_has(shared_client):
    """Every field of an answer is documented and required (a nullable one as null), so a client
    can rely on its presence; the body of a real answer has exactly those fields."""
    doc = shared_client.get("/openapi.json").json()
    schema = doc["paths"]["/search"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    body = shared_client.get("/search", params={"q": "wet dreams"}).json()
    assert set(schema["required"]) == set(schema["properties"]) == set(body)
    result = schema["properties"]["results"]["items"]
    assert set(result["required"]) == set(result["properties"]) == set(body["results"][0])
    assert result["properties"]["answer"]["type"] == ["object", "null"]
    assert set(result["properties"]["answer"]["required"]) == {"start", "end", "text"}
    related = schema["properties"]["related"]
    assert related["type"] == "array" and related["maxItems"] == 3
    assert set(related["items"]["required"]) == {"slug", "title", "url", "score"}


def test_security_headers_on_every_response(shared_client):
    for path in ["/", "/search?q=semen", "/nope"]:
        headers = shared_client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]


def test_public_url_makes_links_to_our_own_pages_absolute(bundled_index_dir, tmp_path):
    from starlette.testclient import TestClient

    from service.build.indexer import build_index
    from service.web.app import create_app
    from tests.conftest import DATA, make_settings

    settings = make_settings(bundled_index_dir, public_url="https://faq.example.org")
    with TestClient(create_app(settings)) as client:
        body = client.get("/search", params={"q": "blood in semen"}).json()
    assert body["results"][0]["url"].startswith("https://faq.example.org/articles/semen-leakage#")
    assert body["care_advice"][0]["url"] == "https://faq.example.org/articles/semen-leakage#when-to-see-a-doctor"
    assert body["results"][0]["article"]["url"] is None
    # An article with a publisher page keeps the publisher's link.
    build_index(DATA / "medquad_sample.jsonl", tmp_path / "mq")
    with TestClient(create_app(make_settings(tmp_path / "mq", public_url="https://faq.example.org"))) as client:
        hit = client.get("/search", params={"q": "cancer"}).json()["results"][0]
    assert hit["url"].startswith(hit["article"]["url"] + "#") and "faq.example.org" not in hit["url"]


# --- the OpenAPI document says what the server does ---------------------------------------


def test_every_operation_documents_head_405_and_its_headers(shared_client):
    doc = shared_client.get("/openapi.json").json()
    assert set(doc["components"]["headers"]) == {"X-Request-ID", "Retry-After"}
    for path, item in doc["paths"].items():
        assert set(item) == {"get", "head"}, path
        assert item["head"]["parameters"] == item["get"].get("parameters", [])
        for method, operation in item.items():
            responses = operation["responses"]
            assert "405" in responses and set(responses) == set(item["get"]["responses"]), (path, method)
            for status, response in responses.items():
                assert response["headers"]["X-Request-ID"] == {"$ref": "#/components/headers/X-Request-ID"}
                assert ("Retry-After" in response["headers"]) == (status in ("429", "503")), (path, status)
                assert ("content" in response) == (method == "get"), (path, method, status)


def test_head_and_other_methods_behave_as_documented(shared_client):
    head = shared_client.head("/search", params={"q": "kegel"})
    get = shared_client.get("/search", params={"q": "kegel"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"] and head.headers["x-request-id"]
    refused = shared_client.post("/search", params={"q": "kegel"})
    assert refused.status_code == 405 and set(refused.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert refused.json()["error"]["request_id"] == refused.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/search", "/suggest"])
@pytest.mark.parametrize("q", [" ", "\t\n", "\u3000", "\u00a0\u2003", "a", "  a  ", "?", "\u00e9"])
def test_the_q_pattern_accepts_exactly_what_the_server_accepts(shared_client, path, q):
    import re

    doc = shared_client.get("/openapi.json").json()
    schema = next(p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == "q")["schema"]
    accepted = shared_client.get(path, params={"q": q}).status_code == 200
    assert accepted == (re.search(schema["pattern"], q) is not None)
    assert accepted == (len(q) >= schema["minLength"] and bool(q.strip()))


def test_documented_leniency_is_what_the_server_does(shared_client):
    doc = shared_client.get("/openapi.json").json()
    params = {p["name"]: p["description"] for p in doc["paths"]["/search"]["get"]["parameters"]}
    assert "last value" in doc["info"]["description"] and "empty value" in doc["info"]["description"]
    assert "yes/no" in params["prefix"] and "leading zeros" in params["limit"]

    def search(query: str) -> dict:
        response = shared_client.get("/search?" + query)
        assert response.status_code == 200, response.text
        return response.json()

    assert len(search("q=semen&limit=05")["results"]) == len(search("q=semen&limit=%203%20")["results"]) + 2 == 5
    assert search("q=semen&limit=")["results"] == search("q=semen")["results"]  # empty = absent
    strict, lenient = search("q=bel&prefix=true"), search("q=bel&prefix=YES")
    assert strict["results"] == lenient["results"] and strict["total"] > 0
    assert search("q=bel&prefix=On")["total"] == strict["total"] != search("q=bel&prefix=0")["total"]
    assert search("q=kegel&q=semen")["query"] == "semen"  # the last value counts
    assert shared_client.get("/search?q=semen&prefix=maybe").status_code == 400
