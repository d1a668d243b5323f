"""Settings: defaults, the environment, and flags on top; the declared table behind the flags,
--help and the README; bad values refused in one line."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from service import cli
from service.settings import SETTINGS_TABLE, Settings, SettingsError, settings_table_markdown
from tests.conftest import ROOT as ROOT_DIR


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.index_dir == Path("index") and settings.corpus_path == Path("corpus")
    assert settings.port == 8000 and settings.cors_origins == () and settings.gaps_file is None
    assert settings.log_queries is False and settings.build_if_missing is True


def test_environment_values_are_converted_to_their_types():
    settings = Settings.from_env(
        {
            "HEALTHFAQ_PORT": "9001",
            "HEALTHFAQ_RELOAD_INTERVAL": "0.5",
            "HEALTHFAQ_LOG_QUERIES": "yes",
            "HEALTHFAQ_INDEX_DIR": "/srv/index",
            "HEALTHFAQ_CORS_ORIGINS": "https://a.org/, https://b.org",
            "HEALTHFAQ_GAPS_FILE": "/var/gaps.jsonl",
            "HEALTHFAQ_BUILD_IF_MISSING": "off",
            "HEALTHFAQ_WORKERS": "",
        }
    )
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


# --- the declared table: every variable read, bounds enforced -------------------------------------

# A valid value other than the default for every variable, with what it must read as. A new
# setting fails test_every_variable_in_the_table_is_read until it has a line here.
SAMPLES = {
    "HEALTHFAQ_INDEX_DIR": ("/srv/index", Path("/srv/index")),
    "HEALTHFAQ_CORPUS_PATH": ("/srv/corpus.jsonl", Path("/srv/corpus.jsonl")),
    "HEALTHFAQ_HOST": ("0.0.0.0", "0.0.0.0"),
    "HEALTHFAQ_PORT": ("65535", 65535),
    "HEALTHFAQ_WORKERS": ("4", 4),
    "HEALTHFAQ_CORS_ORIGINS": ("https://a.org/, https://b.org", ("https://a.org", "https://b.org")),
    "HEALTHFAQ_MAX_CONCURRENCY": ("1", 1),
    "HEALTHFAQ_MAX_CONCURRENCY_PER_CLIENT": ("3", 3),
    "HEALTHFAQ_RATE_LIMIT_PER_MINUTE": ("120", 120),
    "HEALTHFAQ_KEEP_ALIVE_TIMEOUT": ("60", 60),
    "HEALTHFAQ_RELOAD_INTERVAL": ("0.05", 0.05),
    "HEALTHFAQ_RESULT_CACHE_SIZE": ("0", 0),
    "HEALTHFAQ_LOG_QUERIES": ("On", True),
    "HEALTHFAQ_GAPS_FILE": ("/var/gaps.jsonl", Path("/var/gaps.jsonl")),
    "HEALTHFAQ_BUILD_IF_MISSING": ("no", False),
    "HEALTHFAQ_BUILD_PROCS": ("2", 2),
    "HEALTHFAQ_EMBEDDING_MODEL": ("none", "none"),
    "HEALTHFAQ_PUBLIC_URL": ("https://faq.example.org/", "https://faq.example.org"),
}

# Public contract: which flag sets which variable, on which subcommands.
PUBLIC_FLAGS = {
    "HEALTHFAQ_INDEX_DIR": ("--index", {"build", "serve", "search", "explain", "check-rules"}),
    "HEALTHFAQ_CORPUS_PATH": ("--corpus", {"build", "serve"}),
    "HEALTHFAQ_HOST": ("--host", {"serve"}),
    "HEALTHFAQ_PORT": ("--port", {"serve"}),
    "HEALTHFAQ_WORKERS": ("--workers", {"serve"}),
    "HEALTHFAQ_GAPS_FILE": ("--file", {"gaps"}),
    "HEALTHFAQ_BUILD_PROCS": ("--procs", {"build"}),
    "HEALTHFAQ_EMBEDDING_MODEL": ("--model", {"build", "serve", "search", "explain", "check-rules"}),
    "HEALTHFAQ_PUBLIC_URL": ("--base-url", {"search"}),
}


def test_the_table_declares_every_field_under_its_public_variable_and_flag():
    from dataclasses import fields

    assert [spec.name for spec in SETTINGS_TABLE] == [f.name for f in fields(Settings)]
    assert {spec.env_var for spec in SETTINGS_TABLE} == set(SAMPLES)
    assert {spec.env_var: (spec.flag, set(spec.commands)) for spec in SETTINGS_TABLE if spec.flag} == PUBLIC_FLAGS


def test_every_variable_in_the_table_is_read():
    defaults = Settings()
    for spec in SETTINGS_TABLE:
        text, expected = SAMPLES[spec.env_var]
        assert expected != spec.default, f"{spec.env_var}: pick a sample other than the default"
        settings = Settings.from_env({spec.env_var: text})
        assert getattr(settings, spec.name) == expected, spec.env_var
        others = {s.name for s in SETTINGS_TABLE} - {spec.name}
        assert all(getattr(settings, n) == getattr(defaults, n) for n in others), spec.env_var
    together = Settings.from_env({env: text for env, (text, _) in SAMPLES.items()})
    assert {spec.env_var: getattr(together, spec.name) for spec in SETTINGS_TABLE} == {
        env: expected for env, (_, expected) in SAMPLES.items()
    }


def test_the_defaults_are_within_their_own_bounds():
    for spec in SETTINGS_TABLE:
        assert spec.checked(spec.default) == spec.default, spec.env_var


@pytest.mark.parametrize(
    "variable, text",
    [
        ("HEALTHFAQ_PORT", "abc"),
        ("HEALTHFAQ_PORT", "0"),
        ("HEALTHFAQ_PORT", "65536"),
        ("HEALTHFAQ_PORT", "80.0"),
        ("HEALTHFAQ_WORKERS", "0"),
        ("HEALTHFAQ_MAX_CONCURRENCY", "-1"),
        ("HEALTHFAQ_KEEP_ALIVE_TIMEOUT", "0"),
        ("HEALTHFAQ_MAX_CONCURRENCY_PER_CLIENT", "-1"),
        ("HEALTHFAQ_RATE_LIMIT_PER_MINUTE", "-5"),
        ("HEALTHFAQ_RESULT_CACHE_SIZE", "-1"),
        ("HEALTHFAQ_BUILD_PROCS", "-1"),
        ("HEALTHFAQ_RELOAD_INTERVAL", "0"),
        ("HEALTHFAQ_RELOAD_INTERVAL", "0.01"),
        ("HEALTHFAQ_RELOAD_INTERVAL", "-1"),
        ("HEALTHFAQ_RELOAD_INTERVAL", "nan"),
        ("HEALTHFAQ_RELOAD_INTERVAL", "inf"),
        ("HEALTHFAQ_RELOAD_INTERVAL", "1s"),
        ("HEALTHFAQ_LOG_QUERIES", "maybe"),
        ("HEALTHFAQ_BUILD_IF_MISSING", "ture"),
        ("HEALTHFAQ_HOST", "my host"),
        ("HEALTHFAQ_PUBLIC_URL", "faq.example.org"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_and_the_text(variable, text):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: text})
    message = str(refused.value)
    assert message.startswith(f"{variable} must be ") and message.endswith(f", not {text!r}")
    assert "\n" not in message


def test_the_bounds_themselves_are_allowed():
    assert Settings.from_env({"HEALTHFAQ_PORT": "1"}).port == 1
    assert Settings.from_env({"HEALTHFAQ_RELOAD_INTERVAL": "86400"}).reload_interval == 86400.0
    assert Settings.from_env({"HEALTHFAQ_WORKERS": "1", "HEALTHFAQ_BUILD_PROCS": "0"}).build_procs == 0


@pytest.mark.parametrize(
    "word, meaning",
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
    ],
)
def test_a_switch_takes_the_usual_spellings(word, meaning):
    assert Settings.from_env({"HEALTHFAQ_LOG_QUERIES": word}).log_queries is meaning


def test_settings_made_in_code_are_checked_too():
    with pytest.raises(SettingsError, match=r"^HEALTHFAQ_PORT must be a whole number from 1 to 65535, not 0$"):
        Settings(port=0)
    with pytest.raises(SettingsError, match="HEALTHFAQ_RELOAD_INTERVAL"):
        Settings(reload_interval=0)
    with pytest.raises(SettingsError, match="HEALTHFAQ_LOG_QUERIES"):
        Settings(log_queries="yes")  # text is for the environment; code says True
    with pytest.raises(SettingsError, match="HEALTHFAQ_WORKERS"):
        Settings.from_env({}, workers=0)
    made = Settings(index_dir="/srv/index", build_if_missing=False, reload_interval=2)
    assert made.index_dir == Path("/srv/index") and made.reload_interval == 2.0


# --- only settings.py reads the environment -------------------------------------------------------


def _environment_uses(tree: ast.AST) -> list[tuple[int, bool, bool]]:
    """(line, is a write such as os.environ[k] = v, inside a function) for each use of os.environ,
    os.getenv or a name imported from os for reading the environment."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    uses = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in {"environ", "getenv", "environb", "getenvb"} for a in node.names)
        ):
            uses.append((node.lineno, False, False))
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in {"environ", "getenv", "environb", "getenvb"}
        ):
            continue
        parent = parents.get(node)
        write = isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store)
        inside, up = False, parent
        while up is not None:
            inside = inside or isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef))
            up = parents.get(up)
        uses.append((node.lineno, write, inside))
    return uses


