"""Review fixes: date-only headlines, realised vol across gaps, memos from the set covering ``at``."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from memos import models as m
from memos.builder import MemoConfig, MemoError, build_memo
from memos.market import MarketData, candle_frame, news_frame
from tools.importer import import_path, read_candle_csv, read_news_csv
from tools.indicators import annualisation

# --- date-only headlines ------------------------------------------------------------------------


def _bars(start: str, periods: int, freq: str, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range(start, periods=periods, freq=freq, tz="UTC", name="ts")
    close = 20000 * np.exp(np.cumsum(rng.normal(0, 0.002, periods)))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": rng.uniform(1, 10, periods),
        },
        index=idx,
    )


def _news_csv(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mynews.csv"
    path.write_text(
        "ts,title,source,url,currencies,summary\n"
        "2021-12-01T00:00:00Z,Bitcoin date only story,CryptoNews,https://x/1,BTC,\n"
        "2021-12-01T00:10:00Z,Bitcoin ten past story,CryptoNews,https://x/2,BTC,\n"
    )
    return path


def _headlines(memo: m.Memo) -> list[str]:
    return [f.text for f in memo.facts if f.id.startswith("news.top_")]


def test_date_only_headline_is_not_in_a_memo_before_the_day_ends(tmp_path: Path) -> None:
    news = news_frame(read_news_csv(_news_csv(tmp_path)))
    md = MarketData(candles={"BTCUSDT": _bars("2021-11-20", 15 * 24, "1h")}, news=news)
    morning = build_memo("BTCUSDT", "2021-12-01T10:00:00Z", market=md)
    assert morning.value(m.F_NEWS_COUNT) == 1
    assert any("ten past" in t for t in _headlines(morning))
    assert not any("date only" in t for t in _headlines(morning))
    midnight = build_memo("BTCUSDT", "2021-12-02T00:00:00Z", market=md)
    assert midnight.value(m.F_NEWS_COUNT) == 2
    assert any("date only" in t for t in _headlines(midnight))


def test_date_only_headline_through_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    import_path(_news_csv(tmp_path / "in"), store, progress=False)
    md = MarketData.from_store([], store=store, with_btc=False)
    md = MarketData(candles={"BTCUSDT": _bars("2021-11-20", 15 * 24, "1h")}, news=md.news)
    assert build_memo("BTCUSDT", "2021-12-01T23:59:58Z", market=md).value(m.F_NEWS_COUNT) == 1
    assert build_memo("BTCUSDT", "2021-12-01T23:59:59Z", market=md).value(m.F_NEWS_COUNT) == 2


# --- realised volatility across a gap -----------------------------------------------------------


def test_realised_vol_skips_the_return_across_a_gap() -> None:
    before = _bars("2023-03-24T00:00:00Z", 300, "1min", seed=5)
    after = _bars("2023-03-24T06:20:00Z", 300, "1min", seed=6) * 1.2  # 80 bars missing, a jump
    frame = pd.concat([before, after])
    md = MarketData(candles={"BTCUSDT": frame})
    at = frame.index[-1] + pd.Timedelta("1min")
    memo = build_memo("BTCUSDT", at, market=md, config=MemoConfig(vol_window_hours=24))
    r = np.r_[np.diff(np.log(before["close"])), np.diff(np.log(after["close"]))]
    want = float(r.std(ddof=1)) * annualisation(pd.Timedelta("1min"))
    assert memo.value(m.F_VOL) == pytest.approx(want, rel=1e-6)
    naive = float(np.diff(np.log(frame["close"])).std(ddof=1)) * annualisation(pd.Timedelta("1min"))
    assert naive > 2 * want  # the gap return alone would have dominated
    assert "598 one-bar returns" in memo.fact(m.F_VOL).text
    assert any(u.id == m.U_DATA_GAP for u in memo.unknowns)


# --- MarketData.from_csv_dir uses the importer's validated readers --------------------------------


def test_from_csv_dir_refuses_a_bad_file_with_the_importers_error(tmp_path: Path) -> None:
    (tmp_path / "candles").mkdir()
    text = "ts,open,high,low,close,volume\n2023-01-01T00:00:00Z,1,0.5,1,1,1\n"
    (tmp_path / "candles" / "BTCUSDT_1m.csv.gz").write_bytes(gzip.compress(text.encode()))
    with pytest.raises(ValueError) as exc:
        MarketData.from_csv_dir(tmp_path, ["BTCUSDT"])
    assert str(exc.value) == (
        "BTCUSDT_1m.csv.gz: row 1, column high: high is below max(open, close) (value 0.5)"
    )


@pytest.mark.data
def test_from_csv_dir_matches_the_importer(shared_data: Path) -> None:
    md = MarketData.from_csv_dir(shared_data, ["SOLUSDT"], "5m")
    batch = read_candle_csv(shared_data / "candles" / "SOLUSDT_5m.csv.gz")
    assert md.base("SOLUSDT").ts.tolist() == batch.ts.tolist()
    assert candle_frame(batch).equals(md.candles["SOLUSDT"])
    kaggle = [i for i in md.news_items if i.dataset == "kaggle_cryptonews"]
    assert len(kaggle) == 344
    assert not any(i.ts_iso.endswith("T00:00:00Z") for i in kaggle)


# --- the stored set that covers `at` --------------------------------------------------------------


@pytest.mark.data
def test_from_store_picks_the_set_covering_at(real_store: Path) -> None:
    old = MarketData.from_store(["ETHUSDT"], store=real_store, at=pd.Timestamp("2021-11-10T15:00Z"))
    new = MarketData.from_store(["ETHUSDT"], store=real_store, at=pd.Timestamp("2023-04-20T12:00Z"))
    assert (old.base("ETHUSDT").timeframe, old.base("BTCUSDT").timeframe) == ("1h", "1h")
    assert (new.base("ETHUSDT").timeframe, new.base("BTCUSDT").timeframe) == ("1m", "1m")
    gap = MarketData.from_store(["ETHUSDT"], store=real_store, at=pd.Timestamp("2022-06-01T00:00Z"))
    assert not gap.has("ETHUSDT") and [r[0] for r in gap.stored_ranges["ETHUSDT"]] == [
        "1m",
        "5m",
        "1h",
    ]


@pytest.mark.data
def test_store_key_tells_sets_and_writes_apart(real_store: Path, tmp_path: Path) -> None:
    k21 = MarketData.store_key(["ETHUSDT"], real_store, at=pd.Timestamp("2021-11-10T15:00Z"))
    k21b = MarketData.store_key(["ETHUSDT"], real_store, at=pd.Timestamp("2021-11-11T15:00Z"))
    k23 = MarketData.store_key(["ETHUSDT"], real_store, at=pd.Timestamp("2023-04-20T12:00Z"))
    assert k21 == k21b and k21 != k23
    store = tmp_path / "store"
    shutil.copytree(real_store / "candles" / "ETHUSDT_1h", store / "candles" / "ETHUSDT_1h")
    before = MarketData.store_key(["ETHUSDT"], store, at=pd.Timestamp("2021-11-10T15:00Z"))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ETHUSDT_1h.csv").write_text(
        "ts,open,high,low,close,volume\n2022-01-01T00:00:00Z,1,2,0.5,1.5,3\n"
    )
    import_path(tmp_path / "in", store, progress=False)
    after = MarketData.store_key(["ETHUSDT"], store, at=pd.Timestamp("2021-11-10T15:00Z"))
    assert before != after


@pytest.mark.data
def test_build_memo_without_market_uses_the_set_covering_at(
    real_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AURAQUANT_HOME", str(real_store.parent))
    old = build_memo("BTCUSDT", "2021-11-10T15:00:00Z")
    assert old.value(m.F_PRICE) is not None
    assert old.fact(m.F_PRICE).source == "candles:BTCUSDT_1h"
    assert old.fact(m.F_AS_OF).value == "2021-11-10T15:00:00Z"
    new = build_memo("BTCUSDT", "2023-04-20T12:00:00Z")
    assert new.fact(m.F_PRICE).source == "candles:BTCUSDT_1m"
    with pytest.raises(MemoError, match=r"at 2022-06-01T00:00:00Z is outside the stored BTCUSDT"):
        build_memo("BTCUSDT", "2022-06-01T00:00:00Z")
