"""Helpers for the WEEX tests: a loopback WEEX on a free port and clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from exchange.weex.client import WeexClient
from exchange.weex.config import RateLimits, WeexConfig
from exchange.weex.mock.app import MockServer
from exchange.weex.mock.config import Account, MockConfig
from exchange.weex.mock.engine import Bar, MockWeex
from exchange.weex.mock.run import synthetic_path

KEY, SECRET, PASSPHRASE = "test-key-7f3a9c", "test-secret-b81d2e", "testpass4c5d"
SECRETS = (KEY, SECRET, PASSPHRASE)
ACCOUNT = Account(api_key=KEY, secret=SECRET, passphrase=PASSPHRASE)
FAST = RateLimits(after_429_s=0.05)


def client_config(url: str, **kw: Any) -> WeexConfig:
    values: dict[str, Any] = {
        "base_url": url, "api_key": SecretStr(KEY), "api_secret": SecretStr(SECRET),
        "passphrase": SecretStr(PASSPHRASE), "timeout_s": 2.0, "backoff_s": 0.01,
        "backoff_max_s": 0.05, "limits": FAST, "close_cooldown_s": 0.0,
    }  # fmt: skip
    values.update(kw)
    return WeexConfig(**values)


@contextmanager
def loopback(
    paths: dict[str, list[Bar]] | None = None, **config: Any
) -> Iterator[tuple[MockServer, MockWeex]]:
    cfg = MockConfig(accounts=[ACCOUNT], **config)
    mock = MockWeex(cfg, paths or {"cmt_btcusdt": synthetic_path()})
    with MockServer(mock) as server:
        yield server, mock


def client_for(server: MockServer, events: list[dict[str, Any]] | None = None,
               **kw: Any) -> WeexClient:  # fmt: skip
    return WeexClient(client_config(server.url, **kw),
                      on_event=events.append if events is not None else None)  # fmt: skip
