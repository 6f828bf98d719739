"""`langgraph dev` serves the meeting graph offline: run a meeting through the SDK and read the
turns back from the thread's state history, then stop the server cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.paths import PROJECT_ROOT

pytestmark = [pytest.mark.data, pytest.mark.slow]

LANGGRAPH = PROJECT_ROOT / ".venv" / "bin" / "langgraph"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def dev_server(real_store: Path, tmp_path: Path) -> Any:
    if not LANGGRAPH.exists():
        pytest.skip(f"{LANGGRAPH} not installed")
    home = tmp_path / "home"
    home.mkdir()
    (home / "store").symlink_to(real_store)
    port = _free_port()
    env = {
        **os.environ,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
        "LANGGRAPH_NO_VERSION_CHECK": "1",
        "AURAQUANT_HOME": str(home),
    }
    log = (tmp_path / "dev.log").open("w")  # outside the project: no reload storms
    proc = subprocess.Popen(
        [str(LANGGRAPH), "dev", "--config", str(PROJECT_ROOT / "langgraph.json"), "--port", str(port),
         "--no-browser", "--no-reload"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"langgraph dev exited {proc.returncode}: {(tmp_path / 'dev.log').read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"langgraph dev not ready: {(tmp_path / 'dev.log').read_text()[-3000:]}"
                )
            time.sleep(0.2)
        yield url, home
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert proc.returncode is not None


def test_a_meeting_runs_in_langgraph_dev(dev_server: Any) -> None:
    from langgraph_sdk import get_client

    url, home = dev_server

    async def go() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        client = get_client(url=url)
        assistants = await client.assistants.search(graph_id="meeting")
        assert assistants, "the meeting graph is not registered"
        thread = await client.threads.create()
        final = await client.runs.wait(
            thread["thread_id"],
            "meeting",
            input={"symbol": "BTCUSDT", "at": "2023-04-20T12:00:00Z"},
        )
        history = await client.threads.get_history(thread["thread_id"], limit=50)
        return dict(final), list(history)

    final, history = asyncio.run(go())
    assert final["decision"]["symbol"] == "BTCUSDT"
    turns = history[0]["values"]["turns"]
    assert {t["role"] for t in turns} >= {"market_analyst", "technical_analyst", "risk_manager"}
    seen = {n for h in history for n in h.get("next", [])}
    assert {"open", "market_analyst", "technical_analyst", "cto", "gate"} <= seen
    run_dir = home / "runs" / final["run_id"]
    assert (run_dir / "ailog.ndjson").exists() and (run_dir / "journal.json").exists()
