"""Funding-rate series: Binance's funding-rate history, read into ``{funding_time_ns: rate}``.

Binance USDⓈ-M ``GET /fapi/v1/fundingRate`` returns rows ``{"symbol", "fundingTime" (ms),
"fundingRate" (string), "markPrice"}``; its public data dumps are CSV with ``calc_time`` (ms) and
``last_funding_rate``. Either is accepted. A settlement time is put on the 8-hour grid
(00/08/16 UTC; the venue stamps a few milliseconds late), so the exchange can look a rate up by
the funding time it settles (``VirtualExchange.set_funding_rates``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from exchange.costs import FUNDING_INTERVAL_NS

_NS_PER_MS = 1_000_000
_TIME_KEYS = ("fundingTime", "funding_time", "calc_time")
_RATE_KEYS = ("fundingRate", "funding_rate", "last_funding_rate")


def on_funding_grid(ns: int) -> int:
    """The funding time nearest ``ns`` (epoch ns) on the 00/08/16 UTC grid."""
    return (ns + FUNDING_INTERVAL_NS // 2) // FUNDING_INTERVAL_NS * FUNDING_INTERVAL_NS


def _pick(row: Mapping[str, Any], keys: tuple[str, ...], what: str, n: int) -> Any:
    for k in keys:
        if k in row and row[k] not in (None, ""):
            return row[k]
    raise ValueError(f"row {n}: no {what} (expected one of {', '.join(keys)})")


def funding_rates(rows: Iterable[Mapping[str, Any]], symbol: str | None = None) -> dict[int, float]:
    """``{funding_time_ns: rate}`` from Binance-shaped rows (rows of another ``symbol`` are
    skipped when the rows name one)."""
    out: dict[int, float] = {}
    for n, row in enumerate(rows, 1):
        if symbol is not None and row.get("symbol") not in (None, "", symbol):
            continue
        try:
            ms = int(float(_pick(row, _TIME_KEYS, "funding time", n)))
            rate = float(_pick(row, _RATE_KEYS, "funding rate", n))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"funding rates: {exc}") from exc
        out[on_funding_grid(ms * _NS_PER_MS)] = rate
    return out


def read_funding_rates(path: str | Path, symbol: str | None = None) -> dict[int, float]:
    """Read a JSON array (the API's answer) or a CSV file (the data dumps) of funding rates."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        rows = json.loads(text)
        if not isinstance(rows, list):
            raise ValueError(f"{p}: expected a JSON array of funding-rate rows")
        return funding_rates(rows, symbol)
    return funding_rates(csv.DictReader(io.StringIO(text)), symbol)
