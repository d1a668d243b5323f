"""Index builds: two processes writing two segments give the same index as one process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from service.build.indexer import build_index
from service.index.version import current_version, version_path
from service.query.search import SearchRequest, search
from service.query.store import open_version
from tests.conftest import ROOT, build_argv
from tests.generated_corpus import write_generated_corpus

pytestmark = pytest.mark.slow  # real servers, processes or large builds: skipped by -m 'not slow'

# Generated passages are random words of the bundled articles: questions of one or two of them match.
QUESTIONS = ["blood", "semen leakage", "anxiety fainting", "smell", "pain", "gland swelling", "prostate"]


@pytest.fixture(scope="module")
def one_and_two_processes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("builds")
    corpus = write_generated_corpus(root / "generated.jsonl", records=400)
    build_index(corpus, root / "one", procs=1)  # no encoder: lexical only
    # A fresh process: the parallel build is only used where no other threads run. Lexical only
    # too (--model none): these tests compare Whoosh segments and lexical search, and embedding
    # the ~800 passages here was most of the module's time.
    subprocess.run(
        build_argv(corpus, root / "two", "--procs", "2", "--model", "none"),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return (
        version_path(root / "one", current_version(root / "one")),
        version_path(root / "two", current_version(root / "two")),
    )


def test_two_processes_write_two_segments(one_and_two_processes) -> None:
    counts = []
    for path in one_and_two_processes:
        ix = whoosh_index.open_dir(str(path))
        counts.append(len(ix._segments()))
        ix.close()
    assert counts == [1, 2]


def test_same_whoosh_terms_and_documents(one_and_two_processes) -> None:
    readers = [whoosh_index.open_dir(str(path)).reader() for path in one_and_two_processes]
    one, two = readers
    assert list(one.iter_docs()) == list(two.iter_docs())
    terms = list(one.all_terms())
    assert list(two.all_terms()) == terms
    assert [one.doc_frequency(*t) for t in terms] == [two.doc_frequency(*t) for t in terms]
    for reader in readers:
        reader.close()


def test_same_search_results(one_and_two_processes) -> None:
    one, two = (open_version(path) for path in one_and_two_processes)
    assert [p.id for p in one.passages] == [p.id for p in two.passages]
    assert one.word_df == two.word_df
    assert one.matrix.n_docs == two.matrix.n_docs and len(one.matrix.term_ids) == len(two.matrix.term_ids)
    for question in QUESTIONS:
        first, second = (search(index, SearchRequest(q=question)) for index in (one, two))
        assert first.hits, question
        assert [(h.passage.id, round(h.score, 5)) for h in first.hits] == [
            (h.passage.id, round(h.score, 5)) for h in second.hits
        ], question


def test_requested_processes_are_capped_at_the_cores() -> None:
    # In a fresh process: this one may run other threads, and then a build never forks at all.
    probe = (
        "import os; from service.build.indexer import _processes; "
        "print(_processes(1000, 0), _processes(1, 0), os.cpu_count() or 1)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    many, one, cores = map(int, done.stdout.split())
    assert (many, one) == (cores, 1)
