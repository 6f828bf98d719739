"""Labelers: the offline rules, and the LLM labeler through the model factory's structured
output with its call cache and its fallback to the offline label (reason recorded)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agents.offline import OfflineChatModel
from feeds.labeler import CallCache, LlmLabeler, OfflineLabeler, make_labeler
from feeds.models import RawItem, item_id
from tools.news_labels import categorise, decay_factor, label_headline, one_sentence

T0 = datetime(2023, 4, 20, 12, 0, tzinfo=UTC)


def _raw(title: str, summary: str = "") -> RawItem:
    return RawItem(
        id=item_id("s", "", title),
        title=title,
        source="s",
        collector="rss",
        published_at=T0,
        seen_at=T0,
        collected_at=T0,
        summary=summary,
    )


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("Curve pools drained in a $60M exploit", "security"),
        ("SEC sues Coinbase for operating an unregistered exchange", "regulation"),
        ("Spot Bitcoin ETF decision delayed again", "etf"),
        ("Binance pauses withdrawals for two hours", "exchange"),
        ("Fed raises interest rates by 25 bps", "macro"),
        ("Starbucks partners with Polygon for rewards", "adoption"),
        ("Bitcoin price tumbles to $27K", "market"),
        ("Ethereum developers set the date of the next upgrade", "technology"),
        ("A podcast about crypto culture", "general"),
    ],
)
def test_offline_categories(title: str, category: str) -> None:
    assert categorise(title)[0] == category


def test_offline_label_fields_and_ranges() -> None:
    hack = label_headline("Exchange hacked, $100M in Bitcoin stolen")
    calm = label_headline("A podcast about crypto culture")
    assert hack.category == "security" and hack.sentiment < -0.5 and hack.symbols == ["BTCUSDT"]
    assert 0.7 <= hack.importance <= 1.0 and 0.0 <= calm.importance < 0.3
    assert one_sentence("T", "First sentence here. Second one.") == "First sentence here."
    assert len(one_sentence("x" * 500, None)) == 200
    assert decay_factor(6.0) == 0.5 and decay_factor(-1.0) == 1.0
    item = OfflineLabeler(lambda: T0).label(_raw("Ethereum rallies 10%", "ETH is up. More."))
    assert (
        item.labeler == "offline" and item.symbols == ["ETHUSDT"] and item.summary == "ETH is up."
    )
    assert item.label_fallback == ""


def _responder(calls: list[str]) -> Any:
    def respond(messages: list, tools: list, tool_choice: Any) -> AIMessage:
        calls.append(str(messages[-1].content))
        args = {
            "category": "regulation",
            "importance": 0.83,
            "sentiment": -0.6,
            "symbols": ["BTCUSDT", "NOTACOIN"],
            "summary": "The SEC sued. It matters.",
        }
        return AIMessage(
            "",
            tool_calls=[
                {
                    "name": tools[0]["function"]["name"],
                    "args": args,
                    "id": "call_1",
                    "type": "tool_call",
                }
            ],
        )

    return respond


def test_llm_labeler_uses_structured_output_and_caches_by_model_and_prompt() -> None:
    calls: list[str] = []
    model = OfflineChatModel(responder=_responder(calls))
    cache = CallCache()
    lab = LlmLabeler("openai:gpt-test", model=model, cache=cache, clock=lambda: T0)
    item = lab.label(_raw("SEC sues a big exchange"))
    assert (item.category, item.importance, item.sentiment) == ("regulation", 0.83, -0.6)
    assert item.symbols == ["BTCUSDT"]  # symbols outside the universe are dropped
    assert item.summary == "The SEC sued." and item.labeler == "openai:gpt-test"
    assert "<headline>SEC sues a big exchange</headline>" in calls[0]
    lab.label(_raw("SEC sues a big exchange"))
    assert len(calls) == 1  # the second answer came from the call cache


def test_llm_labeler_falls_back_to_offline_with_the_reason() -> None:
    # the factory's embedded offline model plays the desk's seats, not a news labeler
    lab = LlmLabeler("offline", clock=lambda: T0)
    item = lab.label(_raw("Exchange hacked, $100M in Bitcoin stolen"))
    offline = OfflineLabeler(lambda: T0).label(_raw("Exchange hacked, $100M in Bitcoin stolen"))
    assert item.labeler == "offline" and item.category == offline.category
    assert item.importance == offline.importance
    assert "no policy for the output 'NewsLabel'" in item.label_fallback

    def bad(messages: list, tools: list, tool_choice: Any) -> AIMessage:
        args = {
            "category": "gossip",
            "importance": 0.5,
            "sentiment": 0,
            "symbols": [],
            "summary": "x",
        }
        return AIMessage(
            "", tool_calls=[{"name": "NewsLabel", "args": args, "id": "c", "type": "tool_call"}]
        )

    odd = LlmLabeler("openai:x", model=OfflineChatModel(responder=bad)).label(_raw("Anything"))
    assert odd.labeler == "offline" and "category='gossip'" in odd.label_fallback


def test_make_labeler_choices() -> None:
    assert make_labeler("offline").name == "offline"
    with pytest.raises(ValueError, match="needs a provider:model"):
        make_labeler("llm", "offline")
    with pytest.raises(ValueError, match="--labeler 'gpt'"):
        make_labeler("gpt")


@pytest.mark.redis
def test_the_call_cache_lives_in_redis_when_there_is_one(redis_bus: Any, redis_prefix: str) -> None:
    calls: list[str] = []
    cache = CallCache(redis_bus.r, f"{redis_prefix}:llm-cache")
    model = OfflineChatModel(responder=_responder(calls))
    LlmLabeler("openai:gpt-test", model=model, cache=cache).label(_raw("SEC sues a big exchange"))
    assert redis_bus.r.hlen(f"{redis_prefix}:llm-cache") == 1
    # another process (a fresh labeler, same Redis) gets the answer without calling the model
    again = LlmLabeler(
        "openai:gpt-test",
        model=OfflineChatModel(responder=_responder(calls)),
        cache=CallCache(redis_bus.r, f"{redis_prefix}:llm-cache"),
    )
    assert again.label(_raw("SEC sues a big exchange")).category == "regulation"
    assert len(calls) == 1
