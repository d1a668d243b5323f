"""One frozen settings object, built from HEALTHFAQ_* environment variables and CLI flags.

This is the only module that reads the environment; everything else receives a Settings.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

_PREFIX = "HEALTHFAQ_"


class SettingsError(ValueError):
    """A setting whose value cannot work; the message names the variable and what it needs."""


@dataclass(frozen=True)
class Settings:
    index_dir: Path = Path("index")
    corpus_path: Path = Path("corpus")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # Cross-origin callers allowed to use the API (comma separated in the env); none by default.
    cors_origins: tuple[str, ...] = ()
    # Requests a worker works on at once before answering 503 instead of queueing without bound.
    max_concurrency: int = 64
    # Of those, how many one client address may hold (0 = a quarter): the noisiest client is shed first.
    max_concurrency_per_client: int = 0
    # Per-client requests per minute; 0 turns the limiter off.
    rate_limit_per_minute: int = 0
    # Seconds uvicorn keeps an idle keep-alive connection open after a response. Connections that
    # never finish their headers (slowloris) are the reverse proxy's to time out: see README.
    keep_alive_timeout: int = 5
    # Seconds between checks of the index pointer for a newly published version.
    reload_interval: float = 1.0
    result_cache_size: int = 1024
    # Operators may opt in to logging question text (off: questions are health data).
    log_queries: bool = False
    # Opt-in aggregation of zero-result questions for `healthfaq gaps`.
    gaps_file: Path | None = None
    build_if_missing: bool = True
    # Processes that analyse and write index segments; 0 = one per core (up to 2) for large corpora.
    build_procs: int = 0
    # The sentence-embedding model folder; "" = the one shipped with the package, "none" = lexical only.
    embedding_model: str = ""
    # Where visitors reach this service (https://faq.example.org): the API's `url` of an article with
    # no publisher page, "Copy with citation" and `healthfaq search` links start with it. Empty: the
    # API and page keep relative links, the CLI prints http://HOST:PORT.
    public_url: str = ""

    def __post_init__(self) -> None:
        if self.public_url and not re.match(r"^https?://[^/?#\s]+(/[^?#\s]*)?$", self.public_url):
            raise SettingsError(f"HEALTHFAQ_PUBLIC_URL must be an http(s) address such as "
                                f"https://faq.example.org, not {self.public_url!r}")
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Settings from the environment, then explicit overrides (CLI flags) on top."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("index_dir", "corpus_path", "gaps_file"):
            if values.get(name) is not None:
                values[name] = Path(values[name])
        if isinstance(values.get("cors_origins"), str):
            values["cors_origins"] = _split_origins(values["cors_origins"])
        return cls(**values)


def _split_origins(raw: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def _convert(name: str, raw: str) -> Any:
    default = Settings.__dataclass_fields__[name].default
    if name == "cors_origins":
        return _split_origins(raw)
    if name == "gaps_file":
        return Path(raw)
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    return raw
