"""The error for a mistake in a file editors write (articles, rules, care words, synonyms).

It lives beside the version format rather than in the build because the server reads two of
those files back out of a published version (the rules and care words), with the same checks.
"""

from __future__ import annotations

from pathlib import Path


class CorpusError(Exception):
    """An editor's file that cannot be used: where (``file:line``), and why."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}:{line}: {reason}")
