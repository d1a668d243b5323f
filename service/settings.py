"""One frozen settings object, built from HEALTHFAQ_* environment variables and CLI flags.

This is the only module that reads the environment; everything else receives a Settings. Nothing
is read at import: only ``Settings.from_env`` (and ``from_env_and_flags``) look at it.

Each field of ``Settings`` is declared once, with its kind of value (how its text is read, what
it must be), its one-line doc and its flag. ``SETTINGS_TABLE`` lists those declarations; the CLI
makes its setting flags and their --help from it, and the README's Settings table is generated
from it (``python -m service.settings --markdown``), so the three cannot drift apart.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "HEALTHFAQ_"


class SettingsError(ValueError):
    """A setting whose value cannot work; the message names the variable and what it needs."""


# --- kinds of value: how a setting's text is read and what its value must be -------------------
# Each kind has: read(text) -> value (ValueError if the text is not one), normal(value) -> the
# stored form of a value given in code, allows(value) -> whether it is within bounds, and `wants`,
# the phrase that ends "HEALTHFAQ_X must be ..." in errors and fills the README's "value" column.


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class WholeNumber:
    least: int
    most: int | None = None

    @property
    def wants(self) -> str:
        if self.most is None:
            return f"a whole number of at least {self.least}"
        return f"a whole number from {self.least} to {self.most}"

    def read(self, text: str) -> int:
        return int(text)

    def normal(self, value: Any) -> Any:
        return value

    def allows(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= self.least
            and (self.most is None or value <= self.most)
        )


@dataclass(frozen=True)
class Seconds:
    least: float
    most: float

    @property
    def wants(self) -> str:
        return f"a number of seconds from {self.least:g} to {self.most:g}"

    def read(self, text: str) -> float:
        return float(text)

    def normal(self, value: Any) -> Any:
        return float(value) if _is_number(value) else value

    def allows(self, value: Any) -> bool:  # not NaN, not infinite: a watcher must wake up
        return _is_number(value) and math.isfinite(value) and self.least <= value <= self.most


@dataclass(frozen=True)
class YesOrNo:
    """A switch. Only these spellings: a typo such as "ture" must not quietly mean "off"."""

    true_words = frozenset({"1", "true", "yes", "on"})
    false_words = frozenset({"0", "false", "no", "off"})
    wants = "true or false (also yes/no, on/off, 1/0)"

    def read(self, text: str) -> bool:
        word = text.strip().lower()
        if word in self.true_words:
            return True
        if word in self.false_words:
            return False
        raise ValueError(text)

    def normal(self, value: Any) -> Any:
        return value

    def allows(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Text:
    """Free text, or text matching ``pattern`` (the empty text is allowed when ``empty_ok``)."""

    wants: str
    pattern: str = r".*"
    empty_ok: bool = True
    strip_trailing_slash: bool = False

    def read(self, text: str) -> str:
        return text

    def normal(self, value: Any) -> Any:
        return value.rstrip("/") if self.strip_trailing_slash and isinstance(value, str) else value

    def allows(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return (value == "" and self.empty_ok) or (value != "" and re.fullmatch(self.pattern, value) is not None)


@dataclass(frozen=True)
class FilePath:
    """A path; ``optional``: None means the feature is off."""

    wants: str = "a path"
    optional: bool = False

    def read(self, text: str) -> Path:
        return Path(text)

    def normal(self, value: Any) -> Any:
        return Path(value) if isinstance(value, str) else value

    def allows(self, value: Any) -> bool:
        return isinstance(value, Path) or (self.optional and value is None)


@dataclass(frozen=True)
class Origins:
    """Web origins, comma separated in text; a trailing slash is dropped (browsers send none)."""

    wants: str = "comma-separated origins such as https://clinic.example"

    def read(self, text: str) -> tuple[str, ...]:
        return _split_origins(text)

    def normal(self, value: Any) -> Any:
        if isinstance(value, str):
            return _split_origins(value)
        return tuple(value) if isinstance(value, (list, tuple)) else value

    def allows(self, value: Any) -> bool:
        return isinstance(value, tuple) and all(isinstance(o, str) and o for o in value)


def _split_origins(raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


# --- the declared table --------------------------------------------------------------------------

_DECLARATION = "healthfaq.setting"
# The subcommands that open (or build) an index and may load the model.
_INDEX_COMMANDS = ("build", "serve", "search", "explain", "check-rules")


def setting(
    default: Any,
    kind: Any,
    doc: str,
    *,
    flag: str | None = None,
    commands: Sequence[str] = (),
    shown_default: str | None = None,
) -> Any:
    """A Settings field with its declaration: the kind of value, a one-line doc (README and
    --help), the flag and the subcommands that take it, and how the README shows the default
    when its plain value would not say enough."""
    if (flag is None) != (not commands):
        raise TypeError("a flag needs the subcommands that take it, and only a flag has them")
    declaration = dict(kind=kind, doc=doc, flag=flag, commands=tuple(commands), shown_default=shown_default)
    return field(default=default, metadata={_DECLARATION: declaration})


@dataclass(frozen=True)
class Settings:
    index_dir: Path = setting(
        Path("index"),
        FilePath(),
        "the index directory (versions and the `CURRENT` pointer)",
        flag="--index",
        commands=_INDEX_COMMANDS,
    )
    corpus_path: Path = setting(
        Path("corpus"),
        FilePath(),
        "the corpus folder (or JSONL file) to build from",
        flag="--corpus",
        commands=("build", "serve"),
    )
    host: str = setting(
        "127.0.0.1",
        Text("a host name or IP address", pattern=r"\S+", empty_ok=False),
        "address `serve` binds",
        flag="--host",
        commands=("serve",),
    )
    port: int = setting(8000, WholeNumber(1, 65535), "port `serve` listens on", flag="--port", commands=("serve",))
    workers: int = setting(1, WholeNumber(1), "uvicorn worker processes", flag="--workers", commands=("serve",))
    # Cross-origin callers allowed to use the API (comma separated in the env); none by default.
    cors_origins: tuple[str, ...] = setting(
        (), Origins(), "comma-separated origins allowed to call the API from their pages"
    )
    # Requests a worker works on at once before answering 503 instead of queueing without bound.
    max_concurrency: int = setting(
        64, WholeNumber(0), "requests a worker works on at once before answering `503 overloaded` (`0`: no cap)"
    )
    # Of those, how many one client address may hold (0 = a quarter): the noisiest client is shed first.
    max_concurrency_per_client: int = setting(
        0,
        WholeNumber(0),
        "requests one client address may have in flight at once (see Operations)",
        shown_default="`0` (a quarter of the cap)",
    )
    # Per-client requests per minute; 0 turns the limiter off.
    rate_limit_per_minute: int = setting(
        0,
        WholeNumber(0),
        "questions (`/search`, `/suggest`, the page with `q`) per minute per client address before `429`",
        shown_default="`0` (off)",
    )
    # Seconds uvicorn keeps an idle keep-alive connection open after a response. Connections that
    # never finish their headers (slowloris) are the reverse proxy's to time out: see README.
    keep_alive_timeout: int = setting(5, WholeNumber(1), "seconds uvicorn keeps an idle connection open")
    # Seconds between checks of the index pointer for a newly published version. Not 0: the
    # watcher would check without pause, a core kept busy for nothing.
    reload_interval: float = setting(1.0, Seconds(0.05, 86400), "seconds between checks for a newly published version")
    result_cache_size: int = setting(
        1024, WholeNumber(0), "rankings kept per worker for repeated questions (`0` turns the cache off)"
    )
    # Operators may opt in to logging question text (off: questions are health data).
    log_queries: bool = setting(False, YesOrNo(), "include question text in the access log (questions are health data)")
    # Opt-in aggregation of zero-result questions for `healthfaq gaps`.
    gaps_file: Path | None = setting(
        None,
        FilePath("a file path", optional=True),
        "the content-gaps log: `serve` records zero-result questions in it, `healthfaq gaps` lists them",
        flag="--file",
        commands=("gaps",),
        shown_default="none (off)",
    )
    build_if_missing: bool = setting(True, YesOrNo(), "`serve` builds the index when there is none")
    # Processes that analyse and write index segments; 0 = one per core (up to 2) for large corpora.
    build_procs: int = setting(
        0,
        WholeNumber(0),
        "processes writing index segments (and threads embedding passages), at most one per core",
        flag="--procs",
        commands=("build",),
        shown_default="`0` (automatic: 2 for 4,000+ passages on a multi-core machine, else 1)",
    )
    # The sentence-embedding model folder; "" = the one shipped with the package, "none" = lexical only.
    embedding_model: str = setting(
        "",
        Text("a model folder, or none"),
        "sentence-embedding model folder (`tokenizer.json` plus "
        "`model_qint8.onnx` and/or `model.onnx`); `none` for lexical search only",
        flag="--model",
        commands=_INDEX_COMMANDS,
        shown_default="the shipped model",
    )
    # Where visitors reach this service (https://faq.example.org): the API's `url` of an article with
    # no publisher page, "Copy with citation" and `healthfaq search` links start with it. Empty: the
    # API and page keep relative links, the CLI prints http://HOST:PORT.
    public_url: str = setting(
        "",
        Text(
            "an http(s) address such as https://faq.example.org",
            pattern=r"https?://[^/?#\s]+(/[^?#\s]*)?",
            strip_trailing_slash=True,
        ),
        "this service's public address: the API's `url` of articles without a publisher page, "
        '"Copy with citation" and CLI links start with it',
        flag="--base-url",
        commands=("search",),
        shown_default="none (relative links; the CLI prints `http://HOST:PORT`)",
    )

    def __post_init__(self) -> None:
        """Settings made in code are held to the same bounds as those read from text, so a bad
        one fails here, by name, rather than deep inside the server."""
        for spec in SETTINGS_TABLE:
            given = getattr(self, spec.name)
            object.__setattr__(self, spec.name, spec.checked(given))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from the environment, then explicit overrides (CLI flags) on top.

        An empty variable counts as unset; an override of None as not given."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in SETTINGS_TABLE:
            raw = env.get(spec.env_var)
            if raw is not None and raw != "":
                values[spec.name] = spec.parse(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def from_env_and_flags(cls, flag_texts: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment with the command line's flags on top: ``flag_texts``
        maps field names to the text typed after their flag, read and checked like a variable's
        (the error names the variable and the flag)."""
        typed = {
            name: SETTINGS_BY_NAME[name].parse(text, given_as=SETTINGS_BY_NAME[name].flag)
            for name, text in flag_texts.items()
        }
        return cls.from_env(environ, **typed)


