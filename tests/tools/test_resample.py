"""Resampling from the finest stored timeframe, and the no-look-ahead rule of load_candles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tools.candles import load_candles, resample_arrays
from tools.store import CandleArrays, read_candle_set

SET_A = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "DOGEUSDT", "XRPUSDT", "LTCUSDT")
MIN = 60_000_000_000


@pytest.mark.parametrize("symbol", SET_A)
def test_5m_resample_of_1m_equals_the_shared_5m_file(
    real_store: Path, shared_data: Path, symbol: str
) -> None:
    got = load_candles(
        symbol, "5m", "2023-03-01T00:00:00Z", "2023-06-01T00:00:00Z", store=real_store
    )
    want = pd.read_csv(shared_data / "candles" / f"{symbol}_5m.csv.gz")
    want.index = pd.DatetimeIndex(pd.to_datetime(want.pop("ts"), utc=True), name="ts")
    assert len(got) == len(want)
    assert np.array_equal(got.index.asi8, want.index.as_unit("ns").asi8)
    for col in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(got[col].to_numpy(), want[col].to_numpy()), col  # exact, every value


def arrays(minutes: list[int], closes: list[float]) -> CandleArrays:
    ts = np.array(minutes, dtype=np.int64) * MIN
    c = np.array(closes, dtype=float)
    return CandleArrays(ts, c - 0.5, c + 1, c - 1, c, np.ones(len(c)))


def test_resample_rules_by_hand() -> None:
    # minutes 0-4 full, 5-9 has one bar (7), 10-14 empty (gap), 15-19 only 15,16 then data ends at 16
    fine = arrays([0, 1, 2, 3, 4, 7, 15, 16], [10, 11, 12, 13, 9, 20, 30, 31])
    out = resample_arrays(fine, MIN, 5 * MIN)
    assert (out.ts // MIN).tolist() == [0, 5]  # 10 is a gap (no bar), 15 is incomplete (data ends)
    assert out.open.tolist() == [9.5, 19.5]
    assert out.high.tolist() == [14.0, 21.0]
    assert out.low.tolist() == [8.0, 19.0]
    assert out.close.tolist() == [9.0, 20.0]
    assert out.volume.tolist() == [5.0, 1.0]
    late_start = resample_arrays(arrays([3, 4, 5, 6, 7, 8, 9], [1] * 7), MIN, 5 * MIN)
    assert (late_start.ts // MIN).tolist() == [5]  # window 0 started before the data


def test_a_bar_is_returned_only_once_closed(real_store: Path) -> None:
    start = "2023-04-20T00:00:00Z"
    h = load_candles("BTCUSDT", "1h", start, "2023-04-20T12:59:59Z", store=real_store)
    assert h.index[-1] == pd.Timestamp("2023-04-20T11:00:00Z")  # 12:00 bar closes at 13:00
    h = load_candles("BTCUSDT", "1h", start, "2023-04-20T13:00:00Z", store=real_store)
    assert h.index[-1] == pd.Timestamp("2023-04-20T12:00:00Z")
    m = load_candles("BTCUSDT", "1m", start, "2023-04-20T12:00:30Z", store=real_store)
    assert m.index[-1] == pd.Timestamp("2023-04-20T11:59:00Z")
    one = load_candles(
        "BTCUSDT", "1m", "2023-04-20T12:00:00Z", "2023-04-20T12:01:00Z", store=real_store
    )
    assert one.index.tolist() == [pd.Timestamp("2023-04-20T12:00:00Z")]
    assert load_candles(
        "BTCUSDT", "1h", "2023-04-20T12:30:00Z", "2023-04-20T13:00:00Z", store=real_store
    ).empty


def test_1h_from_1m_matches_the_minutes(real_store: Path) -> None:
    h = load_candles(
        "ETHUSDT", "1h", "2023-04-20T00:00:00Z", "2023-04-20T06:00:00Z", store=real_store
    )
    m = load_candles(
        "ETHUSDT", "1m", "2023-04-20T03:00:00Z", "2023-04-20T04:00:00Z", store=real_store
    )
    bar = h.loc[pd.Timestamp("2023-04-20T03:00:00Z")]
    assert (bar.open, bar.close) == (m.open.iloc[0], m.close.iloc[-1])
    assert (bar.high, bar.low) == (m.high.max(), m.low.min())
    assert bar.volume == pytest.approx(m.volume.sum(), rel=1e-12)
    assert len(h) == 6


def test_halt_gap_stays_a_gap_when_resampled(real_store: Path) -> None:
    five = load_candles(
        "BTCUSDT", "5m", "2023-03-24T12:00:00Z", "2023-03-24T14:30:00Z", store=real_store
    )
    times = [t.strftime("%H:%M") for t in five.index]
    assert "12:35" in times and "12:40" not in times and "13:55" not in times and "14:00" in times
    hours = load_candles(
        "BTCUSDT", "1h", "2023-03-24T11:00:00Z", "2023-03-24T16:00:00Z", store=real_store
    )
    assert [t.hour for t in hours.index] == [11, 12, 14, 15]  # 13:00 had no minutes at all
    assert hours.loc[pd.Timestamp("2023-03-24T12:00:00Z"), "volume"] == 0.0  # halted, flat


def test_older_hours_come_from_the_stored_1h_set(real_store: Path) -> None:
    h = load_candles(
        "BTCUSDT", "1h", "2021-11-10T00:00:00Z", "2021-11-11T00:00:00Z", store=real_store
    )
    assert len(h) == 24 and h["high"].max() == 69000.0  # the 2021-11-10 all-time high
    d = load_candles(
        "BNBUSDT", "1d", "2021-12-01T00:00:00Z", "2022-01-01T00:00:00Z", store=real_store
    )
    assert len(d) == 31 and d.index[0] == pd.Timestamp("2021-12-01T00:00:00Z")
    raw = read_candle_set(real_store, "BNBUSDT", "1h")
    dec1 = (raw.ts >= pd.Timestamp("2021-12-01T00:00:00Z").value) & (
        raw.ts < pd.Timestamp("2021-12-02T00:00:00Z").value
    )
    assert d["high"].iloc[0] == raw.high[dec1].max()


def test_returned_frame_is_a_copy(real_store: Path) -> None:
    a = load_candles(
        "SOLUSDT", "1m", "2023-04-02T00:00:00Z", "2023-04-02T01:00:00Z", store=real_store
    )
    a["close"] = -1.0
    b = load_candles(
        "SOLUSDT", "1m", "2023-04-02T00:00:00Z", "2023-04-02T01:00:00Z", store=real_store
    )
    assert (b["close"] > 0).all()
    assert list(b.columns) == ["open", "high", "low", "close", "volume"]
    assert all(str(t) == "float64" for t in b.dtypes)


def test_keep_edges_keeps_the_partial_first_and_last_windows() -> None:
    from tools.candles import resample_frame

    idx = pd.date_range("2023-01-01T00:03:00Z", periods=10, freq="1min")  # 00:03 .. 00:12
    frame = pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 1.0}, index=idx
    )
    strict = resample_frame(frame, "1m", "5m")
    kept = resample_frame(frame, "1m", "5m", keep_edges=True)
    assert [t.strftime("%H:%M") for t in strict.index] == ["00:05"]
    assert [t.strftime("%H:%M") for t in kept.index] == ["00:00", "00:05", "00:10"]
    assert kept["volume"].tolist() == [2.0, 5.0, 3.0]
