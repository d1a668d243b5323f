"""Emergency notices: the editors' rules, detection by words and by meaning, shown first everywhere."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from service.build.corpus import CorpusError
from service.build.editorfiles import rules_text
from service.build.indexer import build_index
from service.index import version as V
from service.query.search import SearchRequest, read_question, search
from service.query.store import IndexUnavailable, open_current
from service.safety.clauses import clauses
from service.safety.rulecheck import HOLDOUT, read_labelled, score_urgent, split_of
from service.safety.signs import BY_MEANING, BY_WORDS, Reading, example_phrases, unlike_phrases
from service.safety.urgent import parse_rules, rule_signs
from tests.conftest import CORPUS, DATA, ROOT, build_argv, make_settings

# Measured on the holdout half (README "Urgent notices"); the guard leaves room for the model's
# run-to-run noise, not for a regression.
RECALL_FLOOR = 0.75  # measured 0.80 on urgent.jsonl's holdout half
ALARM_CEILING = 0.025  # measured 1.3% on the site-topic and everyday holdout halves
RULE = """- id: test-rule
  title: A test emergency
  source: "A public guidance page"
  message: Call your local emergency number now.
  triggers:
    - crushing chest pain
  examples:
    - I have a crushing pain in my chest
"""


def notice(index, q):
    return search(index, SearchRequest(q=q)).urgent


def test_the_shipped_rules_parse_and_each_names_its_source():
    text, source = rules_text(CORPUS)  # the tests' corpus has none of its own: the shipped list
    rules = parse_rules(text, source)
    assert len(rules) >= 14 and all(r.source and r.message and r.examples and r.triggers for r in rules)
    assert {"heart-attack", "stroke", "suicide-self-harm", "priapism", "clot-in-lung"} <= {r.id for r in rules}


@pytest.mark.parametrize(
    "text, line, reason",
    [
        (RULE.replace('  source: "A public guidance page"\n', ""), 1, "'source'"),
        (RULE.replace("id: test-rule", "id: Test Rule"), 1, "'id'"),
        (RULE + RULE.replace("title: A test emergency", "title: Again"), 9, "duplicate rule id"),
        (RULE.replace("  examples:\n    - I have a crushing pain in my chest\n", ""), 1, "'examples'"),
        ("- id: a\n  title: [broken\n", 3, "broken YAML"),
    ],
)
def test_a_broken_rules_file_names_its_line_and_reason(text, line, reason):
    with pytest.raises(CorpusError) as caught:
        parse_rules(text, "urgent.yaml")
    assert caught.value.line == line and reason in caught.value.reason


def test_a_corpus_rules_file_replaces_the_shipped_one_and_goes_into_the_version(tmp_path):
    corpus = tmp_path / "site"
    (corpus / "articles").mkdir(parents=True)
    for path in (CORPUS / "articles").glob("*.md"):
        (corpus / "articles" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (corpus / "urgent.yaml").write_text(RULE, encoding="utf-8")
    build_index(corpus, tmp_path / "index")
    folder = V.version_path(tmp_path / "index", V.current_version(tmp_path / "index"))
    assert (folder / V.URGENT).read_text(encoding="utf-8") == RULE
    (corpus / "urgent.yaml").write_text(RULE.replace('  source: "A public guidance page"\n', ""), encoding="utf-8")
    done = subprocess.run(
        build_argv(corpus, tmp_path / "index", "--model", "none"),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1 and "urgent.yaml:1:" in done.stderr and "'source'" in done.stderr
    assert V.current_version(tmp_path / "index") == folder.name  # the served version is untouched


def test_the_rules_phrases_are_embedded_by_the_build_and_a_damaged_file_is_never_served(tmp_path, encoder):
    build_index(CORPUS, tmp_path, encoder=encoder)
    folder = V.version_path(tmp_path, V.current_version(tmp_path))
    signs = rule_signs(parse_rules((folder / V.URGENT).read_text(encoding="utf-8"), V.URGENT))
    with np.load(folder / V.SIGN_VECTORS) as stored:
        arrays = {name: stored[name] for name in stored.files}
    examples = example_phrases(signs)
    assert arrays["urgent_examples"].shape == (len(examples), encoder.dimensions)
    assert arrays["urgent_unlike"].shape == (len(unlike_phrases(signs)), encoder.dimensions)
    assert np.allclose(arrays["urgent_examples"][3], encoder.embed_query(examples[3]), atol=1e-3)  # float16
    ordinary = (folder / V.ORDINARY).read_text(encoding="utf-8").splitlines()
    assert len(ordinary) >= 1000 and arrays["ordinary"].shape == (len(ordinary), encoder.dimensions)
    assert open_current(tmp_path, encoder).urgent.detect(Reading("crushing pain in my chest")) is not None
    arrays["urgent_examples"] = arrays["urgent_examples"][:, :10]  # vectors of another shape: not this model's
    np.savez(folder / V.SIGN_VECTORS, **arrays)
    with pytest.raises(IndexUnavailable, match="signs.npz"):
        open_current(tmp_path, encoder)


@pytest.mark.parametrize(
    "q, rule",
    [
        ("crushing pain in my chest going down my left arm", "heart-attack"),
        ("my dad's face is drooping on one side and his speech is slurred", "stroke"),
        ("I want to end my life tonight", "suicide-self-harm"),
        ("my erection has lasted five hours and it really hurts", "priapism"),
        (
            "Hi, I read your article on semen leakage and wanted to ask whether a few drops after peeing are normal. "
            "Also, since this morning my calf is swollen and sore and now I can't catch my breath.",
            "clot-in-lung",
        ),
    ],
)
def test_emergencies_get_their_notice_and_the_answers_still_follow(bundled_index, q, rule):
    results = search(bundled_index, SearchRequest(q=q))
    assert results.urgent is not None
    if "semen leakage" in q:  # a long message: an emergency buried under another question
        assert results.hits  # shown first, never instead
    else:
        assert results.urgent.id == rule


@pytest.mark.parametrize(
    "q",
    [
        "no chest pain, just heartburn after dinner",  # denied
        "what are the warning signs of a stroke",  # about a condition
        "I had a seizure when I was a teenager",  # the past
        "this traffic is killing me",  # a figure of speech
        "semen leakage after urination",  # the corpus's own topic
    ],
)
def test_no_notice_for_denials_questions_about_a_condition_the_past_or_figures_of_speech(bundled_index, q):
    assert notice(bundled_index, q) is None


ISSUE_16_EXAMPLES = [  # everyday questions that got an emergency notice before issue 16
    "my nose is blocked and i cant smell",
    "i get a nosebleed when it's hot",
    "my throat is sore and scratchy",
    "tingling in my fingers in the morning",
    "pain in my side when I laugh",
    "sore jaw when yawning",
    "can i take paracetamol for a headache",
]


@pytest.mark.parametrize("q", ISSUE_16_EXAMPLES)
def test_everyday_questions_get_no_notice(bundled_index, q):
    assert notice(bundled_index, q) is None


def test_the_holdout_half_stays_at_its_measured_level(bundled_index):
    """A regression guard on the untouched half of the urgent and site-topic sets (README has the
    figures from `healthfaq check-rules --split holdout`)."""
    questions = [
        q
        for name in ("urgent.jsonl", "benign_site.jsonl", "benign_everyday.jsonl")
        for q in read_labelled(DATA / "safety" / name)
        if split_of(q["qid"]) == HOLDOUT
    ]
    score = score_urgent(
        questions,
        lambda q: bundled_index.urgent.finding(read_question(bundled_index, q, bundled_index.semantic.embed(q))),
    )
    assert score.found / score.urgent >= RECALL_FLOOR, score.misses
    assert score.alarms / score.ordinary <= ALARM_CEILING, score.false_alarms
    assert score.right_rule / score.found >= 0.9, score.wrong


def test_a_notice_says_whether_it_was_met_by_words_or_by_meaning(bundled_index):
    finding = bundled_index.urgent.finding(
        read_question(bundled_index, "he is not breathing", bundled_index.semantic.embed("he is not breathing"))
    )
    assert (finding.sign.id, finding.basis, finding.evidence) == ("unresponsive", BY_WORDS, "not breathing")
    q = "my little boy is burning up, floppy and has a purple rash"
    finding = bundled_index.urgent.finding(read_question(bundled_index, q, bundled_index.semantic.embed(q)))
    assert (finding.sign.id, finding.basis) == ("meningitis", BY_MEANING)
    assert finding.similarity >= finding.ordinary_similarity + 0.06 and finding.probability >= 0.4


def test_without_a_model_the_triggers_still_work(lexical_index):
    assert notice(lexical_index, "I have crushing chest pain and sweating").id == "heart-attack"
    assert notice(lexical_index, "no crushing chest pain today") is None


def test_clauses_tell_denials_and_the_past():
    parts = clauses("no chest pain. But it won't stop bleeding! Had a seizure 3 years ago")
    assert [c.counts for c in parts] == [True, True, False]
    from service.safety.clauses import denies

    assert [denies(c) for c in parts] == [True, False, False]
    assert denies(clauses("I'm not suicidal, just tired")[0]) and denies(clauses("my face isn't drooping")[0])


def test_the_api_page_and_cli_show_the_notice_first(shared_client, bundled_index_dir):
    q = "semen leaking from my penis and now crushing chest pain and sweating"
    body = shared_client.get("/search", params={"q": q}).json()
    assert body["urgent"]["id"] == "heart-attack" and body["urgent"]["source"] and body["results"]
    page = shared_client.get("/", params={"q": q}).text  # server-rendered: works without JavaScript
    assert 'class="urgent" role="alert"' in page
    assert page.index('role="alert"') < page.index('<ol class="results"')
    done = subprocess.run(
        [sys.executable, "-m", "service", "search", q, "--index", str(bundled_index_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.stdout.startswith("EMERGENCY — Possible heart attack")


def test_a_notice_met_by_meaning_says_so_before_its_message(shared_client, bundled_index_dir):
    q = "ate a prawn cracker and now my tongue feels huge and my voice is going"
    urgent = shared_client.get("/search", params={"q": q}).json()["urgent"]
    assert (urgent["id"], urgent["basis"], urgent["lead"]) == ("anaphylaxis", "meaning", "If this is happening now:")
    page = shared_client.get("/", params={"q": q}).text
    assert '<strong class="urgent-lead">If this is happening now:</strong>' in page
    done = subprocess.run(
        [sys.executable, "-m", "service", "search", q, "--index", str(bundled_index_dir)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "  If this is happening now: " in done.stdout
    words = shared_client.get("/search", params={"q": "crushing chest pain and sweating"}).json()["urgent"]
    assert (words["basis"], words["lead"]) == ("words", None)


def test_metrics_count_notices_by_rule_and_gaps_never_keep_them(tmp_path, bundled_index_dir):
    from starlette.testclient import TestClient

    from service.web.app import create_app

    gaps = tmp_path / "gaps.jsonl"
    with TestClient(create_app(make_settings(bundled_index_dir, gaps_file=gaps))) as client:
        client.get("/search", params={"q": "i swallowed a whole bottle of bleach zzqqx"})
        client.get("/search", params={"q": "zzqqx wwppq"})  # an ordinary zero-result question
        metrics = client.get("/metrics").text
    assert 'healthfaq_urgent_notices_total{rule="poisoning-overdose"} 1.0' in metrics
    assert "bleach" not in metrics
    kept = gaps.read_text(encoding="utf-8") if gaps.exists() else ""
    assert "bleach" not in kept and "zzqqx wwppq" in kept