def test_only_settings_reads_the_environment_and_never_at_import():
    service = ROOT_DIR / "service"
    offences = []
    for module in sorted(service.rglob("*.py")):
        for line, write, inside in _environment_uses(ast.parse(module.read_text(encoding="utf-8"))):
            where = f"{module.relative_to(ROOT_DIR)}:{line}"
            if module == service / "settings.py":
                offences += [] if inside else [f"{where} reads the environment at import"]
            elif not write:  # cli.py hands flags to uvicorn's workers by writing variables
                offences.append(f"{where} reads the environment")
    assert offences == []


# --- through the command line ---------------------------------------------------------------------

# What each subcommand needs besides its flags to get as far as reading its settings.
COMMAND_ARGS = {
    "build": [],
    "serve": [],
    "search": ["kegel"],
    "explain": ["kegel"],
    "check-rules": ["--questions", "labelled.jsonl"],
    "gaps": [],
}


@pytest.fixture()
def clean_env(monkeypatch):
    """No HEALTHFAQ_* variable from the shell running the tests."""
    for spec in SETTINGS_TABLE:
        monkeypatch.delenv(spec.env_var, raising=False)
    return monkeypatch


def test_every_subcommand_named_in_the_table_exists():
    assert set(COMMAND_ARGS) >= {c for spec in SETTINGS_TABLE for c in spec.commands}
    parser = cli._parser()
    for command in COMMAND_ARGS:
        assert parser.parse_args([command, *COMMAND_ARGS[command]]).command == command


