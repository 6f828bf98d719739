"""One role call through ChatOpenAI, replayed from a vcrpy cassette with the network blocked.

The cassette was recorded against the small loopback fake OpenAI-compatible server below (it
answers a structured-output request by playing the seat with the offline policy), never against
OpenAI: delete the cassette and run this test to re-record it (the fake starts by itself). The
key is a placeholder and the Authorization header is scrubbed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import vcr
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agents import policies, prompts
from agents.models import load_chat_model
from agents.offline import policy_responder
from agents.roles import load_roster
from agents.schemas import TurnDraft
from memos.models import Fact, Memo, Signal

CASSETTE = (
    Path(__file__).resolve().parents[1] / "cassettes" / "agents" / "openai_technical_turn.yaml"
)
FAKE_PORT = 18765  # fixed: the URL is part of what the cassette matches
HEADER = (
    "# Recorded against a loopback fake OpenAI-compatible server (tests/agents/test_recorded_openai.py),\n"
    "# not against OpenAI. Placeholder key; Authorization header scrubbed.\n"
)


class FakeOpenAI(BaseHTTPRequestHandler):
    """POST /v1/chat/completions with response_format json_schema -> the offline seat's answer."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        kinds = {"system": SystemMessage, "user": HumanMessage}
        messages: list[BaseMessage] = [kinds[m["role"]](m["content"]) for m in body["messages"]]
        name = body["response_format"]["json_schema"]["name"]
        reply = policy_responder(messages, [{"function": {"name": name}}], name)
        out = {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": json.dumps(reply.tool_calls[0]["args"])}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }  # fmt: skip
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def openai_server() -> Iterator[bool]:
    """Starts the fake only when there is no cassette yet (recording)."""
    if CASSETTE.exists():
        yield False
        return
    server = ThreadingHTTPServer(("127.0.0.1", FAKE_PORT), FakeOpenAI)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield True
    finally:
        server.shutdown()
        server.server_close()


def memo() -> Memo:
    values: dict[str, Any] = {
        "market.price": 100.0, "market.atr_14": 1.0, "tech.trend": "down", "tech.macd_hist": -0.3,
        "tech.rsi_14": 41.0, "tech.support": 92.0, "tech.resistance": 104.0, "market.return_1h": -0.006,
    }  # fmt: skip
    return Memo(
        id="cassette-memo", symbol="ETHUSDT", at=datetime(2023, 4, 20, 12, tzinfo=UTC),
        facts=[Fact(id=k, kind="technical", text=f"{k} = {v}", value=v, source="test") for k, v in values.items()],
        signals=[Signal(name="trend", direction="SHORT", strength=0.5), Signal(name="momentum", direction="SHORT", strength=0.6)],
        unknowns=[], data_hash="fixed",
    )  # fmt: skip


def test_technical_turn_through_chat_openai_replays_from_the_cassette(openai_server: bool) -> None:
    recorder = vcr.VCR(
        record_mode="once" if openai_server else "none",
        filter_headers=["authorization", "openai-organization", "openai-project", "cookie", "set-cookie"],
        match_on=["method", "scheme", "host", "port", "path", "body"],
        decode_compressed_response=True,
    )  # fmt: skip
    model = load_chat_model(
        "openai:gpt-4o-mini", base_url=f"http://127.0.0.1:{FAKE_PORT}/v1",
        api_key="sk-placeholder-not-a-key", max_retries=0,
    )  # fmt: skip
    role = load_roster().get("technical_analyst")
    messages = prompts.turn_messages(role, "ETHUSDT", "2023-04-20T12:00:00Z", prompts.render_memo(memo()),
                                     {"desk": policies.DEFAULT_DESK})  # fmt: skip
    with recorder.use_cassette(str(CASSETTE)) as cass:
        turn = model.with_structured_output(TurnDraft).invoke(messages)
    assert isinstance(turn, TurnDraft)
    assert turn.stance == "SHORT" and "tech.trend" in turn.evidence
    assert turn.stop_loss is not None and turn.stop_loss > 100.0
    if openai_server:
        CASSETTE.write_text(HEADER + CASSETTE.read_text(encoding="utf-8"), encoding="utf-8")
    else:
        assert cass.play_count == 1 and cass.all_played
    text = CASSETTE.read_text(encoding="utf-8")
    assert text.startswith(HEADER)
    assert "sk-placeholder" not in text and "authorization:" not in text.lower()
