"""The loopback WEEX's configuration: accounts, contract table, rules, and faults."""

from __future__ import annotations

import random
import threading
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from exchange.weex.config import COMPETITION_PAIRS

FaultKind = Literal["status", "timeout", "drop", "slow", "lost_response", "late", "reject_preset"]


class Account(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_key: str
    secret: str
    passphrase: str


class ContractRow(BaseModel):
    """A seeded contract (weex-api §12 observed table; configurable)."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    size_increment: int
    tick_size: int
    price_end_step: int = 1
    min_order_size: str
    max_leverage: int = 400


def _row(sym: str, size_dec: int, tick_dec: int, min_size: str) -> ContractRow:
    return ContractRow(symbol=sym, size_increment=size_dec, tick_size=tick_dec,
                       min_order_size=min_size)  # fmt: skip


DEFAULT_CONTRACTS = (
    _row("cmt_btcusdt", 3, 1, "0.001"),
    _row("cmt_ethusdt", 3, 2, "0.001"),
    _row("cmt_solusdt", 1, 2, "0.1"),
    _row("cmt_dogeusdt", 0, 5, "100"),
    _row("cmt_xrpusdt", 0, 4, "10"),
    _row("cmt_adausdt", 0, 4, "10"),
    _row("cmt_bnbusdt", 1, 2, "0.1"),
    _row("cmt_ltcusdt", 1, 2, "0.1"),
)


class FaultRule(BaseModel):
    """One fault: applies to requests whose path ends with ``path`` (``*`` = any), to the next
    ``count`` of them (None: every one) with ``probability``."""

    kind: FaultKind
    path: str = "*"
    count: int | None = Field(default=1, ge=1)
    probability: float = Field(default=1.0, ge=0, le=1)
    status: int = Field(default=500, description="for kind=status: 500, 502, 429, 521 ...")
    delay_s: float = Field(default=2.0, ge=0, description="timeout / slow")

    def matches(self, path: str) -> bool:
        return self.path == "*" or path.endswith(self.path)


class Faults:
    """The live fault rules (thread-safe); a seeded RNG makes probabilistic runs repeatable."""

    def __init__(self, rules: list[FaultRule] | None = None, seed: int = 0) -> None:
        self._rules = list(rules or [])
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.fired: list[tuple[str, str]] = []

    def set(self, rules: list[FaultRule], seed: int | None = None) -> None:
        with self._lock:
            self._rules = list(rules)
            if seed is not None:
                self._rng = random.Random(seed)

    def pick(self, path: str, kinds: tuple[str, ...] | None = None) -> FaultRule | None:
        """The fault for this request (consuming one of its ``count``), or None."""
        with self._lock:
            for i, r in enumerate(self._rules):
                if kinds is not None and r.kind not in kinds:
                    continue
                if not r.matches(path) or self._rng.random() >= r.probability:
                    continue
                if r.count is not None:
                    left = r.count - 1
                    if left <= 0:
                        self._rules.pop(i)
                    else:
                        self._rules[i] = r.model_copy(update={"count": left})
                self.fired.append((r.kind, path))
                return r
        return None


class MockConfig(BaseModel):
    """Everything the loopback WEEX does that WEEX leaves open is a field here."""

    accounts: list[Account] = Field(default_factory=list)
    starting_balance: float = 1000.0
    contracts: tuple[ContractRow, ...] = DEFAULT_CONTRACTS
    allowed_symbols: tuple[str, ...] = COMPETITION_PAIRS
    max_leverage: int = 20
    account_margin_mode: int = 1
    timestamp_window_ms: int = 30_000
    assets_shape: Literal["bare", "wrapped"] = "bare"
    candles_newest_first: bool = True
    fill_market_on_place: bool = Field(
        default=True, description="advance one bar after a market order so it fills at once"
    )
    reject_close_with_pending: bool = Field(
        default=True, description="40015 for a close while orders are open on the symbol"
    )
    reject_duplicate_client_oid: bool = True
    explanation_required: bool = True
    maker_fee: float = 0.0002
    taker_fee: float = 0.0006
    slippage_bps: float = 0.0
    ip_whitelist: tuple[str, ...] = ()
    faults: list[FaultRule] = Field(default_factory=list)
    fault_seed: int = 0
