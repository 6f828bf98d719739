"""The tradable universe and tagging headlines with the symbols they speak of."""

from __future__ import annotations

import re

ALLOWED_SYMBOLS: tuple[str, ...] = (
    "BTCUSDT",
    "ETHUSDT",
    "SOLUSDT",
    "DOGEUSDT",
    "XRPUSDT",
    "ADAUSDT",
    "BNBUSDT",
    "LTCUSDT",
)

SYNTH_PREFIX = "SYNTH-"


def normalize_symbol(value: str) -> str:
    """``' btcusdt'`` -> ``'BTCUSDT'``; one of the eight pairs, or ``SYNTH-<pair>`` for the
    seeded synthetic market. Anything else is refused with the value and the choices."""
    symbol = value.strip().upper()
    if symbol.removeprefix(SYNTH_PREFIX) not in ALLOWED_SYMBOLS:
        raise ValueError(f"{value!r} is not one of {', '.join(ALLOWED_SYMBOLS)} (or SYNTH-<pair>)")
    return symbol


def trades_as(symbol: str) -> str:
    """The pair a symbol trades as: a synthetic series (``SYNTH-BTCUSDT``) trades under its
    pair's rules and allow-list entry, so the synthetic demo can place orders; it never reaches
    a real venue (WEEX symbols are alphanumeric pairs)."""
    return symbol.removeprefix(SYNTH_PREFIX)


_NAMES: dict[str, tuple[str, ...]] = {
    "BTCUSDT": ("btc", "bitcoin", "bitcoins", "xbt"),
    "ETHUSDT": ("eth", "ether", "ethereum"),
    "SOLUSDT": ("sol", "solana"),
    "DOGEUSDT": ("doge", "dogecoin"),
    "XRPUSDT": ("xrp", "ripple"),
    "ADAUSDT": ("ada", "cardano"),
    "BNBUSDT": ("bnb", "binance coin"),
    "LTCUSDT": ("ltc", "litecoin"),
}
_PATTERNS = {
    sym: re.compile(r"(?<![a-z0-9])(" + "|".join(re.escape(n) for n in names) + r")(?![a-z0-9])")
    for sym, names in _NAMES.items()
}
_CURRENCY = {sym.removesuffix("USDT"): sym for sym in ALLOWED_SYMBOLS}


def tag_symbols(text: str) -> list[str]:
    """Symbols a headline names (``'Ethereum rallies'`` -> ``['ETHUSDT']``), in universe order."""
    low = text.lower()
    return [sym for sym, pat in _PATTERNS.items() if pat.search(low)]


def currencies_to_symbols(currencies: str) -> list[str]:
    """Map a source's currency tags (``'BTC;ETH'``) to symbols, ignoring ones outside the universe."""
    out: list[str] = []
    for c in re.split(r"[;,|\s]+", currencies.strip().upper()):
        sym = _CURRENCY.get(c)
        if sym and sym not in out:
            out.append(sym)
    return out
