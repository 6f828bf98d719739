"""The store: layout, idempotent and atomic imports, merging, listing, news loading."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tools.candles import load_candles
from tools.errors import StoreError
from tools.importer import import_path
from tools.news_store import load_news
from tools.store import candle_dir, list_store, partition_files, read_candle_set

PROJECT = Path(__file__).resolve().parents[2]


def snapshot(store: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(store)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in store.rglob("*")
        if p.is_file()
    }


def test_layout_and_second_import_rewrites_nothing(tmp_path: Path, shared_data: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(shared_data / "candles" / "XRPUSDT_5m.csv.gz", src)
    shutil.copy(shared_data / "news" / "kaggle_cryptonews_2021-10_2021-12.csv.gz", src)
    store = tmp_path / "store"
    first = import_path(src, store, progress=False)
    assert first.partitions_written > 0 and first.partitions_unchanged == 0
    assert (store / "candles" / "XRPUSDT_5m" / "2023-04-01.parquet").is_file()
    assert (store / "news" / "kaggle_cryptonews" / "2021-12-31.parquet").is_file()
    before = snapshot(store)
    second = import_path(src, store, progress=False)
    assert second.partitions_written == 0
    assert second.partitions_unchanged == first.partitions_written
    assert snapshot(store) == before  # same bytes, same mtimes


def test_merge_extends_partitions_and_keeps_what_was_there(
    tmp_path: Path, shared_data: Path
) -> None:
    csv = pd.read_csv(shared_data / "candles" / "LTCUSDT_1m.csv.gz", dtype={"ts": str})
    day = csv[csv.ts.str.startswith("2023-04-10")]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    day.iloc[:800].to_csv(tmp_path / "a" / "LTCUSDT_1m.csv", index=False)
    day.iloc[500:].to_csv(tmp_path / "b" / "LTCUSDT_1m.csv", index=False)  # overlaps 300 rows
    store = tmp_path / "store"
    import_path(tmp_path / "a", store, progress=False)
    report = import_path(tmp_path / "b", store, progress=False)
    assert report.partitions_written == 1
    got = load_candles("LTCUSDT", "1m", "2023-04-10T00:00:00Z", "2023-04-11T00:00:00Z", store=store)
    assert len(got) == 1440
    assert got["close"].tolist() == day["close"].tolist()


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import pyarrow.parquet as pq
    import tools.importer as importer
    importer._WRITERS = 1
    real = pq.write_table
    calls = []

    def dying_write(table, where, **kw):
        calls.append(1)
        if len(calls) == 4:  # half-way through the 4th partition: write half, then get killed
            import io
            buf = io.BytesIO()
            real(table, buf, **kw)
            where.write(buf.getvalue()[: len(buf.getvalue()) // 2])
            where.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(table, where, **kw)

    pq.write_table = dying_write
    importer.import_path(Path(sys.argv[1]), Path(sys.argv[2]), progress=False)
    """
)


def test_killed_import_leaves_no_half_written_partition(tmp_path: Path, shared_data: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(shared_data / "candles" / "ETHUSDT_5m.csv.gz", src)
    store = tmp_path / "store"
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, str(src), str(store)],
        cwd=PROJECT,
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr.decode()
    folder = candle_dir(store, "ETHUSDT", "5m")
    parts = partition_files(folder)
    temps = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert len(parts) == 3 and len(temps) == 1  # the victim is a temp file, not a partition
    for p in parts:  # every partition that exists is whole
        assert pq.read_table(p).num_rows > 0
    assert len(read_candle_set(store, "ETHUSDT", "5m")) == sum(
        pq.read_table(p).num_rows for p in parts
    )
    report = import_path(src, store, progress=False)  # re-running finishes the job and tidies up
    assert report.temp_files_removed == 1
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert len(read_candle_set(store, "ETHUSDT", "5m")) == 13217


def test_unknown_symbol_error_lists_what_is_stored(real_store: Path) -> None:
    with pytest.raises(StoreError) as err:
        load_candles(
            "PEPEUSDT", "1m", "2023-04-01T00:00:00Z", "2023-04-02T00:00:00Z", store=real_store
        )
    msg = str(err.value)
    assert msg.startswith(
        f"no candles stored for PEPEUSDT in {real_store}; stored: ADAUSDT (1m, 5m, 1h), BNBUSDT (1h), BTCUSDT (1m, 5m, 1h)"
    )


