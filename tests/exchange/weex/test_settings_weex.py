"""The WEEX settings: the issue's names, the old names as aliases, secrets kept secret."""

from __future__ import annotations

import pytest

from auraquant.settings import Settings
from tools.paths import PROJECT_ROOT

NAMES = ("WEEX_API_KEY", "WEEX_API_SECRET", "WEEX_API_PASSPHRASE", "WEEX_SECRET_KEY",
         "WEEX_PASSPHRASE", "WEEX_AI_LOG_ENABLED", "WEEX_BASE_URL")  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for n in NAMES:
        monkeypatch.delenv(n, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env


def test_new_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEEX_API_SECRET", "s-new-123456")
    monkeypatch.setenv("WEEX_API_PASSPHRASE", "p-new-123456")
    monkeypatch.setenv("WEEX_AI_LOG_ENABLED", "true")
    s = Settings()
    assert s.weex_secret_key is not None and s.weex_secret_key.get_secret_value() == "s-new-123456"
    assert s.weex_passphrase is not None and s.weex_passphrase.get_secret_value() == "p-new-123456"
    assert s.weex_ai_log_enabled is True
    assert "s-new-123456" not in repr(s) and "p-new-123456" in s.secret_values()


def test_old_names_are_aliases_and_the_new_ones_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEEX_SECRET_KEY", "s-old-123456")
    monkeypatch.setenv("WEEX_PASSPHRASE", "p-old-123456")
    s = Settings()
    assert s.weex_secret_key.get_secret_value() == "s-old-123456"  # type: ignore[union-attr]
    assert s.weex_passphrase.get_secret_value() == "p-old-123456"  # type: ignore[union-attr]
    monkeypatch.setenv("WEEX_API_SECRET", "s-new-123456")
    assert Settings().weex_secret_key.get_secret_value() == "s-new-123456"  # type: ignore[union-attr]


def test_blank_ai_log_flag_is_off_and_env_example_lists_the_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEEX_AI_LOG_ENABLED", "")
    assert Settings().weex_ai_log_enabled is False
    text = (PROJECT_ROOT / ".env.example").read_text()
    for n in NAMES:
        assert f"{n}=" in text