def test_every_flag_sets_its_setting(clean_env):
    parser = cli._parser()
    for spec in SETTINGS_TABLE:
        text, expected = SAMPLES[spec.env_var]
        for command in spec.commands:
            args = parser.parse_args([command, *COMMAND_ARGS[command], spec.flag, text])
            assert getattr(cli._settings(args), spec.name) == expected, (command, spec.flag)


def _run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
def test_a_bad_variable_stops_every_command_with_one_line(command, clean_env, capsys, tmp_path):
    clean_env.setenv("HEALTHFAQ_PORT", "abc")
    clean_env.setenv("HEALTHFAQ_INDEX_DIR", str(tmp_path / "index"))
    clean_env.setenv("HEALTHFAQ_CORPUS_PATH", str(tmp_path / "corpus"))
    status, out, err = _run_cli(capsys, command, *COMMAND_ARGS[command])
    assert status == 2 and out == ""
    assert err.splitlines() == ["error: HEALTHFAQ_PORT must be a whole number from 1 to 65535, not 'abc'"]
    assert not (tmp_path / "index").exists()


def test_a_zero_reload_interval_stops_serve(clean_env, capsys, tmp_path):
    clean_env.setenv("HEALTHFAQ_RELOAD_INTERVAL", "0")
    status, _, err = _run_cli(capsys, "serve", "--index", str(tmp_path / "index"))
    assert status == 2
    assert err.splitlines() == [
        "error: HEALTHFAQ_RELOAD_INTERVAL must be a number of seconds from 0.05 to 86400, not '0'"
    ]


