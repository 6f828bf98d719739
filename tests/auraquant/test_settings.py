"""Settings come from the environment and `.env`; `.env.example` documents every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auraquant.settings import Settings
from tools.paths import PROJECT_ROOT

PACKAGES = ("agents", "graph", "tools", "exchange", "memos", "decisions", "backtest", "auraquant")
ENV_READ = re.compile(
    r"""(?:environ(?:\.get)?\(\s*|environ\[\s*|getenv\(\s*|validation_alias=|_env_int\(\s*)["']([A-Z][A-Z0-9_]{2,})["']"""
)


def _variables_read_by_code() -> set[str]:
    names: set[str] = set()
    for pkg in PACKAGES:
        for path in (PROJECT_ROOT / pkg).rglob("*.py"):
            names |= set(ENV_READ.findall(path.read_text(encoding="utf-8")))
    return names


def test_env_example_documents_every_variable_the_code_reads() -> None:
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M)
    )
    read = _variables_read_by_code()
    assert {"AURAQUANT_HOME", "REDIS_URL", "OPENAI_API_KEY"} <= read  # the scan itself works
    missing = sorted(read - documented - {"LANGSMITH_API_KEY"})
    assert missing == [], f".env.example lacks {missing}"


def test_settings_read_dotenv_and_keep_keys_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AURAQUANT_HOME", "OPENAI_API_KEY", "GOOGLE_API_KEY", "REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "AURAQUANT_HOME=/srv/aq\nOPENAI_API_KEY=sk-dotenv-value\nREDIS_URL=redis://127.0.0.1:6379/3\n"
    )
    s = Settings()
    assert s.home == Path("/srv/aq")
    assert s.redis_url == "redis://127.0.0.1:6379/3"
    assert "sk-dotenv-value" not in repr(s) and "sk-dotenv-value" not in str(s.model_dump())
    assert s.secret_values() == ["sk-dotenv-value"]


def test_dotenv_reaches_every_package_and_the_redaction_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auraquant.settings import load_environment
    from graph.ailog import secrets_from_env
    from graph.context import MeetingContext

    for var in ("AURAQUANT_HOME", "AURAQUANT_MEETING_BUDGET", "WEEX_SECRET_KEY", "REDIS_URL"):
        monkeypatch.delenv(
            var, raising=False
        )  # .env's values are removed after the test (conftest)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/9")  # the environment wins
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "AURAQUANT_MEETING_BUDGET=2\nWEEX_SECRET_KEY=weex-dotenv-secret-123456\n"
        "REDIS_URL=redis://127.0.0.1:6379/3\n"
    )
    settings = load_environment()
    assert MeetingContext().budget == 2
    assert "weex-dotenv-secret-123456" in secrets_from_env()
    assert settings.redis_url == "redis://127.0.0.1:6379/9"
    assert settings.home == Path(".auraquant")


def test_a_dotenv_loaded_by_one_test_does_not_reach_the_next_part_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auraquant.settings import load_environment

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("AURAQUANT_LEAK_PROBE=1\n")
    load_environment()
    import os

    assert os.environ["AURAQUANT_LEAK_PROBE"] == "1"


def test_a_dotenv_loaded_by_one_test_does_not_reach_the_next_part_2() -> None:
    import os

    assert "AURAQUANT_LEAK_PROBE" not in os.environ  # the conftest restored the environment
