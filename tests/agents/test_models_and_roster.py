"""The chat-model factory (lazy providers) and the roster as configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agents.models import ModelSpecError, load_chat_model, parse_model_id
from agents.offline import OfflineChatModel
from agents.roles import RosterError, load_roster


def test_offline_is_the_default_and_needs_no_provider_sdk() -> None:
    assert isinstance(load_chat_model(), OfflineChatModel)
    code = ("import sys, agents.models, graph.meeting; "
            "print(sorted(m for m in ('langchain_openai', 'langchain_google_genai', 'openai') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_openai_with_a_base_url_builds_chat_openai() -> None:
    from langchain_openai import ChatOpenAI

    m = load_chat_model(
        "openai:gpt-4o-mini", base_url="http://127.0.0.1:9/v1", api_key="sk-placeholder"
    )
    assert isinstance(m, ChatOpenAI)
    assert m.model_name == "gpt-4o-mini" and m.openai_api_base == "http://127.0.0.1:9/v1"
    o = load_chat_model("ollama:llama3.1")
    assert isinstance(o, ChatOpenAI) and o.openai_api_base == "http://127.0.0.1:11434/v1"


def test_google_genai_builds_lazily() -> None:
    from langchain_google_genai import ChatGoogleGenerativeAI

    assert isinstance(load_chat_model("google_genai:gemini-2.5-flash"), ChatGoogleGenerativeAI)


def test_a_missing_provider_is_a_clear_error() -> None:
    with pytest.raises(ModelSpecError) as err:
        load_chat_model("anthropic:claude")
    assert str(err.value) == (
        "model 'anthropic:claude': unknown provider 'anthropic'; use one of "
        "offline, openai:<model>, ollama:<model>, google_genai:<model>"
    )
    with pytest.raises(ModelSpecError, match=r"model 'openai:': name the model after the colon"):
        parse_model_id("openai:")


def test_bad_roster_files_name_the_field(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    p.write_text(
        json.dumps(
            {
                "extra": [
                    {
                        "id": "Bull Man",
                        "title": "B",
                        "seat": "analyst",
                        "lens": "bull",
                        "focus": "x",
                    }
                ]
            }
        )
    )
    with pytest.raises(
        RosterError,
        match=r"r.json: roles.4: Value error, role id 'Bull Man' must be lower_snake_case",
    ):
        load_roster(p)
    p.write_text(
        json.dumps(
            {
                "extra": [
                    {"id": "cto2", "title": "C", "seat": "chair", "lens": "chair", "focus": "x"}
                ]
            }
        )
    )
    with pytest.raises(RosterError, match="a roster needs exactly 1 chair seat, found 2"):
        load_roster(p)
    p.write_text(
        json.dumps(
            {
                "extra": [
                    {"id": "x", "title": "X", "seat": "analyst", "lens": "oracle", "focus": "x"}
                ]
            }
        )
    )
    with pytest.raises(RosterError, match=r"roles\.4\.lens: Input should be"):
        load_roster(p)
    with pytest.raises(RosterError, match="does not exist"):
        load_roster(tmp_path / "missing.json")
