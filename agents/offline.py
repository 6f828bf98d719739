"""The embedded offline model: a LangChain chat model that plays each seat deterministically.

It reads only what a real model would read — the messages — takes the seat from the system
prompt's ``<seat>`` block and the data from the tagged JSON blocks, and answers the requested
structured output (``Turn``/``Review``/``Resolution``/``DecisionDraft`` drafts) by calling the
role's policy in ``agents.policies`` (``LookUp``: the tool a clarify's answer needs). Because it overrides ``bind_tools``,
``.with_structured_output()`` works on it exactly as on ``ChatOpenAI``; the graph never asks
which model it is talking to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

from agents import policies
from agents.prompts import read_blocks

OFFLINE_MODEL_NAME = "auraquant-offline-1"

Responder = Callable[[list[BaseMessage], list[dict[str, Any]], Any], AIMessage]


def _text(messages: Sequence[BaseMessage]) -> str:
    return "\n\n".join(
        m.content if isinstance(m.content, str) else json.dumps(m.content) for m in messages
    )


def _call_id(name: str, text: str) -> str:
    return "call_" + hashlib.sha256(f"{name}\n{text}".encode()).hexdigest()[:16]


def policy_responder(
    messages: list[BaseMessage], tools: list[dict[str, Any]], tool_choice: Any
) -> AIMessage:
    """Answer as the seat in the prompt, through its policy."""
    text = _text(messages)
    data = read_blocks(text)
    seat = data.get("seat") or {"id": "unknown", "lens": "chair"}
    if not tools:
        return AIMessage(
            f"[{OFFLINE_MODEL_NAME}] {seat.get('title', seat['id'])}: I answer in structured output only."
        )
    name = _chosen_tool(tools, tool_choice)
    if name == "TurnDraft":
        args: dict[str, Any] = policies.opening_turn(seat["lens"], data)
    elif name == "Review":
        args = {"interrupts": policies.review(seat, data)}
    elif name == "Resolution":
        args = policies.resolve(seat, data)
    elif name == "DecisionDraft":
        args = policies.decide(seat, data)
    elif name == "LookUp":
        call = policies.lookup(seat, data)
        args = (
            {"tool": call["name"], "timeframe": call["args"]["timeframe"], "reason": call["reason"]}
            if call is not None
            else {"tool": "none", "timeframe": None, "reason": "the memo answers it"}
        )
    else:
        raise ValueError(f"the offline model has no policy for the output {name!r}")
    return AIMessage(
        "",
        tool_calls=[{"name": name, "args": args, "id": _call_id(name, text), "type": "tool_call"}],
    )


def _chosen_tool(tools: list[dict[str, Any]], tool_choice: Any) -> str:
    names = [t["function"]["name"] for t in tools]
    if isinstance(tool_choice, str) and tool_choice in names:
        return tool_choice
    if isinstance(tool_choice, dict):
        chosen = (tool_choice.get("function") or {}).get("name")
        if chosen in names:
            return str(chosen)
    return names[0]


@lru_cache(maxsize=64)
def _tool_cached(t: type) -> dict[str, Any]:
    return convert_to_openai_tool(t)


def _tool(t: Any) -> dict[str, Any]:
    return _tool_cached(t) if isinstance(t, type) else convert_to_openai_tool(t)


class OfflineChatModel(BaseChatModel):
    """Deterministic, key-free, network-free: same messages in, same message out."""

    model_name: str = OFFLINE_MODEL_NAME
    responder: Responder = policy_responder

    @property
    def _llm_type(self) -> str:
        return "auraquant-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # LangChain re-derives the schema's JSON schema on every call just to label traces
        # (``ls_structured_output_format``): most of an offline call's time, and no use here.
        kwargs.pop("ls_structured_output_format", None)
        formatted = [_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self.responder(messages, kwargs.get("tools") or [], kwargs.get("tool_choice"))
        if not message.response_metadata.get("model_name"):
            message.response_metadata = {**message.response_metadata, "model_name": self.model_name}
        return ChatResult(generations=[ChatGeneration(message=message)])