@dataclass(frozen=True)
class SettingSpec:
    """One row of the declared table: a Settings field and everything said about it."""

    name: str
    default: Any
    kind: Any
    doc: str
    flag: str | None
    commands: tuple[str, ...]
    shown_default: str | None

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def parse(self, text: str, given_as: str | None = None) -> Any:
        """The value a text (a variable's, or a flag's when ``given_as`` names it) stands for."""
        try:
            value = self.kind.normal(self.kind.read(text))
        except ValueError:
            raise SettingsError(self._complaint(text, given_as)) from None
        if not self.kind.allows(value):
            raise SettingsError(self._complaint(text, given_as))
        return value

    def checked(self, value: Any) -> Any:
        """A value given in code, in its stored form (a str path as a Path, ...), if allowed."""
        try:
            stored = self.kind.normal(value)
        except (TypeError, ValueError):
            raise SettingsError(self._complaint(value)) from None
        if not self.kind.allows(stored):
            raise SettingsError(self._complaint(value))
        return stored

    def _complaint(self, given: Any, given_as: str | None = None) -> str:
        where = f" (from {given_as})" if given_as else ""
        return f"{self.env_var} must be {self.kind.wants}, not {given!r}{where}"

    @property
    def default_text(self) -> str:
        """The default as the README shows it."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default in ("", (), None):
            return "none"
        if isinstance(self.default, bool):
            return "`true`" if self.default else "`false`"
        if isinstance(self.default, float):
            return f"`{self.default:g}`"
        return f"`{self.default}`"

    @property
    def help(self) -> str:
        """The flag's --help line: the doc, the default and the variable it overrides."""
        return _plain(f"{self.doc} (default: {self.default_text}; env {self.env_var})")


def _plain(markdown: str) -> str:
    return markdown.replace("`", "")


def _spec_of(declared: Any) -> SettingSpec:
    return SettingSpec(name=declared.name, default=declared.default, **declared.metadata[_DECLARATION])


SETTINGS_TABLE: tuple[SettingSpec, ...] = tuple(_spec_of(f) for f in fields(Settings))
SETTINGS_BY_NAME: dict[str, SettingSpec] = {spec.name: spec for spec in SETTINGS_TABLE}


def settings_table_markdown() -> str:
    """The README's Settings table, made from the declared table."""
    rows = ["| variable | flag | default | value | meaning |", "|---|---|---|---|---|"]
    for spec in SETTINGS_TABLE:
        flag = f"`{spec.flag}` ({', '.join(spec.commands)})" if spec.flag else ""
        rows.append(f"| `{spec.env_var}` | {flag} | {spec.default_text} | {spec.kind.wants} | {spec.doc} |")
    return "\n".join(rows)


def _main(argv: Sequence[str]) -> int:
    if list(argv) != ["--markdown"]:
        print("usage: python -m service.settings --markdown   (prints the README's Settings table)", file=sys.stderr)
        return 2
    print(settings_table_markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
