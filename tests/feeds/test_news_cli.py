"""`auraquant news run` and `auraquant alerts last` as a new user runs them: progress, alerts,
a summary, clear one-line errors and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auraquant.cli import app
from tests.feeds.conftest import REDIS_URL, many_rows, write_news
from tools.news_labels import stored_ids

runner = CliRunner()
AURAQUANT = str(Path(sys.executable).parent / "auraquant")


@pytest.fixture()
def no_redis(monkeypatch: pytest.MonkeyPatch, aq_home: Path, tmp_path: Path) -> Path:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no project .env
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    return aq_home


@pytest.mark.data
def test_news_run_replays_the_shared_file_in_memory_as_a_user_sees_it(
    tmp_path: Path, shared_data: Path
) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"AURAQUANT_HOME": str(home)}
    kaggle = shared_data / "news" / "kaggle_cryptonews_2021-10_2021-12.csv.gz"
    res = subprocess.run(
        [AURAQUANT, "news", "run", "--replay", str(kaggle)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert "news pipeline on in-memory queues (no REDIS_URL)" in res.stderr
    assert "done: collected 344" in " ".join(res.stderr.split())
    assert res.stdout.count("(latency ") >= 5  # the console notifier's alerts
    assert "★" in res.stdout
    assert len(stored_ids("feeds", home / "store")) == 344
    last = subprocess.run(
        [AURAQUANT, "alerts", "last", "3", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    alerts = json.loads(last.stdout)["alerts"]
    assert len(alerts) == 3 and all(0 <= a["latency_seconds"] < 30 for a in alerts)
    bad = subprocess.run(
        [AURAQUANT, "news", "run", "--replay", str(tmp_path / "nope")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--replay:" in bad.stderr and "no such file or folder" in bad.stderr


def test_news_run_json_summary_and_alerts_last_without_redis(
    no_redis: Path, tmp_path: Path
) -> None:
    path = write_news(tmp_path / "n.csv", many_rows(30))
    res = runner.invoke(app, ["news", "run", "--replay", str(path), "--notify", "none", "--json"])
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["collected"] == summary["labelled"] == summary["stored"] == 30
    assert summary["alerts"] == 6 and summary["backend"] == "memory"
    last = runner.invoke(app, ["alerts", "last", "2"])
    assert last.exit_code == 0 and "BTCUSDT" in last.stdout and "ms" in last.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["news", "run"], "no source: choose --replay"),
        (["news", "run", "--replay", "x.csv", "--speed", "2", "--rate", "3"], "choose one"),
        (["news", "run", "--replay", "{csv}", "--threshold", "1.5"], "threshold=1.5"),
        (["news", "run", "--replay", "{csv}", "--notify", "pager"], "--notify 'pager'"),
        (["news", "run", "--replay", "{csv}", "--notify", "telegram"], "TELEGRAM_BOT_TOKEN"),
        (
            ["news", "run", "--replay", "{csv}", "--labeler", "llm", "--model", "offline"],
            "needs a provider:model",
        ),
        (["news", "run", "--cryptopanic"], "set CRYPTOPANIC_TOKEN"),
        (["news", "collect", "--replay", "{csv}"], "set REDIS_URL"),
        (["news", "label"], "set REDIS_URL"),
        (["alerts", "last", "0"], "N=0"),
    ],
)
def test_bad_input_is_one_clear_error(
    no_redis: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    csv = write_news(tmp_path / "n.csv", many_rows(3))
    res = runner.invoke(app, [a.replace("{csv}", str(csv)) for a in args])
    assert res.exit_code == 2, res.stdout
    assert message in " ".join(res.stderr.split())
    assert "Traceback" not in res.stderr


def test_unreachable_redis_is_one_clear_error_without_the_password(
    no_redis: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("REDIS_URL", f"redis://user:hunter2@127.0.0.1:{port}/0")
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    csv = write_news(tmp_path / "n.csv", many_rows(3))
    res = runner.invoke(app, ["news", "run", "--replay", str(csv)])
    assert res.exit_code == 2
    assert "cannot connect" in res.stderr and "hunter2" not in res.stderr


@pytest.mark.redis
def test_news_run_on_redis_and_alerts_last_reads_the_stream(
    no_redis: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_prefix: str
) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    from auraquant.settings import get_settings

    get_settings.cache_clear()
    path = write_news(tmp_path / "n.csv", many_rows(25))
    res = runner.invoke(
        app,
        [
            "news",
            "run",
            "--replay",
            str(path),
            "--prefix",
            redis_prefix,
            "--notify",
            "none",
            "--rate",
            "200",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["backend"] == "redis" and summary["alerts"] == 5 and summary["stored"] == 25
    last = runner.invoke(app, ["alerts", "last", "10", "--prefix", redis_prefix, "--json"])
    alerts = json.loads(last.stdout)["alerts"]
    assert len(alerts) == 5
    assert [a["title"] for a in alerts] == sorted(
        (a["title"] for a in alerts), key=lambda t: -int(t.split()[1])
    )  # newest first
