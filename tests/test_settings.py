"""Settings: defaults, the environment, and flags on top."""
from pathlib import Path

import pytest

from service.settings import Settings


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.index_dir == Path("index") and settings.corpus_path == Path("corpus")
    assert settings.port == 8000 and settings.cors_origins == () and settings.gaps_file is None
    assert settings.log_queries is False and settings.build_if_missing is True


def test_environment_values_are_converted_to_their_types():
    settings = Settings.from_env({
        "HEALTHFAQ_PORT": "9001", "HEALTHFAQ_RELOAD_INTERVAL": "0.5", "HEALTHFAQ_LOG_QUERIES": "yes",
        "HEALTHFAQ_INDEX_DIR": "/srv/index", "HEALTHFAQ_CORS_ORIGINS": "https://a.org/, https://b.org",
        "HEALTHFAQ_GAPS_FILE": "/var/gaps.jsonl", "HEALTHFAQ_BUILD_IF_MISSING": "off", "HEALTHFAQ_WORKERS": "",
    })
    assert settings.port == 9001 and settings.reload_interval == 0.5 and settings.log_queries is True
    assert settings.index_dir == Path("/srv/index") and settings.gaps_file == Path("/var/gaps.jsonl")
    assert settings.cors_origins == ("https://a.org", "https://b.org")
    assert settings.build_if_missing is False and settings.workers == 1  # empty means unset


def test_flags_win_over_the_environment_and_none_means_not_given():
    settings = Settings.from_env({"HEALTHFAQ_PORT": "9001", "HEALTHFAQ_INDEX_DIR": "a"}, port=7000, index_dir=None)
    assert settings.port == 7000 and settings.index_dir == Path("a")


def test_a_malformed_number_is_refused_and_settings_are_frozen():
    with pytest.raises(ValueError):
        Settings.from_env({"HEALTHFAQ_PORT": "eighty"})
    with pytest.raises(AttributeError):
        Settings.from_env({}).port = 1


def test_every_setting_is_in_the_readme_table():
    from dataclasses import fields

    from tests.conftest import ROOT
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [f.name for f in fields(Settings) if f"`HEALTHFAQ_{f.name.upper()}`" not in readme]
    assert missing == []
