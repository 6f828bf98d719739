"""`auraquant weex` input errors, in process: one line naming the option, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app
from auraquant.settings import get_settings


@pytest.fixture(autouse=True)
def _settings(aq_home: Path, monkeypatch: pytest.MonkeyPatch):
    for n in ("WEEX_API_KEY", "WEEX_API_SECRET", "WEEX_API_PASSPHRASE", "WEEX_BASE_URL"):
        monkeypatch.delenv(n, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _run(*args: str):
    res = CliRunner().invoke(app, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit)
    return res


def test_bad_base_url_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEEX_BASE_URL", "api-contract.weex.com")
    get_settings.cache_clear()
    res = _run("weex", "check")
    assert (
        res.exit_code == 2
        and "WEEX_BASE_URL: 'api-contract.weex.com' is not an http(s) URL" in (res.stderr)
    )


def test_bad_fault_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "faults.json"
    bad.write_text(json.dumps([{"kind": "explode"}]))
    res = _run("weex", "mock", "--port", "0", "--faults", str(bad))
    assert res.exit_code == 2 and "--faults:" in res.stderr and "kind" in res.stderr
    missing = _run("weex", "mock", "--port", "0", "--faults", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2 and "nope.json" in missing.stderr


def test_bad_options_name_themselves() -> None:
    res = _run("weex", "test-trade", "--notional", "-5")
    assert res.exit_code == 2 and "--notional: -5.0 must be > 0" in res.stderr
    res = _run("weex", "test-trade", "--repeat", "0")
    assert res.exit_code == 2 and "--repeat" in res.stderr
    res = _run("weex", "check", "--symbol", "DOGEBTC")
    assert res.exit_code == 2 and "--symbol" in res.stderr
