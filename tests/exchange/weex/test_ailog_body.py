"""The project's AI-log record mapped to WEEX's uploadAiLog body, accepted by the loopback WEEX
(which validates the body the way weex-api §11/§15 describe)."""

from __future__ import annotations

import hashlib

import pytest

from exchange.weex.ailog import (
    clip_explanation,
    model_with_version,
    to_weex_body,
    weex_order_id,
)
from tests.exchange.weex.kit import client_for, loopback

RECORD = {
    "run_id": "r1", "seq": 7, "node": "execute", "stage": "ENTER", "model": "openai:gpt-4o-mini",
    "input": {"task": "Decide on BTCUSDT", "memo_id": "m-1", "price": 28800.5},
    "output": {"action": "LONG", "confidence": 0.7}, "explanation": "Momentum and funding.",
    "orderId": "O-000042", "timestamp": "2023-04-20T12:00:00.000Z", "symbol": "BTCUSDT",
}  # fmt: skip


def test_order_ids_are_longs() -> None:
    assert weex_order_id("O-000042") == 42
    assert weex_order_id("696073048050107226") == 696073048050107226
    assert weex_order_id(696073048050107226) == 696073048050107226
    assert weex_order_id(None) is None
    with pytest.raises(ValueError, match="orderId: 'abc' has no numeric form"):
        weex_order_id("abc")


def test_model_carries_a_version() -> None:
    assert model_with_version("openai:gpt-4o-mini", "2024-07-18") == "openai:gpt-4o-mini@2024-07-18"
    assert model_with_version("GPT-5-mini", None) == "GPT-5-mini"
    assert model_with_version("offline-v1", "v1") == "offline-v1"


def test_explanation_is_at_most_500_words_and_1000_characters() -> None:
    words = clip_explanation("w " * 800)
    assert len(words.split()) <= 500 and len(words) <= 1000
    long_words = clip_explanation(("abcdefghij " * 300).strip())
    assert len(long_words) <= 1000 and long_words.endswith("…")
    assert clip_explanation("  a \n b  ") == "a b"


def test_record_maps_to_the_documented_body() -> None:
    out = to_weex_body(RECORD, model_version="2024-07-18")
    b = out.body
    assert list(b) == ["orderId", "stage", "model", "input", "output", "explanation"]
    assert b["orderId"] == 42 and b["stage"] == "ENTER"
    assert b["model"] == "openai:gpt-4o-mini@2024-07-18"
    assert b["input"]["prompt"] == "Decide on BTCUSDT"
    assert b["input"]["data"] == {"memo_id": "m-1", "price": 28800.5}
    assert b["input"]["record"] == {"run_id": "r1", "seq": 7, "node": "execute",
                                    "timestamp": "2023-04-20T12:00:00.000Z", "symbol": "BTCUSDT"}  # fmt: skip
    assert b["output"] == {"action": "LONG", "confidence": 0.7} and out.blobs == {}
    named = to_weex_body(RECORD, stage_names={"ENTER": "Order Execution"})
    assert named.body["stage"] == "Order Execution"


def test_a_long_prompt_travels_as_its_hash_with_a_stored_copy() -> None:
    prompt = "analyse " * 2000
    out = to_weex_body({**RECORD, "input": {"prompt": prompt, "data": {"rsi": 31}}},
                       max_prompt_chars=4000)  # fmt: skip
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    assert out.body["input"]["prompt_sha256"] == digest and out.blobs == {digest: prompt}
    assert len(out.body["input"]["prompt"]) <= 501 and out.body["input"]["data"] == {"rsi": 31}


def test_the_loopback_weex_accepts_the_mapped_body_and_refuses_bad_ones() -> None:
    with loopback() as (server, mock):
        client = client_for(server)
        assert client.upload_ai_log(to_weex_body(RECORD).body)["data"] == "upload success"
        assert mock.ai_logs[0]["orderId"] == 42
        from exchange.weex.errors import WeexBusinessError

        with pytest.raises(WeexBusinessError, match="orderId must be a Long"):
            client.upload_ai_log({**to_weex_body(RECORD).body, "orderId": "O-000042"})
        with pytest.raises(WeexBusinessError, match="missing explanation"):
            client.upload_ai_log({**to_weex_body(RECORD).body, "explanation": ""})


def test_the_model_carries_the_version_its_server_returned() -> None:
    """A model-call record teaches the version its server reported for that model id; every
    later record naming the model id carries it; local models carry the package's."""
    from exchange.weex.ailog import ModelVersions, versioned_model

    v = ModelVersions(local_version="auraquant-9.9")
    call = {"kind": "llm_call", "model": "openai:gpt-4o-mini",
            "output": {"model_version": "gpt-4o-mini-2024-07-18"}}  # fmt: skip
    assert v.model_for({"model": "openai:gpt-4o-mini"}) == "openai:gpt-4o-mini"  # not known yet
    assert v.model_for(call) == "openai:gpt-4o-mini-2024-07-18"
    assert v.model_for({"model": "openai:gpt-4o-mini"}) == "openai:gpt-4o-mini-2024-07-18"
    assert v.model_for({"model": "offline"}) == "offline@auraquant-9.9"
    assert v.model_for({"model": "deterministic:graph.desk"}) == (
        "deterministic:graph.desk@auraquant-9.9"
    )
    assert v.model_for({"model": "offline,openai:gpt-4o-mini"}) == (
        "offline@auraquant-9.9,openai:gpt-4o-mini-2024-07-18"
    )
    # a reported name that does not extend the configured one is appended
    assert versioned_model("ollama:llama3", reported={"ollama:llama3": "sha-4f2"}) == (
        "ollama:llama3@sha-4f2"
    )


def test_an_order_weex_refused_has_no_long_and_is_kept_as_a_reference() -> None:
    b = to_weex_body({**RECORD, "orderId": "rejected:aq-0123"}).body
    assert b["orderId"] is None and b["input"]["record"]["order_ref"] == "rejected:aq-0123"
