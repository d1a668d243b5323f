"""`healthfaq search` for support staff: the same answers as the page, care advice and did-you-mean included."""

import json

from service.cli import main


def run(capsys, *argv):
    status = main(["search", *argv])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_care_advice_is_printed_first_with_its_link(capsys, bundled_index_dir):
    status, out, _ = run(capsys, "blood in semen", "--index", str(bundled_index_dir))
    assert status == 0
    assert out.startswith("SEE A DOCTOR — Semen leakage from penis › When to see a doctor\n")
    assert "consult your doctor" in out
    assert "http://127.0.0.1:8000/articles/semen-leakage#when-to-see-a-doctor" in out
    assert out.index("SEE A DOCTOR") < out.index("1. ")


def test_a_typo_prints_did_you_mean_before_the_answers(capsys, bundled_index_dir):
    status, out, _ = run(capsys, "sialadenitus", "--index", str(bundled_index_dir), "--base-url", "https://faq.example")
    assert status == 0
    assert "Did you mean: sialadenitis" in out
    assert out.index("Did you mean") < out.index("1. Submandibular gland swollen and painful › Summary")
    assert "https://faq.example/articles/submandibular-gland-swollen-and-painful#summary" in out


def test_json_output_is_the_api_shape(capsys, bundled_index_dir):
    status, out, _ = run(capsys, "sialadenitus", "--index", str(bundled_index_dir), "--json")
    body = json.loads(out)
    assert status == 0
    assert body["did_you_mean"] == "sialadenitis"
    assert set(body) == {"query", "total", "results", "took_ms", "did_you_mean", "urgent", "care_advice", "related"}
    assert body["results"][0]["answer"]["text"] in body["results"][0]["text"]


def test_nothing_found_says_so(capsys, bundled_index_dir):
    status, out, _ = run(capsys, "car insurance quote", "--index", str(bundled_index_dir))
    assert status == 0 and out.startswith("No passage answers that question.\n\nTopics:\n")
    assert "- Semen leakage from penis\n  http://127.0.0.1:8000/articles/semen-leakage\n" in out  # every article


def test_links_start_with_the_public_url_setting(capsys, bundled_index_dir, monkeypatch):
    monkeypatch.setenv("HEALTHFAQ_PUBLIC_URL", "https://faq.example.org/")
    status, out, _ = run(capsys, "blood in semen", "--index", str(bundled_index_dir))
    assert status == 0
    assert "  https://faq.example.org/articles/semen-leakage#when-to-see-a-doctor\n" in out
    assert "127.0.0.1" not in out
    status, out, _ = run(capsys, "blood in semen", "--index", str(bundled_index_dir), "--json")
    body = json.loads(out)
    assert body["care_advice"][0]["url"] == "https://faq.example.org/articles/semen-leakage#when-to-see-a-doctor"
    assert body["care_advice"][0]["article"]["url"] is None  # the publisher's page stays unknown


def test_base_url_flag_wins_over_the_setting(capsys, bundled_index_dir, monkeypatch):
    monkeypatch.setenv("HEALTHFAQ_PUBLIC_URL", "https://faq.example.org")
    status, out, _ = run(capsys, "sialadenitus", "--index", str(bundled_index_dir), "--base-url", "https://b.example")
    assert status == 0
    assert "https://b.example/articles/submandibular-gland-swollen-and-painful#summary" in out
    assert "faq.example.org" not in out


def test_a_public_url_that_is_not_a_web_address_is_a_clear_error(capsys, bundled_index_dir):
    status, out, err = run(capsys, "kegel", "--index", str(bundled_index_dir), "--base-url", "faq.example.org")
    assert status == 2 and out == ""
    assert err.startswith("error: HEALTHFAQ_PUBLIC_URL must be an http(s) address")
