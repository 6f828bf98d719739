"""Loopback language-model servers for the tests, in each provider's wire format.

``OpenAIServer`` speaks the OpenAI chat-completions API (``POST /v1/chat/completions``) and
``GeminiServer`` the Gemini API (``POST /v1beta/models/<model>:generateContent``). Both answer a
structured-output request by playing the requested seat with the offline desk's policy (so a
meeting through them reaches the offline desk's decisions), in whatever form the request asked
for: a JSON-schema / JSON-mode reply in the text, or a tool / function call. A ``script`` of
misbehaviours is played first, one per request — fenced or prose-wrapped JSON, malformed JSON, a
missing field, a refusal, an HTTP status with headers (``Retry-After``), a hang — and every
request is counted, so tests can assert how many calls reached the server. ``delay`` adds a
fixed latency per request (the latency benchmark's 500 ms).

They bind 127.0.0.1 on a free port. Nothing here talks to a real provider.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agents.offline import policy_responder

Action = str | tuple[Any, ...]
""""clean" | "fenced" | "prose" | "malformed" | "missing" | "refusal" | "empty" |
("status", code, {headers}) | ("hang", seconds)."""


@dataclass
class Recorded:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


_SEAT = re.compile(r'"id":\s*"([a-z_0-9]+)"')


def seat_of(body: dict[str, Any]) -> str:
    """The seat a request speaks for (the id in its prompt's ``<seat>`` block)."""
    text = json.dumps(body)
    at = text.find("<seat>")
    m = _SEAT.search(text[at:].replace('\\"', '"')) if at >= 0 else None
    return m.group(1) if m else ""


@dataclass
class ServerState:
    script: list[Action] = field(default_factory=list)
    delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reject: frozenset[str] = frozenset()
    """Request kinds answered 400 like a server that lacks them: "json_schema", "tools"."""
    by_seat: dict[str, list[Action]] = field(default_factory=dict)
    """Scripts per seat (the ``<seat>`` id in the prompt): concurrent seats stay deterministic.
    A seat whose script holds ``"always:<action>"`` gets that action for good."""

    def next_action(self, body: dict[str, Any]) -> Action:
        with self.lock:
            if self.by_seat:
                seat = seat_of(body)
                script = self.by_seat.get(seat) or self.by_seat.get("*")
                if script:
                    head = script[0]
                    if isinstance(head, str) and head.startswith("always:"):
                        return head.removeprefix("always:")
                    return script.pop(0)
            return self.script.pop(0) if self.script else "clean"


def _answer(messages: list[BaseMessage], name: str) -> dict[str, Any]:
    reply = policy_responder(messages, [{"function": {"name": name}}], name)
    return dict(reply.tool_calls[0]["args"])


def _shaped(action: Action, args: dict[str, Any]) -> str:
    text = json.dumps(args)
    if action == "fenced":
        return f"```json\n{text}\n```"
    if action == "prose":
        return f"Here is my structured view, as requested:\n{text}\nLet me know if you need more."
    if action == "malformed":
        return text[: len(text) // 2]
    if action == "missing":
        first = next(iter(args))
        return json.dumps({k: v for k, v in args.items() if k != first})
    if action == "empty":
        return ""
    return text


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class _Handler(BaseHTTPRequestHandler):
    server_state: ServerState

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        st = self.server_state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        with st.lock:
            st.requests.append(Recorded(self.path, body, dict(self.headers), time.monotonic()))
        rf = (body.get("response_format") or {}).get("type")
        asks = {rf} if rf else set()
        if body.get("tools"):
            asks.add("tools")
        if asks & st.reject:
            self._send(400, {"error": {"message": f"unsupported: {sorted(asks & st.reject)}",
                                       "type": "invalid_request_error", "code": 400}})  # fmt: skip
            return
        action = st.next_action(body)
        if st.delay:
            time.sleep(st.delay)
        if isinstance(action, tuple) and action[0] == "hang":
            time.sleep(float(action[1]))
            return
        if isinstance(action, tuple) and action[0] == "status":
            code = int(action[1])
            headers = dict(action[2]) if len(action) > 2 else {}
            self._send(code, self.error_payload(code), headers)
            return
        with contextlib.suppress(BrokenPipeError):  # the client gave up (timeout)
            self._send(200, self.reply(body, action))

    def error_payload(self, code: int) -> dict[str, Any]:
        raise NotImplementedError

    def reply(self, body: dict[str, Any], action: Action) -> dict[str, Any]:
        raise NotImplementedError


# --- OpenAI ----------------------------------------------------------------------------------
_HINT = re.compile(r"JSON\s+schema for (\w+)")


class _OpenAIHandler(_Handler):
    def error_payload(self, code: int) -> dict[str, Any]:
        return {
            "error": {"message": f"loopback error {code}", "type": "server_error", "code": code}
        }

    def reply(self, body: dict[str, Any], action: Action) -> dict[str, Any]:
        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        messages: list[BaseMessage] = [
            kinds[m["role"]](m.get("content") or "") for m in body["messages"]
        ]
        rf = body.get("response_format") or {}
        tools = body.get("tools") or []
        if rf.get("type") == "json_schema":
            name = rf["json_schema"]["name"]
        elif tools:
            name = tools[0]["function"]["name"]
        else:
            found = _HINT.findall(" ".join(str(m.content) for m in messages))
            name = found[-1] if found else "TurnDraft"
        args = _answer(messages, name)
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if action == "refusal":
            message["refusal"] = "I'm sorry, I can't help with trading decisions."
        elif tools and action == "clean":
            message["tool_calls"] = [
                {"id": "call_loopback", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(args)}}
            ]  # fmt: skip
        else:
            message["content"] = _shaped(action, args)
        prompt = sum(_tokens(str(m.content)) for m in messages)
        completion = _tokens(json.dumps(args))
        return {
            "id": "chatcmpl-loopback",
            "object": "chat.completion",
            "created": 0,
            "model": f"{body['model']}-loopback-2024-07-18",
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }


# --- Gemini ----------------------------------------------------------------------------------
class _GeminiHandler(_Handler):
    def error_payload(self, code: int) -> dict[str, Any]:
        status = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}.get(code, "ERROR")
        return {"error": {"code": code, "message": f"loopback error {code}", "status": status}}

    def reply(self, body: dict[str, Any], action: Action) -> dict[str, Any]:
        messages: list[BaseMessage] = []
        sys = body.get("systemInstruction") or body.get("system_instruction")
        if sys:
            messages.append(SystemMessage("".join(p.get("text", "") for p in sys["parts"])))
        for c in body.get("contents", []):
            text = "".join(p.get("text", "") for p in c.get("parts", []))
            messages.append(AIMessage(text) if c.get("role") == "model" else HumanMessage(text))
        gen = body.get("generationConfig") or {}
        schema = gen.get("responseJsonSchema") or gen.get("responseSchema")
        tools = body.get("tools") or []
        if schema:
            name = schema.get("title") or "TurnDraft"
        elif tools:
            name = tools[0]["functionDeclarations"][0]["name"]
        else:
            name = "TurnDraft"
        args = _answer(messages, name)
        part: dict[str, Any]
        if tools and not schema and action == "clean":
            part = {"functionCall": {"name": name, "args": args}}
        else:
            part = {"text": _shaped(action, args)}
        prompt = sum(_tokens(str(m.content)) for m in messages)
        completion = _tokens(json.dumps(args))
        finish = "SAFETY" if action == "refusal" else "STOP"
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [part] if finish == "STOP" else []},
                 "finishReason": finish, "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": prompt,
                "candidatesTokenCount": completion,
                "totalTokenCount": prompt + completion,
            },
            "modelVersion": "gemini-2.5-flash-loopback-001",
        }  # fmt: skip


@dataclass
class Loopback:
    """A running loopback server: its URL, its script and what it was asked."""

    url: str
    state: ServerState

    @property
    def calls(self) -> int:
        return len(self.state.requests)

    @property
    def requests(self) -> list[Recorded]:
        return self.state.requests


@contextmanager
def serve(
    kind: str,
    script: list[Action] | None = None,
    delay: float = 0.0,
    port: int = 0,
    by_seat: dict[str, list[Action]] | None = None,
    reject: tuple[str, ...] = (),
) -> Iterator[Loopback]:
    """Run the ``kind`` ("openai" | "gemini") loopback server on 127.0.0.1 (port 0 = free)."""
    state = ServerState(
        script=list(script or []),
        delay=delay,
        by_seat={k: list(v) for k, v in (by_seat or {}).items()},
        reject=frozenset(reject),
    )
    base = _OpenAIHandler if kind == "openai" else _GeminiHandler
    handler = type("Handler", (base,), {"server_state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    host, p = server.server_address[:2]
    url = f"http://{host}:{p}" + ("/v1" if kind == "openai" else "")
    try:
        yield Loopback(url, state)
    finally:
        server.shutdown()
        server.server_close()
