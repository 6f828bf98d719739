"""Default meeting services load the stored candle set that covers the meeting's ``at``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from graph.context import MeetingContext
from graph.meeting import run_meeting
from graph.services import MeetingServices, market_for

pytestmark = pytest.mark.data

OLD, NEW = "2021-11-10T15:00:00Z", "2023-04-20T12:00:00Z"


def test_market_for_gives_each_moment_covering_data(real_store: Path) -> None:
    ctx, svc = MeetingContext(store=str(real_store)), MeetingServices()
    old = market_for(ctx, svc, "BTCUSDT", pd.Timestamp(OLD))
    new = market_for(ctx, svc, "BTCUSDT", pd.Timestamp(NEW))
    assert old.base("BTCUSDT").timeframe == "1h" and new.base("BTCUSDT").timeframe == "1m"
    assert old.base("BTCUSDT").closed(pd.Timestamp(OLD).value) > 0
    assert new.base("BTCUSDT").closed(pd.Timestamp(NEW).value) > 0
    # cached per stored set: another 2021 moment reuses the 1h view
    assert market_for(ctx, svc, "BTCUSDT", pd.Timestamp("2021-11-11T09:00:00Z")) is old
    assert market_for(ctx, svc, "BTCUSDT", pd.Timestamp(NEW)) is new


def test_market_for_reloads_after_the_store_changes(real_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(real_store / "candles" / "SOLUSDT_1h", store / "candles" / "SOLUSDT_1h")
    ctx, svc = MeetingContext(store=str(store)), MeetingServices()
    at = pd.Timestamp("2021-12-31T12:00:00Z")
    first = market_for(ctx, svc, "SOLUSDT", at)
    assert market_for(ctx, svc, "SOLUSDT", at) is first
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "SOLUSDT_1h.csv").write_text(
        "ts,open,high,low,close,volume\n2022-01-01T00:00:00Z,170,171,169,170.5,10\n"
    )
    from tools.importer import import_path

    import_path(tmp_path / "in", store, progress=False)
    second = market_for(ctx, svc, "SOLUSDT", at)
    assert second is not first
    assert second.coverage("SOLUSDT")[1] == pd.Timestamp("2022-01-01T01:00:00Z")


def test_meetings_in_2021_and_2023_in_one_process(real_store: Path, aq_home: Path) -> None:
    ctx = {"store": str(real_store), "journal": False}
    old = run_meeting("BTCUSDT", OLD, {**ctx, "run_id": "m2021"})
    assert old.memo["symbol"] == "BTCUSDT"
    price = {f["id"]: f for f in old.memo["facts"]}["market.price"]
    assert price["value"] > 60000 and price["source"] == "candles:BTCUSDT_1h"
    new = run_meeting("BTCUSDT", NEW, {**ctx, "run_id": "m2023"})
    price = {f["id"]: f for f in new.memo["facts"]}["market.price"]
    assert price["source"] == "candles:BTCUSDT_1m"
