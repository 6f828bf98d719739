"""The store over HTTP (`auraquant data serve`): the DataCollector of the original plan.

- ``GET /last_price?symbol=BTCUSDT``: the close of the newest stored bar of the finest stored
  timeframe, and the time it closed;
- ``GET /indicators?symbol=BTCUSDT&timeframe=1h``: the memo's indicator snapshot
  (``tools.indicators.snapshot_frame``) of the last ``bars`` closed bars at ``timeframe``.

Read-only, from the Parquet store (kept current by `auraquant data follow`); an unknown symbol or
timeframe is a 404 / 422 naming the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, HTTPException, Query

from tools.candles import load_candles, stored_timeframes
from tools.errors import StoreError
from tools.indicators import MIN_BARS, snapshot_frame
from tools.store import resolve_store
from tools.timeutil import TIMEFRAMES, iso, timeframe_delta


def _finest(store: Path, symbol: str) -> str:
    tfs = stored_timeframes(symbol, store)
    if not tfs:
        raise HTTPException(404, f"symbol: {symbol!r} has no stored candles")
    return min(tfs, key=lambda tf: timeframe_delta(tf))


def create_app(store: Path | None = None) -> FastAPI:
    root = resolve_store(store)
    app = FastAPI(title="AuraQuant data", version="1")

    @app.get("/last_price")
    def last_price(symbol: str = Query(..., min_length=1)) -> dict[str, Any]:
        from feeds.candles import last_stored_open

        sym = symbol.upper()
        tf = _finest(root, sym)
        opened = last_stored_open(root, sym, tf)
        if opened is None:
            raise HTTPException(404, f"symbol: {sym!r} has no stored {tf} bars")
        step = timeframe_delta(tf)
        bars = load_candles(sym, tf, opened, opened + step, store=root)
        return {"symbol": sym, "timeframe": tf, "price": float(bars["close"].iloc[-1]),
                "bar_open": iso(opened), "closed_at": iso(opened + step)}  # fmt: skip

    @app.get("/indicators")
    def indicators(
        symbol: str = Query(..., min_length=1),
        timeframe: str = Query("1h"),
        bars: int = Query(200, ge=MIN_BARS, le=5000),
    ) -> dict[str, Any]:
        from feeds.candles import last_stored_open

        sym = symbol.upper()
        if timeframe not in TIMEFRAMES:
            raise HTTPException(
                422, f"timeframe: {timeframe!r} is not one of {', '.join(TIMEFRAMES)}"
            )
        tf0 = _finest(root, sym)
        opened = last_stored_open(root, sym, tf0)
        if opened is None:
            raise HTTPException(404, f"symbol: {sym!r} has no stored bars")
        step = timeframe_delta(timeframe)
        end = (opened + timeframe_delta(tf0)).floor(step)  # the newest complete bar's close
        try:
            frame = load_candles(sym, timeframe, end - step * bars, end, store=root)
        except StoreError as exc:
            raise HTTPException(404, str(exc)) from None
        if len(frame) == 0:
            raise HTTPException(404, f"timeframe: no complete {timeframe} bar of {sym} is stored")
        snap = snapshot_frame(frame)
        last_close = pd.Timestamp(frame.index[-1]) + step
        return {"symbol": sym, "timeframe": timeframe, "as_of": iso(last_close),
                **snap.model_dump(mode="json")}  # fmt: skip

    return app