@pytest.mark.parametrize(
    "argv, variable",
    [
        (["serve", "--port", "0"], "HEALTHFAQ_PORT"),
        (["serve", "--port", "http"], "HEALTHFAQ_PORT"),
        (["serve", "--workers", "0"], "HEALTHFAQ_WORKERS"),
        (["build", "--procs", "-1"], "HEALTHFAQ_BUILD_PROCS"),
        (["search", "kegel", "--base-url", "faq.example.org"], "HEALTHFAQ_PUBLIC_URL"),
    ],
)
def test_a_bad_flag_is_one_line_naming_the_variable_and_the_flag(argv, variable, clean_env, capsys, tmp_path):
    status, out, err = _run_cli(capsys, *argv, "--index", str(tmp_path / "index"))
    flag, text = argv[-2], argv[-1]
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {variable} must be ") and err.rstrip().endswith(f"not {text!r} (from {flag})")


def test_help_lists_each_commands_setting_flags_with_their_doc(capsys):
    for command in COMMAND_ARGS:
        with pytest.raises(SystemExit) as done:
            cli.main([command, "--help"])
        assert done.value.code == 0
        printed = capsys.readouterr().out
        unwrapped = "".join(printed.split())  # argparse wraps lines, even at hyphens
        for spec in SETTINGS_TABLE:
            if command in spec.commands:
                flag_and_help = re.escape(spec.flag) + "[A-Z_]+" + re.escape("".join(spec.help.split()))
                assert re.search(flag_and_help, unwrapped), (command, spec.flag)
            elif spec.flag:
                assert not re.search(rf"(?<![\w-]){spec.flag}(?![\w-])", printed), (command, spec.flag)


def test_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHFAQ_")}
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--index", str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT_DIR,
        env={**env, "HEALTHFAQ_PORT": "abc"},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["error: HEALTHFAQ_PORT must be a whole number from 1 to 65535, not 'abc'"]


def test_uvicorn_with_a_bad_variable_logs_one_line_and_exits(tmp_path):
    """`uvicorn service.app:app` reads the settings at start-up: a bad one fails it cleanly."""
    from tests.conftest import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHFAQ_")}
    env.update(HEALTHFAQ_RELOAD_INTERVAL="0", HEALTHFAQ_INDEX_DIR=str(tmp_path / "index"))
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "service.app:app", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT_DIR,
        env=env,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [
        "ERROR:    HEALTHFAQ_RELOAD_INTERVAL must be a number of seconds from 0.05 to 86400, not '0'",
        "ERROR:    Application startup failed. Exiting.",
    ], done.stderr


# --- the README's table ---------------------------------------------------------------------------


def test_the_readme_table_is_the_declared_one():
    readme = (ROOT_DIR / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Settings\n")
    section = readme[start : readme.index("\n## ", start)]
    shown = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    generated = settings_table_markdown()
    assert shown == generated, (
        "README.md's Settings table differs from service/settings.py; replace it with "
        "the output of `python -m service.settings --markdown`:\n" + generated
    )


def test_the_markdown_command_prints_the_table(capsys):
    from service.settings import _main

    assert _main(["--markdown"]) == 0
    assert capsys.readouterr().out == settings_table_markdown() + "\n"
