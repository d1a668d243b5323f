"""The files editors own beside the articles (emergency rules, care words, synonyms): the corpus
folder's own copy, else the default shipped with the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from service.safety.urgent import RULES_FILE


def rules_text(corpus: Path) -> tuple[str, str]:
    """The rules a build uses, and where they come from: the corpus folder's own urgent.yaml
    (which replaces the defaults: editors own the list), else the one shipped with the package."""
    return editor_file(corpus, RULES_FILE)


def editor_file(corpus: Path, name: str) -> tuple[str, str]:
    """An editor-owned file: the corpus folder's own copy, which replaces the package's, else the
    package's (so an installed wheel builds with the defaults wherever it runs)."""
    own = Path(corpus) / name
    if own.is_file():
        return own.read_text(encoding="utf-8"), str(own)
    shipped = resources.files("service").joinpath("data", name)
    return shipped.read_text(encoding="utf-8"), str(shipped)