def test_naive_time_is_refused(real_store: Path) -> None:
    with pytest.raises(ValueError, match=r"^end: time '2023-04-02 00:00' has no timezone"):
        load_candles("BTCUSDT", "1m", "2023-04-01T00:00:00Z", "2023-04-02 00:00", store=real_store)


def test_list_store_counts(real_store: Path) -> None:
    listing = list_store(real_store)
    sets = {(c.symbol, c.timeframe): c for c in listing.candles}
    assert len(sets) == 22
    assert (sets[("BTCUSDT", "1h")].gap_count, sets[("BTCUSDT", "1h")].missing_bars) == (27, 127)
    assert (sets[("XRPUSDT", "1m")].rows, sets[("XRPUSDT", "1m")].gap_count) == (43199, 0)
    news = {n.dataset: n.rows for n in listing.news}
    assert news == {"cryptobuzz": 2234, "kaggle_cryptonews": 344}


def test_load_news_window_symbols_and_columns(real_store: Path) -> None:
    start, end = "2023-04-18T00:00:00Z", "2023-04-21T00:00:00Z"
    df = load_news(start, end, store=real_store)
    assert list(df.columns) == ["ts", "title", "source", "url", "symbols", "dataset", "summary"]
    assert str(df["ts"].dt.tz) == "UTC" and df["ts"].is_monotonic_increasing
    assert df["ts"].min() >= pd.Timestamp(start) and df["ts"].max() <= pd.Timestamp(end)
    assert set(df["dataset"]) == {"cryptobuzz"} and (df["summary"] == "").all()
    assert all(isinstance(s, list) for s in df["symbols"])
    btc = load_news(start, end, ["BTCUSDT"], store=real_store)
    assert 0 < len(btc) < len(df) and all("BTCUSDT" in s for s in btc["symbols"])
    everything = load_news("2000-01-01T00:00:00Z", "2030-01-01T00:00:00Z", store=real_store)
    assert not everything["title"].str.contains("&amp;").any()
    assert everything["title"].str.contains("&", regex=False).any()
    kaggle = everything[everything["dataset"] == "kaggle_cryptonews"]
    assert set(kaggle["source"]) == {"CryptoNews"}  # the publisher as given in the file
    assert (kaggle["summary"] != "").any()


def test_load_news_bounds_are_inclusive(real_store: Path) -> None:
    df = load_news("2023-04-01T00:00:00Z", "2023-04-02T00:00:00Z", store=real_store)
    t = df["ts"].iloc[0]
    same = load_news(t, t, store=real_store)
    assert len(same) >= 1 and (same["ts"] == t).all()


def test_temp_files_are_ignored_by_readers(tmp_path: Path, real_store: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(real_store / "candles" / "SOLUSDT_5m", store / "candles" / "SOLUSDT_5m")
    (store / "candles" / "SOLUSDT_5m" / ".2023-04-02.parquet.abc.tmp").write_bytes(b"PAR1 half")
    assert len(read_candle_set(store, "SOLUSDT", "5m")) == 13217
    assert os.path.exists(store / "candles" / "SOLUSDT_5m" / ".2023-04-02.parquet.abc.tmp")


def test_in_place_edits_are_seen_by_the_cached_loaders(tmp_path: Path, real_store: Path) -> None:
    """Look-ahead tests perturb partitions in place; the cache must not hide the change."""
    import pyarrow as pa

    store = tmp_path / "store"
    shutil.copytree(real_store / "candles" / "ADAUSDT_1m", store / "candles" / "ADAUSDT_1m")
    shutil.copytree(real_store / "news" / "cryptobuzz", store / "news" / "cryptobuzz")
    window = ("2023-04-20T00:00:00Z", "2023-04-21T00:00:00Z")
    before = load_candles("ADAUSDT", "1h", *window, store=store)
    news_before = load_news(*window, store=store)
    part = store / "candles" / "ADAUSDT_1m" / "2023-04-20.parquet"
    t = pq.read_table(part)
    t = t.set_column(4, "close", pa.array([c * 2 for c in t.column("close").to_pylist()]))
    t = t.set_column(2, "high", pa.array([h * 2 for h in t.column("high").to_pylist()]))
    pq.write_table(t, part)  # in place: the folder's mtime does not change
    after = load_candles("ADAUSDT", "1h", *window, store=store)
    assert after["close"].tolist() == [c * 2 for c in before["close"].tolist()]
    npart = store / "news" / "cryptobuzz" / "2023-04-20.parquet"
    nt = pq.read_table(npart)
    pq.write_table(nt.slice(0, 1), npart)
    assert len(load_news(*window, store=store)) == len(news_before) - (nt.num_rows - 1)
