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
    status, out, _ = run(capsys, "sialadenitus", "--index", str(bundled_index_dir),
                         "--base-url", "https://faq.example")
    assert status == 0
    assert "Did you mean: sialadenitis" in out
    assert out.index("Did you mean") < out.index("1. Submandibular gland swollen and painful › Summary")
    assert "https://faq.example/articles/submandibular-gland-swollen-and-painful#summary" in out


def test_json_output_is_the_api_shape(capsys, bundled_index_dir):
    status, out, _ = run(capsys, "sialadenitus", "--index", str(bundled_index_dir), "--json")
    body = json.loads(out)
    assert status == 0
    assert body["did_you_mean"] == "sialadenitis"
    assert set(body) == {"query", "total", "results", "took_ms", "did_you_mean", "care_advice"}


def test_nothing_found_says_so(capsys, bundled_index_dir):
    status, out, _ = run(capsys, "car insurance quote", "--index", str(bundled_index_dir))
    assert status == 0 and out.strip() == "No passage answers that question."
