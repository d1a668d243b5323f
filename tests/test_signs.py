"""The shared core of emergency notices and care advice (signs.py): reading a question once,
meeting a sign by words or by meaning, the trained probe, typo repair, and the editors' commands."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from service.build.probe import train_probe
from service.safety.clauses import clauses, denies
from service.safety.rulecheck import HOLDOUT, TUNE, read_labelled, split_of
from service.safety.signs import BY_MEANING, BY_WORDS, Contrast, Policy, Probe, Reading, Sign, SignMatcher, TypoFixer
from tests.conftest import ROOT

POLICY = Policy(name="test", happening=True, floor=0.5, margin=0.0, probability=0.0, sure=0.0)
SIGN = Sign(
    id="choking",
    phrases=("choking on food",),
    triggers=(("choke", "food"),),
    examples=("a piece of meat is stuck in my throat and I cannot breathe",),
)


def test_a_long_message_is_embedded_in_one_batched_run_shared_by_every_check():
    calls = []

    def embed_many(texts):
        calls.append(list(texts))
        return np.eye(len(texts), 4, dtype=np.float32)

    reading = Reading(
        "I read about leakage. Also my dad is choking on food now. Is it normal?",
        np.ones(4, dtype=np.float32) / 2,
        embed_many,
    )
    first = reading.vectors([1])
    second = reading.vectors([0, 2])
    assert len(calls) == 1 and len(calls[0]) == 3 and first.shape == (1, 4) and second.shape == (2, 4)


def test_a_one_clause_question_uses_its_own_vector():
    vector = np.ones(4, dtype=np.float32) / 2
    reading = Reading("my dad is choking", vector, lambda texts: pytest.fail("no second model run"))
    assert np.array_equal(reading.vectors([0])[0], vector)


def test_words_need_every_trigger_word_in_one_clause_and_no_negation():
    matcher = SignMatcher([SIGN], POLICY)
    assert [f.basis for f in matcher.findings(Reading("he is choking on his food"))] == [BY_WORDS]
    assert matcher.findings(Reading("he is choking. Food was fine")) == []  # two clauses
    assert matcher.findings(Reading("no choking or food allergies")) == []  # denied, across a list
    assert matcher.findings(Reading("he choked on food as a kid")) == []  # the past


def test_a_meaning_match_must_beat_the_nearest_ordinary_question(encoder):
    examples = np.stack([encoder.embed_query(SIGN.examples[0])])
    ordinary = ["what should I do if my child is choking"]
    contrast = Contrast(tuple(ordinary), np.stack([encoder.embed_query(ordinary[0])]))
    matcher = SignMatcher([SIGN], POLICY, examples, contrast)

    def read(q):
        return Reading(q, encoder.embed_query(q), encoder.embed_questions)

    found = matcher.findings(read("there's a chunk of steak lodged in my throat, I can't get air in"))
    assert [(f.sign.id, f.basis) for f in found] == [("choking", BY_MEANING)]
    assert found[0].similarity >= found[0].ordinary_similarity
    assert matcher.findings(read("what should I do if my toddler is choking")) == []


def test_the_probe_is_trained_deterministically_and_separates_its_classes():
    rng = np.random.default_rng(7)
    centres = np.eye(3, 8, dtype=np.float32)

    def cloud(centre, n):
        points = centre + 0.1 * rng.standard_normal((n, 8)).astype(np.float32)
        return points / np.linalg.norm(points, axis=1, keepdims=True)

    examples = np.concatenate([cloud(centres[0], 20), cloud(centres[1], 20)])
    owner = np.repeat([0, 1], 20)
    ordinary = cloud(centres[2], 200)
    weights = train_probe(examples, owner, 2, ordinary)
    assert np.array_equal(weights, train_probe(examples, owner, 2, ordinary))
    probe = Probe(weights)
    assert weights.shape == (9, 3)
    assert probe.probabilities(centres[:1])[0].argmax() == 0 and probe.probabilities(centres[:1])[0, 0] > 0.9
    assert probe.probabilities(centres[2:3])[0].max() < 0.1


def test_typos_are_put_right_against_the_checks_own_words_only():
    fix = TypoFixer(
        ["my husband collapsed and is not breathing", "a seizure that will not stop"], frozenset({"white", "while"})
    )
    assert fix("he colapsed, siezure") == "he collapsed, seizure"
    assert fix("white mins") == "white mins"  # dictionary words and short words stay as typed
    assert TypoFixer(["my lips cracked"], frozenset())("a prawn cracker") == "a prawn cracker"  # no substitutions


@pytest.mark.parametrize(
    "text, denied",
    [
        ("no chest pain", True),
        ("my pee smells totally normal", True),
        ("no reason to live anymore", False),
        ("never had a headache this bad", False),
        ("i do not want to be here anymore", False),
        ("discharge that doesn't look like healthy semen", False),
        ("it doesn't look normal", False),
        ("semen looks fine", True),
    ],
)
def test_denials_and_what_only_looks_like_one(text, denied):
    assert denies(clauses(text)[0]) is denied


def test_a_clinicians_question_about_a_patient_tells_of_no_emergency_beside_the_asker():
    assert not clauses("Patient with crushing chest pain, how far to work up?")[0].counts


def test_the_split_is_fixed_by_the_qid_and_halves_the_sets():
    questions = read_labelled(ROOT / "tests" / "data" / "safety" / "urgent.jsonl")
    halves = [split_of(q["qid"]) for q in questions]
    assert 0.4 < halves.count(TUNE) / len(halves) < 0.6 and set(halves) == {TUNE, HOLDOUT}


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "service", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_explain_says_which_rule_fired_from_which_clause_and_why_others_did_not(bundled_index_dir):
    done = run_cli(
        "explain",
        "I read your page on wet dreams. My dad collapsed and he is not breathing",
        "--index",
        str(bundled_index_dir),
    )
    assert done.returncode == 0, done.stderr
    assert "emergency notice: unresponsive (by words)" in done.stdout
    assert "FIRED unresponsive: by words, trigger 'not breathing' in clause 'My dad collapsed" in done.stdout
    calm = run_cli("explain", "my throat is sore and scratchy", "--index", str(bundled_index_dir))
    assert calm.returncode == 0 and "emergency notice: none" in calm.stdout
    assert "nothing fired" in calm.stdout and "near:" in calm.stdout and "refused:" in calm.stdout
    assert run_cli("explain", "  ", "--index", str(bundled_index_dir)).returncode == 2


def test_check_rules_scores_an_edited_rules_file_before_it_is_published(tmp_path, bundled_index_dir):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(q)
            for q in [
                {
                    "qid": "a",
                    "query": "my husband is clutching his chest and sweating, crushing pain",
                    "urgent": "heart-attack",
                },
                {"qid": "b", "query": "how do I get rid of dandruff", "urgent": None},
                {"qid": "c", "query": "there is blood in my semen", "care": True},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    done = run_cli("check-rules", "--questions", str(questions), "--index", str(bundled_index_dir))
    assert done.returncode == 0, done.stderr
    assert "recall (a notice shown)        1.000" in done.stdout and "false alarms                   0" in done.stdout
    rules = tmp_path / "urgent.yaml"
    rules.write_text(
        """- id: dandruff-alarm
  title: Test
  source: "A test"
  message: Not real.
  triggers: [rid of dandruff]
  examples: [my scalp is flaking]
""",
        encoding="utf-8",
    )
    edited = run_cli(
        "check-rules", "--rules", str(rules), "--questions", str(questions), "--index", str(bundled_index_dir)
    )
    assert edited.returncode == 0, edited.stderr
    assert "false alarms                   1" in edited.stdout and "[dandruff-alarm, by words]" in edited.stdout
    rules.write_text("- id: Bad Id\n", encoding="utf-8")
    broken = run_cli(
        "check-rules", "--rules", str(rules), "--questions", str(questions), "--index", str(bundled_index_dir)
    )
    assert broken.returncode == 1 and "urgent.yaml:1:" in broken.stderr and "Traceback" not in broken.stderr
    questions.write_text("not json\n", encoding="utf-8")
    bad = run_cli("check-rules", "--questions", str(questions), "--index", str(bundled_index_dir))
    assert bad.returncode == 1 and "q.jsonl:1: not JSON" in bad.stderr
