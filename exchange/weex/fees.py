"""The WEEX venue profile's fees from the venue itself: the contracts endpoint's
``makerFeeRate`` / ``takerFeeRate`` when connected, the profile's defaults otherwise.

``weex_profile(client)`` is ``ExchangeConfig.for_venue("weex")`` with ``maker_fee`` and
``taker_fee`` read from ``/capi/v2/market/contracts`` for one symbol (BTCUSDT unless told). No
client, an unreachable venue, no such contract, or a contract that states no fee: the profile's
default for that fee, and ``FeeSource`` says which was used (exchange/CONTRACT.md "Venue
profiles").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from exchange.config import ExchangeConfig
from exchange.weex.contracts import Contract, to_weex_symbol
from exchange.weex.errors import WeexError


class ContractsReader(Protocol):
    """What is needed of a client (``WeexClient`` is one)."""

    def contracts(self, symbol: str | None = None) -> dict[str, Contract]: ...


@dataclass(frozen=True)
class FeeSource:
    """Where each fee of a profile came from, and why the endpoint was not used if it wasn't."""

    maker_fee: Literal["contracts endpoint", "profile default"]
    taker_fee: Literal["contracts endpoint", "profile default"]
    note: str = ""


def contract_fees(contracts: Mapping[str, Contract], symbol: str) -> dict[str, float]:
    """``{"maker_fee", "taker_fee"}`` that ``symbol``'s contract states (a fee the row leaves
    out is left out here too, so the profile's default stands)."""
    c = contracts.get(to_weex_symbol(symbol))
    if c is None:
        return {}
    given = c.model_fields_set
    out: dict[str, float] = {}
    if "maker_fee_rate" in given:
        out["maker_fee"] = float(c.maker_fee_rate)
    if "taker_fee_rate" in given:
        out["taker_fee"] = float(c.taker_fee_rate)
    return out


def weex_profile(
    client: ContractsReader | None, symbol: str = "BTCUSDT", **overrides: Any
) -> tuple[ExchangeConfig, FeeSource]:
    """The WEEX profile with the venue's own fees for ``symbol`` when ``client`` answers; the
    profile's defaults otherwise. ``overrides`` win over both."""
    fees: dict[str, float] = {}
    note = "no client: not connected"
    if client is not None:
        try:
            fees = contract_fees(client.contracts(), symbol)
            note = "" if fees else f"the contracts endpoint states no fee for {symbol}"
        except (WeexError, ValueError) as exc:
            note = f"contracts endpoint unavailable: {exc}"
    cfg = ExchangeConfig.for_venue("weex", **{**fees, **overrides})
    source = FeeSource(
        maker_fee="contracts endpoint" if "maker_fee" in fees else "profile default",
        taker_fee="contracts endpoint" if "taker_fee" in fees else "profile default",
        note=note,
    )
    return cfg, source
