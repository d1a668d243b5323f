"""Synonym rules are checked at build, like articles: a malformed rule stops the build with
``file:line: reason`` instead of being dropped without a word."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from service.index.errors import CorpusError
from service.index.version import current_version
from service.query.synonyms import check_synonyms, parse_synonyms
from tests.conftest import CORPUS, ROOT, build_argv

GOOD = "# comment\n\nsperm, semen, ejaculate\nwet dream => wet dream, nocturnal emission  # trailing note\n"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("a => b => c", "at most one '=>'"),
        ("sperm,, semen", "an empty phrase"),
        ("=> semen", "an empty phrase"),
        ("sperm, semen,", "an empty phrase"),
        ("sperm, the", "'the' has no searchable words"),
        ("sperm semen ejaculate", "at least two phrases"),
    ],
)
def test_a_malformed_rule_names_its_file_and_line(line: str, reason: str) -> None:
    with pytest.raises(CorpusError) as raised:
        check_synonyms(GOOD + line + "\n", "corpus/synonyms.txt")
    assert (raised.value.path, raised.value.line) == ("corpus/synonyms.txt", 5)
    assert reason in raised.value.reason


def test_good_rules_pass_and_mean_what_they_say() -> None:
    check_synonyms(GOOD, "synonyms.txt")
    mapping = parse_synonyms(GOOD)
    assert ("semen",) in mapping.alternatives(("sperm",))
    assert mapping.alternatives(("nocturn", "emiss")) == []  # one way only


def test_the_shipped_rules_pass() -> None:
    shipped = ROOT / "service" / "data" / "synonyms.txt"
    check_synonyms(shipped.read_text(encoding="utf-8"), str(shipped))


def _build(corpus: Path, index: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        build_argv(corpus, index, "--model", "none", *extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_bad_rule_stops_the_build_and_leaves_the_index_alone(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "synonyms.txt").write_text("belly button, navel\nbelly button,, umbilicus\n", encoding="utf-8")
    done = _build(corpus, tmp_path / "index")
    assert done.returncode == 1
    assert f"{corpus / 'synonyms.txt'}:2: an empty phrase" in done.stderr and "Traceback" not in done.stderr
    assert current_version(tmp_path / "index") is None


def test_a_missing_synonyms_file_is_one_clear_line(tmp_path: Path) -> None:
    done = _build(CORPUS, tmp_path / "index", "--synonyms", str(tmp_path / "nowhere.txt"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: {tmp_path / 'nowhere.txt'}: No such file or directory" in done.stderr
