"""Opening a version: all or nothing, nothing computed that the build could store, nothing writable.

A version is opened inside one error boundary (store.open_version): whatever is wrong with it,
opening yields IndexUnavailable, and the holder logs it once, counts it, keeps the previous
version serving and does not open it again until a new version is published, at start-up too.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from service.index import version as V
from service.index.lookups import read_lookups
from service.query.store import IndexUnavailable, LoadedIndex, open_version
from service.web.metrics import Metrics
from service.web.reloading import IndexHolder
from tests.conftest import make_settings


def _copy(bundled_index_dir: Path, tmp_path: Path) -> tuple[Path, str]:
    index_dir = tmp_path / "index"
    shutil.copytree(bundled_index_dir, index_dir, ignore=shutil.ignore_patterns(V.VECTOR_CACHE))
    return index_dir, V.current_version(index_dir)


def _second_version(index_dir: Path, of: str, name: str = "v99990101T000000000000") -> Path:
    """A copy of version ``of`` published under a newer name, for the test to damage."""
    shutil.copytree(V.version_path(index_dir, of), V.version_path(index_dir, name))
    V.publish(index_dir, name)
    return V.version_path(index_dir, name)


def _writable_arrays(obj: object, path: str = "index", seen: set[int] | None = None) -> list[str]:
    """Every writable numpy array reachable from ``obj`` through attributes and containers."""
    seen = set() if seen is None else seen
    if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [path] if obj.flags.writeable else []
    if isinstance(obj, dict):
        children = [(f"{path}[{k!r}]", v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = [(f"{path}[{i}]", v) for i, v in enumerate(obj)]
    else:
        fields = dict(getattr(obj, "__dict__", {}))
        fields.update({s: getattr(obj, s) for s in getattr(type(obj), "__slots__", ()) if hasattr(obj, s)})
        children = [(f"{path}.{k}", v) for k, v in fields.items()]
    return [found for child_path, child in children for found in _writable_arrays(child, child_path, seen)]


def test_no_array_of_an_opened_version_can_be_written(bundled_index: LoadedIndex) -> None:
    assert _writable_arrays(bundled_index) == []
    with pytest.raises(ValueError, match="read-only"):
        bundled_index.not_duplicate[0] = False


def test_the_walk_above_finds_a_writable_array() -> None:
    class Holder:
        def __init__(self) -> None:
            self.rows = {"a": [np.zeros(2)]}

    assert _writable_arrays(Holder()) == ["index.rows['a'][0]"]


def test_the_build_stores_what_opening_used_to_work_out(bundled_index_dir: Path, tmp_path: Path, encoder) -> None:
    """A version without the stored lookups (as built before them) opens to the same index."""
    index_dir, name = _copy(bundled_index_dir, tmp_path)
    stored = open_version(V.version_path(index_dir, name), encoder)
    assert read_lookups(V.version_path(index_dir, name)) is not None
    older = _second_version(index_dir, name)
    (older / V.LEXICON).unlink()
    (older / V.PHRASES).unlink()
    assert read_lookups(older) is None
    worked_out = open_version(older, encoder)
    assert stored.word_df == worked_out.word_df and stored.sorted_words == worked_out.sorted_words
    assert stored.highlighter._starts == worked_out.highlighter._starts
    for typed in ("bloo", "semen leak", "fainti", "smell aft"):
        assert stored.suggester.suggest(typed) == worked_out.suggester.suggest(typed)


@pytest.mark.parametrize("damage", ["truncated lexicon", "lexicon of another shape", "section without a heading"])
def test_any_damage_refuses_the_version_whole(bundled_index_dir: Path, tmp_path: Path, damage: str) -> None:
    index_dir, name = _copy(bundled_index_dir, tmp_path)
    version = _second_version(index_dir, name)
    if damage == "truncated lexicon":
        (version / V.LEXICON).write_text('{"words": ["a"', encoding="utf-8")
    elif damage == "lexicon of another shape":
        (version / V.LEXICON).write_text(json.dumps({"words": ["a", "b"], "df": [1], "stem_starts": {}}))
    else:  # used to escape opening as a KeyError from the suggester, outside the error handling
        manifest = json.loads((version / V.MANIFEST).read_text(encoding="utf-8"))
        del manifest["articles"][0]["sections"][0]["heading"]
        (version / V.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexUnavailable, match=version.name):
        open_version(version)


def test_a_refused_version_is_not_opened_again_until_a_new_one_is_published(
    bundled_index_dir: Path, tmp_path: Path, caplog
) -> None:
    index_dir, good = _copy(bundled_index_dir, tmp_path)
    broken = _second_version(index_dir, good)
    manifest = json.loads((broken / V.MANIFEST).read_text(encoding="utf-8"))
    del manifest["articles"][0]["sections"][0]["heading"]
    (broken / V.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    holder = IndexHolder(make_settings(index_dir, embedding_model="none"))
    opened: list[str] = []
    holder._open = _counting(holder._open, opened)  # the real opening, observed
    with caplog.at_level(logging.ERROR, logger="healthfaq.index"):
        for _ in range(10):  # the first check is the start-up
            holder.refresh()
    assert opened.count(broken.name) == 1
    assert holder.served is not None and holder.served.index.version == good and holder.status == "degraded"
    assert len([r for r in caplog.records if broken.name in r.getMessage()]) == 1
    assert "healthfaq_index_open_failures_total 1.0" in Metrics(holder).exposition().decode()
    fixed = _second_version(index_dir, good, name="v99990102T000000000000")  # a copy: its manifest names `good`
    assert holder.refresh() and opened[-1] == fixed.name and (holder.status, holder.problem) == ("ok", None)


def _counting(open_named, opened: list[str]):
    def counted(name: str):
        opened.append(name)
        return open_named(name)

    return counted
