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


ORDER_KEYS = frozenset({"order_id", "entry_order_id", "stop_loss_order_id",
                        "take_profit_order_id", "order_ids", "stop_loss_ids", "take_profit_ids"})  # fmt: skip


def orders_named(obj: Any) -> set[str]:
    """The order ids a record's output names anywhere (fills included); an order WEEX refused
    (``rejected:<client id>``) has no id there and is left out."""
    found: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ORDER_KEYS:
                vals = v if isinstance(v, list) else [v]
                found |= {str(x) for x in vals if x not in (None, "")}
            found |= orders_named(v)
    elif isinstance(obj, list):
        for v in obj:
            found |= orders_named(v)
    return {x for x in found if not x.startswith("rejected:")}


def check_order_ids(bodies: list[dict[str, Any]], known: dict[str, Any]) -> list[dict[str, Any]]:
    """Every uploaded body whose output names an order carries one of them as a numeric
    ``orderId`` that the loopback WEEX issued; every ``orderId`` at all is one it issued.
    Returns the bodies tied to an order."""
    tied = []
    for b in bodies:
        named = orders_named(b["output"])
        oid = b["orderId"]
        where = f"{b['input'].get('record', {}).get('node')}: {b['explanation'][:120]}"
        if named:
            assert isinstance(oid, int) and not isinstance(oid, bool), (where, oid, named)
            assert str(oid) in named, (where, oid, named)
        if oid is not None:
            assert isinstance(oid, int) and str(oid) in known, (where, oid)
            tied.append(b)
    return tied
