"""`auraquant weex check | test-trade | mock` as a new user runs them: real processes, the
loopback WEEX replaying real candles from the store, credentials from the environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow]
AURAQUANT = str(Path(sys.executable).parent / "auraquant")
KEY, SECRET, PASS = "cli-key-5e8a1f", "cli-secret-0b7c44d2", "clipass93ab"


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEEX_")}
    env.update({"AURAQUANT_HOME": str(home), "WEEX_API_KEY": KEY, "WEEX_API_SECRET": SECRET,
                "WEEX_API_PASSPHRASE": PASS, "COLUMNS": "200", **extra})  # fmt: skip
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AURAQUANT, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


@pytest.fixture(scope="module")
def weex_mock(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    cwd = tmp_path_factory.mktemp("cli")
    home = cwd / "home"
    home.mkdir()
    (home / "store").symlink_to(real_store)  # the shared store stays read-only
    ready = cwd / "url"
    proc = subprocess.Popen(
        [AURAQUANT, "weex", "mock", "--port", "0", "--bar-seconds", "0", "--ready-file",
         str(ready), "--symbol", "BTCUSDT"],
        env=_env(home), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text()):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield ready.read_text(), home, cwd
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert "Traceback" not in err
    for s in (SECRET, PASS, KEY):
        assert s not in out + err


def _clean(res: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in res.stderr + res.stdout
    for s in (SECRET, PASS, KEY):
        assert s not in res.stderr + res.stdout


def test_check_is_dry_and_reports_the_venue(weex_mock, tmp_path: Path) -> None:
    url, home, cwd = weex_mock
    res = run(["weex", "check", "--json"], _env(home, WEEX_BASE_URL=url), cwd)
    _clean(res)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["contracts"] == 8 and len(out["competition_pairs_listed"]) == 8
    assert out["usdt"]["equity"] and abs(out["clock_skew_ms"]) < 5000
    assert out["contract"]["min_order_size"] == "0.001" and out["orders_placed"] == 0
    human = run(["weex", "check"], _env(home, WEEX_BASE_URL=url), cwd)
    assert human.returncode == 0 and "none (check is dry)" in human.stdout


def test_test_trade_dry_then_executed_with_evidence(weex_mock, tmp_path: Path) -> None:
    url, home, cwd = weex_mock
    env = _env(home, WEEX_BASE_URL=url)
    before = httpx.get(url + "/_mock/state").json()["placements"]
    dry = run(["weex", "test-trade", "--symbol", "BTCUSDT", "--notional", "10", "--json"], env, cwd)
    _clean(dry)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["cycles"] == []
    assert httpx.get(url + "/_mock/state").json()["placements"] == before
    evidence = tmp_path / "evidence.jsonl"
    res = run(["weex", "test-trade", "--symbol", "BTCUSDT", "--notional", "40", "--execute",
               "--repeat", "2", "--evidence", str(evidence), "--json"], env, cwd)  # fmt: skip
    _clean(res)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert [c["flat"] for c in out["cycles"]] == [True, True]
    assert all(c["open_status"] == c["close_status"] == "filled" for c in out["cycles"])
    assert 20 <= float(out["plan"]["notional"]) <= 40
    placements = httpx.get(url + "/_mock/state").json()["placements"]
    assert len(placements) - len(before) == 4 and set(placements.values()) == {1}
    lines = [json.loads(x) for x in evidence.read_text().splitlines()]
    assert len(lines) == out["requests_logged"] and len(lines) >= 10
    assert {x["path"] for x in lines} >= {"/capi/v2/order/placeOrder", "/capi/v2/order/detail"}
    assert all(x["status"] == 200 for x in lines)
    text = evidence.read_text()
    assert not any(s in text for s in (KEY, SECRET, PASS))
    assert '"ACCESS-KEY": "****"' in text


def test_errors_are_one_clear_line(weex_mock, tmp_path: Path) -> None:
    url, home, cwd = weex_mock
    bad = run(
        ["weex", "check"], _env(home, WEEX_BASE_URL=url, WEEX_API_SECRET="wrong-secret-1"), cwd
    )
    _clean(bad)
    assert bad.returncode == 3 and "WEEX refused the credentials" in bad.stderr
    assert "40009" in bad.stderr and "wrong-secret-1" not in bad.stderr
    env = _env(home, WEEX_BASE_URL=url)
    env.pop("WEEX_API_KEY")
    missing = run(["weex", "check"], env, cwd)
    assert missing.returncode == 2 and "WEEX_API_KEY: is not set" in missing.stderr
    down = run(["weex", "check"], _env(home, WEEX_BASE_URL="http://127.0.0.1:9"), cwd)
    _clean(down)
    assert down.returncode == 3 and "cannot reach http://127.0.0.1:9" in down.stderr
    small = run(["weex", "test-trade", "--notional", "10", "--max-notional", "5"],
                _env(home, WEEX_BASE_URL=url), cwd)  # fmt: skip
    assert small.returncode == 2 and "--notional: 10.0 USDT is below the minimum order" in (
        small.stderr.replace("\n", " ")
    )
    sym = run(["weex", "test-trade", "--symbol", "FOOUSDT"], _env(home, WEEX_BASE_URL=url), cwd)
    assert sym.returncode == 2 and "--symbol" in sym.stderr and "Traceback" not in sym.stderr


def test_mock_without_candles_says_how_to_get_them(tmp_path: Path) -> None:
    res = run(["weex", "mock", "--port", "0"], _env(tmp_path / "empty"), tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "auraquant data import" in res.stderr.replace("\n", " ")


def test_mock_on_a_bad_or_busy_port_is_one_clear_error(weex_mock, tmp_path: Path) -> None:
    url, home, cwd = weex_mock
    env = _env(home)
    big = run(["weex", "mock", "--port", "99999", "--symbol", "BTCUSDT"], env, cwd)
    assert big.returncode == 2 and "--port" in big.stderr and "65535" in big.stderr
    busy = url.rsplit(":", 1)[1]  # the module's mock listens there
    taken = run(["weex", "mock", "--port", busy, "--symbol", "BTCUSDT"], env, cwd)
    _clean(taken)
    assert taken.returncode == 2
    assert f"--port: 127.0.0.1:{busy} is already in use" in taken.stderr.replace("\n", " ")
