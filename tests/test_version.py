"""The on-disk version: what a version directory holds, its manifest, publishing and pruning."""

from __future__ import annotations

import json

import pytest

from service.build.chunking import chunk_articles
from service.build.corpus import load_articles
from service.build.indexer import build_index
from service.index import version as V
from service.query.store import IndexUnavailable, open_version
from tests.conftest import CORPUS


def test_every_file_in_a_version_is_one_the_layout_names(bundled_index_dir):
    folder = V.version_path(bundled_index_dir, V.current_version(bundled_index_dir))
    names = {p.name for p in folder.iterdir()}
    whoosh = {n for n in names if n.endswith((".seg", ".toc"))}
    assert whoosh and all(p.is_file() for p in folder.iterdir())  # no scratch folders left behind
    assert names - whoosh == {
        V.MANIFEST,
        V.SYNONYMS,
        V.MATRIX,
        V.VECTORS,
        V.URGENT,
        V.CARE_WORDS,
        V.ORDINARY,
        V.SIGN_VECTORS,
        V.SCAN,
        V.LEXICON,
        V.PHRASES,
        V.SENTENCES,
        V.SENTENCE_VECTORS,
    }


def test_manifest_round_trips_and_names_the_articles(bundled_index_dir, tmp_path):
    """What the build wrote describes the corpus it read; writing it again and reading it back
    gives the same manifest and the same file. (This used to compare read_manifest with its
    own body, Manifest(**json.loads(...)), which could not fail.)"""
    folder = V.version_path(bundled_index_dir, V.current_version(bundled_index_dir))
    manifest = V.read_manifest(folder)
    assert manifest.format == V.FORMAT and manifest.version == folder.name
    assert manifest.built_timestamp() is not None
    articles = load_articles(CORPUS)
    assert sorted(a["slug"] for a in manifest.articles) == sorted(a.slug for a in articles)
    assert manifest.passages == len(chunk_articles(articles))
    V.write_manifest(tmp_path, manifest)
    assert V.read_manifest(tmp_path) == manifest
    assert json.loads((tmp_path / V.MANIFEST).read_text()) == json.loads((folder / V.MANIFEST).read_text())


def test_a_version_of_another_format_is_not_opened(tmp_path):
    build_index(CORPUS, tmp_path)
    folder = V.version_path(tmp_path, V.current_version(tmp_path))
    data = json.loads((folder / V.MANIFEST).read_text())
    data["format"] = V.FORMAT - 1
    (folder / V.MANIFEST).write_text(json.dumps(data))
    with pytest.raises(IndexUnavailable, match="rebuild"):
        open_version(folder)


def test_publish_prune_and_list(tmp_path):
    (tmp_path / V.VERSIONS).mkdir()
    names = [V.new_version_name(tmp_path) for _ in range(5)]
    for name in names:
        V.version_path(tmp_path, name).mkdir()
    assert V.list_versions(tmp_path) == sorted(names) == names  # names sort by build time
    V.publish(tmp_path, names[0])
    assert V.current_version(tmp_path) == names[0]
    removed = V.prune(tmp_path, keep=2)
    assert removed == names[1:3]  # the oldest go, but never the one in service
    assert V.list_versions(tmp_path) == [names[0], *names[3:]]


def test_drafts_are_not_versions_and_are_cleared(tmp_path):
    (tmp_path / V.VERSIONS).mkdir()
    draft = V.draft_path(tmp_path, "v1")
    draft.mkdir()
    (draft / "x").write_text("half written")
    assert V.list_versions(tmp_path) == []
    V.remove_drafts(tmp_path)
    assert not draft.exists()
