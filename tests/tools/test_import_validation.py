"""Every validation rule, with the exact error, and proof that nothing was written."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest

from tools.candles import load_candles
from tools.errors import DataValidationError
from tools.importer import import_path
from tools.store import candle_set_info, list_store

HEADER = "ts,open,high,low,close,volume"
GOOD = [
    "2023-03-16T22:15:00Z,100,110,90,105,1.5",
    "2023-03-16T22:16:00Z,105,106,101,102,0",
    "2023-03-16T22:17:00Z,102,103,100,101,2.25",
]


def write_csv(
    folder: Path, rows: list[str], name: str = "BTCUSDT_1m.csv", header: str = HEADER
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = "\n".join([header, *rows]) + "\n"
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def assert_refused(tmp_path: Path, rows: list[str], message: str, header: str = HEADER) -> None:
    src = write_csv(tmp_path / "in", rows, header=header)
    store = tmp_path / "store"
    with pytest.raises(DataValidationError, match="^" + re.escape(message) + "$"):
        import_path(src, store, progress=False)
    assert not store.exists() or not any(store.rglob("*.parquet")), "something was written"


def test_good_file_imports(tmp_path: Path) -> None:
    report = import_path(write_csv(tmp_path / "in", GOOD), tmp_path / "store", progress=False)
    assert report.files[0].rows == 3 and report.partitions_written == 1
    df = load_candles(
        "BTCUSDT", "1m", "2023-03-16T00:00:00Z", "2023-03-17T00:00:00Z", store=tmp_path / "store"
    )
    assert list(df.columns) == ["open", "high", "low", "close", "volume"]
    assert df.index.name == "ts" and str(df.index.tz) == "UTC"
    assert df["volume"].tolist() == [1.5, 0.0, 2.25]  # zero volume is valid


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "ts,open,high,low,close",
            "BTCUSDT_1m.csv: header, column volume: missing column (value 'ts,open,high,low,close')",
        ),
        (
            HEADER + ",trades",
            "BTCUSDT_1m.csv: header, column trades: extra column (value 'ts,open,high,low,close,volume,trades')",
        ),
    ],
)
def test_missing_or_extra_column(tmp_path: Path, header: str, message: str) -> None:
    rows = [r + (",7" if "trades" in header else "") for r in GOOD]
    if header.count(",") == 4:
        rows = [r.rsplit(",", 1)[0] for r in GOOD]
    assert_refused(tmp_path, rows, message, header=header)


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (
            "yesterday,105,106,101,102,1",
            "BTCUSDT_1m.csv: row 2, column ts: unparseable timestamp (value 'yesterday')",
        ),
        (
            "2023-03-16 22:16:00,105,106,101,102,1",
            "BTCUSDT_1m.csv: row 2, column ts: timestamp has no timezone (write it in UTC, e.g. 2023-03-16T22:15:00Z) (value '2023-03-16 22:16:00')",
        ),
        (
            "2023-03-16T22:16:00Z,105,106,101,NaN,1",
            "BTCUSDT_1m.csv: row 2, column close: price is NaN or missing (value nan)",
        ),
        (
            "2023-03-16T22:16:00Z,105,106,,102,1",
            "BTCUSDT_1m.csv: row 2, column low: price is NaN or missing (value nan)",
        ),
        (
            "2023-03-16T22:16:00Z,abc,106,101,102,1",
            "BTCUSDT_1m.csv: row 2, column open: not a number (value 'abc')",
        ),
        (
            "2023-03-16T22:16:00Z,0,106,0,102,1",
            "BTCUSDT_1m.csv: row 2, column open: price must be positive (value 0.0)",
        ),
        (
            "2023-03-16T22:16:00Z,105,106,-1,102,1",
            "BTCUSDT_1m.csv: row 2, column low: price must be positive (value -1.0)",
        ),
        (
            "2023-03-16T22:16:00Z,105,104,101,102,1",
            "BTCUSDT_1m.csv: row 2, column high: high is below max(open, close) (value 104.0)",
        ),
        (
            "2023-03-16T22:16:00Z,105,106,103,102,1",
            "BTCUSDT_1m.csv: row 2, column low: low is above min(open, close) (value 103.0)",
        ),
        (
            "2023-03-16T22:16:00Z,105,106,101,102,-0.5",
            "BTCUSDT_1m.csv: row 2, column volume: negative volume (value -0.5)",
        ),
        (
            "2023-03-16T22:16:30Z,105,106,101,102,1",
            "BTCUSDT_1m.csv: row 2, column ts: bar open time is not aligned to the 1m timeframe (value '2023-03-16T22:16:30Z')",
        ),
    ],
)
def test_bad_row_is_refused_with_exact_error(tmp_path: Path, bad_row: str, message: str) -> None:
    assert_refused(tmp_path, [GOOD[0], bad_row, GOOD[2]], message)


def test_duplicate_timestamp_with_different_values(tmp_path: Path) -> None:
    dup = "2023-03-16T22:15:00Z,100,110,90,104,1.5"
    assert_refused(
        tmp_path,
        [*GOOD, dup],
        "BTCUSDT_1m.csv: row 4, column close: duplicate timestamp 2023-03-16T22:15:00Z with "
        "different values (first at row 1) (value 104.0)",
    )


def test_identical_duplicates_dropped_and_out_of_order_sorted(tmp_path: Path) -> None:
    rows = [GOOD[2], GOOD[0], GOOD[1], GOOD[0]]
    report = import_path(write_csv(tmp_path / "in", rows), tmp_path / "store", progress=False)
    f = report.files[0]
    assert (f.rows, f.duplicates_dropped, f.out_of_order_sorted) == (4, 1, True)
    df = load_candles(
        "BTCUSDT", "1m", "2023-03-16T00:00:00Z", "2023-03-17T00:00:00Z", store=tmp_path / "store"
    )
    assert df["close"].tolist() == [105.0, 102.0, 101.0]
    assert df.index.is_monotonic_increasing and df.index.is_unique


def test_one_bad_file_in_a_folder_writes_nothing(tmp_path: Path) -> None:
    write_csv(tmp_path / "in", GOOD, name="ETHUSDT_1m.csv")
    write_csv(
        tmp_path / "in",
        [GOOD[0], "2023-03-16T22:16:00Z,105,106,101,102,-1"],
        name="SOLUSDT_1m.csv.gz",
    )
    with pytest.raises(
        DataValidationError, match=r"^SOLUSDT_1m\.csv\.gz: row 2, column volume: negative volume"
    ):
        import_path(tmp_path / "in", tmp_path / "store", progress=False)
    assert not (tmp_path / "store").exists()


def test_conflict_with_stored_bar_names_it_and_writes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    import_path(write_csv(tmp_path / "a", GOOD), store, progress=False)
    part = store / "candles" / "BTCUSDT_1m" / "2023-03-16.parquet"
    before = part.read_bytes()
    changed = [
        GOOD[0],
        "2023-03-16T22:16:00Z,105,106,101,102.5,0",
        "2023-03-16T22:18:00Z,101,102,100,101,1",
    ]
    with pytest.raises(DataValidationError) as err:
        import_path(write_csv(tmp_path / "b", changed), store, progress=False)
    assert str(err.value) == (
        "BTCUSDT_1m.csv: row 2, column close: conflicts with the stored bar for BTCUSDT 1m at "
        "2023-03-16T22:16:00Z (which has 102.0) (value 102.5)"
    )
    assert part.read_bytes() == before
    assert [p.name for p in part.parent.iterdir()] == ["2023-03-16.parquet"]


def test_unnamed_candle_file_is_refused(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in", GOOD, name="prices.csv")
    with pytest.raises(
        DataValidationError, match=r"^prices\.csv: header, column file name: cannot tell symbol"
    ):
        import_path(src, tmp_path / "store", progress=False)


def test_freqtrade_json_and_gzip_csv_give_the_same_bars(tmp_path: Path) -> None:
    rows = [[1679004900000, 100, 110, 90, 105, 1.5], [1679004960000, 105, 106, 101, 102, 0.0]]
    src = tmp_path / "ft"
    src.mkdir()
    (src / "BTC_USDT-1m.json").write_text(json.dumps(rows))
    (src / "ETH_USDT-1m.json.gz").write_bytes(gzip.compress(json.dumps(rows).encode()))
    write_csv(src, GOOD[:2], name="SOLUSDT_1m.csv.gz")
    store = tmp_path / "store"
    report = import_path(src, store, progress=False)
    assert sorted((f.symbol, f.rows) for f in report.files) == [
        ("BTCUSDT", 2),
        ("ETHUSDT", 2),
        ("SOLUSDT", 2),
    ]
    frames = [
        load_candles(s, "1m", "2023-03-16T00:00:00Z", "2023-03-17T00:00:00Z", store=store)
        for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    ]
    assert frames[0].equals(frames[1]) and frames[0].equals(frames[2])


def test_freqtrade_json_bad_row(tmp_path: Path) -> None:
    src = tmp_path / "BTC_USDT-1m.json"
    src.write_text(
        json.dumps([[1679004900000, 100, 110, 90, 105, 1.5], [1679004960000, 105, 106, 101]])
    )
    with pytest.raises(
        DataValidationError,
        match=re.escape(
            "BTC_USDT-1m.json: row 2, column -: expected [open_ms, open, high, low, close, volume]"
        ),
    ):
        import_path(src, tmp_path / "store", progress=False)


def test_real_halt_imports_and_is_reported_as_a_gap(tmp_path: Path, shared_data: Path) -> None:
    """The 2023-03-24 Binance halt: 72 flat zero-volume bars 11:28-12:39, then 80 missing."""
    import pandas as pd

    csv = pd.read_csv(shared_data / "candles" / "BTCUSDT_1m.csv.gz", dtype={"ts": str})
    day = csv[csv.ts.str.startswith("2023-03-24")]
    src = tmp_path / "in" / "BTCUSDT_1m.csv"
    src.parent.mkdir()
    day.to_csv(src, index=False)
    store = tmp_path / "store"
    report = import_path(src, store, progress=False)
    f = report.files[0]
    assert [g.model_dump() for g in f.gaps] == [
        {"after": "2023-03-24T12:39:00Z", "before": "2023-03-24T14:00:00Z", "missing_bars": 80}
    ]
    assert f.zero_volume_bars == 72
    ls = list_store(store).candles[0]
    assert (ls.rows, ls.gap_count, ls.missing_bars) == (1440 - 80, 1, 80)
    bars = load_candles(
        "BTCUSDT", "1m", "2023-03-24T11:28:00Z", "2023-03-24T12:40:00Z", store=store
    )
    assert len(bars) == 72 and (bars["volume"] == 0).all()
    assert np.all(bars["high"] == bars["low"])


def test_real_store_lists_the_halt(real_store: Path) -> None:
    btc = candle_set_info(real_store, "BTCUSDT", "1m")
    assert btc.first == "2023-03-16T22:15:00Z" and btc.last == "2023-05-01T21:01:00Z"
    assert btc.rows == 66087 and btc.gap_count == 1 and btc.missing_bars == 80
    assert btc.gaps[0].after == "2023-03-24T12:39:00Z"


NEWS_HEADER = "ts,title,source,url,currencies,summary"


def test_news_titles_unescaped_and_symbols_united(tmp_path: Path) -> None:
    from tools.news_store import load_news

    src = write_csv(
        tmp_path / "in",
        [
            '2021-12-01T10:00:00Z,"Ethereum &amp; Solana rally",CoinDesk,https://x/1,BTC,"short"',
            "2021-12-01T09:00:00Z,Markets calm,CryptoNews,https://x/2,,",
        ],
        name="mynews_2021-12_2021-12.csv",
        header=NEWS_HEADER,
    )
    store = tmp_path / "store"
    report = import_path(src, store, progress=False)
    assert report.files[0].dataset == "mynews"
    df = load_news("2021-12-01T00:00:00Z", "2021-12-02T00:00:00Z", store=store)
    assert df["title"].tolist() == ["Markets calm", "Ethereum & Solana rally"]  # sorted by ts
    assert df["symbols"].tolist() == [[], ["BTCUSDT", "ETHUSDT", "SOLUSDT"]]
    assert df["source"].tolist() == ["CryptoNews", "CoinDesk"]
    assert df["summary"].tolist() == ["", "short"]
    assert set(df["dataset"]) == {"mynews"}
    sol = load_news("2021-12-01T00:00:00Z", "2021-12-02T00:00:00Z", ["SOLUSDT"], store=store)
    assert sol["title"].tolist() == ["Ethereum & Solana rally"]


@pytest.mark.parametrize(
    ("header", "row", "message"),
    [
        (
            "ts,title,source,url",
            "2021-12-01T10:00:00Z,Hi,CoinDesk,https://x/1",
            "news.csv: header, column currencies: missing column (value 'ts,title,source,url')",
        ),
        (
            NEWS_HEADER,
            "2021-12-01 10:00,Hi,CoinDesk,https://x/1,,",
            "news.csv: row 1, column ts: timestamp has no timezone (write it in UTC, e.g. "
            "2023-03-16T22:15:00Z) (value '2021-12-01 10:00')",
        ),
        (
            NEWS_HEADER,
            "2021-12-01T10:00:00Z,,CoinDesk,https://x/1,,",
            "news.csv: row 1, column title: empty title (value '')",
        ),
    ],
)
def test_bad_news_is_refused(tmp_path: Path, header: str, row: str, message: str) -> None:
    src = write_csv(tmp_path / "in", [row], name="news.csv", header=header)
    with pytest.raises(DataValidationError, match="^" + re.escape(message) + "$"):
        import_path(src, tmp_path / "store", progress=False)
    assert not (tmp_path / "store").exists()
