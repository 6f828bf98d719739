"""Reading replies tolerantly, and the retry policy's view of provider errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage

from agents.llm import (
    CallPolicy,
    ModelCallError,
    error_kind,
    extract_json,
    invoke_with_retries,
    is_transient,
    parse_reply,
    retry_after,
)
from agents.schemas import Review

GOOD = {"interrupts": []}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(GOOD),
        f"```json\n{json.dumps(GOOD)}\n```",
        f"```\n{json.dumps(GOOD)}\n```",
        f"Sure! Here it is:\n{json.dumps(GOOD)}\nAnything else?",
        f"Thinking {{not json}} ... final: {json.dumps(GOOD)}",
        json.dumps({"Review": GOOD}),
    ],
)
def test_json_is_found_bare_fenced_or_in_prose(text: str) -> None:
    value, err = parse_reply(AIMessage(text), Review)
    assert err is None and isinstance(value, Review)


def test_bad_replies_say_why() -> None:
    assert "no JSON" in (parse_reply(AIMessage('{"interrupts": ['), Review)[1] or "")
    assert "interrupts" in (parse_reply(AIMessage("{}"), Review)[1] or "")
    assert "empty" in (parse_reply(AIMessage(""), Review)[1] or "")
    refused = AIMessage("", additional_kwargs={"refusal": "I can't help with that"})
    assert "refused" in (parse_reply(refused, Review)[1] or "")
    with pytest.raises(ValueError):
        extract_json("no braces at all")


def _status_error(code: int, headers: dict[str, str] | None = None) -> Exception:
    import openai

    req = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    resp = httpx.Response(code, headers=headers or {}, request=req)
    cls = {429: openai.RateLimitError, 500: openai.InternalServerError}.get(
        code, openai.BadRequestError
    )
    return cls("boom", response=resp, body=None)


def test_transient_errors_are_retried_and_others_are_not() -> None:
    assert is_transient(_status_error(429)) and is_transient(_status_error(500))
    assert not is_transient(_status_error(400))
    assert error_kind(_status_error(429)) == "rate_limited"
    assert error_kind(_status_error(401)) == "credentials"


def test_retry_after_in_seconds_milliseconds_or_a_date() -> None:
    assert retry_after(_status_error(429, {"Retry-After": "3"})) == 3.0
    assert retry_after(_status_error(429, {"retry-after-ms": "250"})) == 0.25
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after(_status_error(429, {"Retry-After": when})) or 0) <= 30
    assert retry_after(_status_error(429)) is None


class _Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def invoke(self, messages: Any) -> AIMessage:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return AIMessage("{}")


def test_retries_wait_the_servers_retry_after_then_give_up_typed() -> None:
    slept: list[float] = []
    policy = CallPolicy(max_retries=2, backoff=0.01, sleep=slept.append)
    flaky = _Flaky(_status_error(429, {"Retry-After": "1.5"}), _status_error(500))
    reply, attempts = invoke_with_retries(flaky, [], policy, seat="s", model_id="openai:x")
    assert attempts == 3 and slept == [1.5, 0.02] and reply.content == "{}"
    never = _Flaky(*[_status_error(500)] * 5)
    with pytest.raises(ModelCallError) as info:
        invoke_with_retries(never, [], policy, seat="s", model_id="openai:x")
    assert never.calls == 3 and info.value.kind == "server_error" and info.value.attempts == 3
    bad = _Flaky(_status_error(400))
    with pytest.raises(ModelCallError):
        invoke_with_retries(bad, [], policy, seat="s", model_id="openai:x")
    assert bad.calls == 1  # a bad request is not retried


def test_failures_survive_pickling_across_worker_processes() -> None:
    import pickle

    from graph.errors import MeetingFailed, failure_record

    err = ModelCallError(seat="cto", model_id="openai:x", kind="timeout", error_class="T",
                         message="slow", attempts=3)  # fmt: skip
    back = pickle.loads(pickle.dumps(err))
    assert (back.seat, back.kind, back.attempts, str(back)) == ("cto", "timeout", 3, str(err))
    failed = MeetingFailed(failure_record(err, node="cto", seat="chair", secrets=[]))
    again = pickle.loads(pickle.dumps(failed))
    assert again.record == failed.record and again.exit_code == 3 and str(again) == str(failed)
