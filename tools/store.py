"""The Parquet store on disk: partition layout, atomic partition writes, cached reads, listing.

Layout (one file per UTC day, so a rewrite touches one small file and a kill loses at most the
partition being written, which stays the old version thanks to temp-file + ``os.replace``)::

    <store>/candles/<SYMBOL>_<timeframe>/<YYYY-MM-DD>.parquet
    <store>/news/<dataset>/<YYYY-MM-DD>.parquet

Candle partitions hold ``ts`` (timestamp[ms, UTC], bar open time) and float64
``open high low close volume``, sorted by ``ts``. Temp files are hidden (``.name.tmp``) and
every reader ignores them.
"""

from __future__ import annotations

import bisect
import os
import re
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from tools.paths import store_dir
from tools.timeutil import TIMEFRAMES, iso

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
VALUE_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
CANDLE_SCHEMA = pa.schema(
    [("ts", pa.timestamp("ms", tz="UTC"))] + [(c, pa.float64()) for c in VALUE_COLUMNS]
)
NEWS_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("ms", tz="UTC")),
        ("title", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("symbols", pa.list_(pa.string())),
        ("dataset", pa.string()),
        ("summary", pa.string()),
    ]
)
_PARTITION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\.parquet$")
_NS_PER_MS = 1_000_000
NS_PER_DAY = 86_400 * 1_000_000_000

# Bumped by every write in this process, so cached reads never outlive a write we made.
_generation = 0
_lock = threading.Lock()


def resolve_store(store: Path | None) -> Path:
    """The store root: the given one, or ``$AURAQUANT_HOME/store``."""
    return Path(store) if store is not None else store_dir()


def candle_dir(store: Path, symbol: str, timeframe: str) -> Path:
    """Folder of one candle set: ``<store>/candles/<SYMBOL>_<timeframe>``."""
    return store / "candles" / f"{symbol}_{timeframe}"


def news_dir(store: Path, dataset: str) -> Path:
    """Folder of one news dataset: ``<store>/news/<dataset>``."""
    return store / "news" / dataset


def partition_name(day_ns: int) -> str:
    """``YYYY-MM-DD.parquet`` for the UTC day starting at ``day_ns``."""
    return str(np.datetime64(int(day_ns), "ns").astype("datetime64[D]")) + ".parquet"


def partition_files(directory: Path) -> list[Path]:
    """The partitions of a set, oldest first; temp files and strays are ignored."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return [directory / n for n in sorted(names) if _PARTITION_RE.match(n)]


def clean_temp_files(directory: Path) -> int:
    """Remove temp files a killed writer left behind; returns how many."""
    removed = 0
    if directory.is_dir():
        for p in directory.glob(".*.tmp"):
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def write_partition(path: Path, table: pa.Table, *, fsync: bool = True) -> None:
    """Write one partition atomically: a temp file in the same folder, fsync, ``os.replace``.

    A reader (or a process killed mid-write) sees the old partition or the new one, never half.
    ``fsync=False`` keeps that guarantee against a killed process but not against a power cut
    (for throw-away stores such as test fixtures). Bytes are deterministic for the same table.
    """
    global _generation
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh, compression="snappy", write_statistics=True)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with _lock:
        _generation += 1


def candle_table(ts_ns: np.ndarray, values: dict[str, np.ndarray]) -> pa.Table:
    """The Arrow table of a candle partition (``ts`` stored at millisecond precision)."""
    arrays = [pa.array(ts_ns // _NS_PER_MS, type=pa.int64()).cast(CANDLE_SCHEMA.field("ts").type)]
    arrays += [pa.array(np.asarray(values[c], dtype=np.float64)) for c in VALUE_COLUMNS]
    return pa.Table.from_arrays(arrays, schema=CANDLE_SCHEMA)


@dataclass(frozen=True)
class CandleArrays:
    """A whole candle set in memory: ``ts`` in ns since epoch (bar open) plus float64 columns."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def column(self, name: str) -> np.ndarray:
        """One value column by name."""
        arr: np.ndarray = getattr(self, name)
        return arr

    def __len__(self) -> int:
        return len(self.ts)


def table_to_arrays(table: pa.Table) -> CandleArrays:
    """Arrow candle table -> numpy arrays (ts as int64 ns)."""
    ts = table.column("ts").cast(pa.int64()).to_numpy().astype(np.int64) * _NS_PER_MS
    cols = {c: table.column(c).to_numpy().astype(np.float64, copy=False) for c in VALUE_COLUMNS}
    return CandleArrays(ts=ts, **cols)


def read_candle_files(paths: list[Path]) -> CandleArrays:
    """Read and concatenate candle partitions (already in day order, so ``ts`` is sorted)."""
    if not paths:
        empty = np.empty(0, dtype=np.float64)
        return CandleArrays(np.empty(0, dtype=np.int64), empty, empty, empty, empty, empty)
    if len(paths) > 8:
        with ThreadPoolExecutor(max_workers=4) as pool:  # decoding releases the GIL
            tables = list(pool.map(_read_one, paths))
    else:
        tables = [_read_one(p) for p in paths]
    return table_to_arrays(pa.concat_tables(tables))


def _read_one(path: Path) -> pa.Table:
    table = pq.ParquetFile(path).read()
    if not table.schema.equals(CANDLE_SCHEMA):
        table = table.select(list(CANDLE_SCHEMA.names)).cast(CANDLE_SCHEMA)
    return table


@dataclass(frozen=True)
class FolderSnapshot:
    """What a set's folder looked like when it was read: the folder's own stat and each
    partition's (mtime, size). New or deleted partitions change the folder's mtime; a partition
    rewritten in place changes its own stat, which ``changed_within`` checks for a window."""

    key: tuple[int, int, int]
    names: list[str]
    stats: list[tuple[int, int]]

    def changed_within(self, directory: Path, first: str, last: str) -> bool:
        """True when a partition named between ``first`` and ``last`` changed on disk."""
        i0 = bisect.bisect_left(self.names, first)
        i1 = bisect.bisect_right(self.names, last)
        for name, old in zip(self.names[i0:i1], self.stats[i0:i1], strict=True):
            try:
                st = os.stat(directory / name)
            except FileNotFoundError:
                return True
            if (st.st_mtime_ns, st.st_size) != old:
                return True
        return False


def snapshot_folder(directory: Path) -> tuple[FolderSnapshot | None, list[Path]]:
    """Stat a set's folder and partitions (before reading them, so a racing write is seen)."""
    key = _dir_key(directory)
    if key is None:
        return None, []
    files = partition_files(directory)
    stats = []
    for p in files:
        st = os.stat(p)
        stats.append((st.st_mtime_ns, st.st_size))
    return FolderSnapshot(key, [p.name for p in files], stats), files


_cache: dict[Path, tuple[FolderSnapshot, CandleArrays]] = {}


def _dir_key(directory: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(directory)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino, _generation)


def day_name(ns: int) -> str:
    """Partition name of the UTC day holding ``ns``."""
    return partition_name(int(ns) - int(ns) % NS_PER_DAY)


def read_candle_set(
    store: Path, symbol: str, timeframe: str, window: tuple[int, int] | None = None
) -> CandleArrays:
    """The whole stored candle set, cached in memory until it changes on disk.

    Replay and memo building call the loaders thousands of times; decoding Parquet once and
    slicing numpy arrays afterwards is what keeps a memo in milliseconds. The cache is dropped
    when the folder changes (a partition added, deleted or replaced via ``os.replace``), when
    this process writes anything, or — for the partitions inside ``window`` (ns, inclusive) —
    when a partition was rewritten in place. Without ``window`` only the folder is checked.
    """
    directory = candle_dir(store, symbol, timeframe).resolve()
    key = _dir_key(directory)
    if key is None:
        return read_candle_files([])
    hit = _cache.get(directory)
    if hit is not None and hit[0].key == key:
        first, last = (day_name(window[0]), day_name(window[1])) if window else ("", "")
        if window is None or not hit[0].changed_within(directory, first, last):
            return hit[1]
    snap, files = snapshot_folder(directory)
    if snap is None:
        return read_candle_files([])
    arrays = read_candle_files(files)
    with _lock:
        _cache[directory] = (snap, arrays)
    return arrays


def clear_cache() -> None:
    """Forget every cached candle set (tests that edit partitions behind our back call this)."""
    global _generation
    with _lock:
        _cache.clear()
        _generation += 1


def generation() -> int:
    """Counter bumped by every write; other caches can key on it."""
    return _generation


def stored_candle_sets(store: Path) -> list[tuple[str, str]]:
    """``(symbol, timeframe)`` of every candle set in the store, sorted."""
    root = store / "candles"
    if not root.is_dir():
        return []
    out: list[tuple[str, str]] = []
    for name in sorted(os.listdir(root)):
        symbol, _, timeframe = name.rpartition("_")
        if symbol and timeframe in TIMEFRAMES and (root / name).is_dir():
            out.append((symbol, timeframe))
    return out


def stored_news_sets(store: Path) -> list[str]:
    """Names of every news dataset in the store, sorted."""
    root = store / "news"
    if not root.is_dir():
        return []
    return sorted(n for n in os.listdir(root) if (root / n).is_dir() and not n.startswith("."))


class Gap(BaseModel):
    """A hole in a candle set: the last bar before it, the first bar after it, bars missing."""

    after: str
    before: str
    missing_bars: int


def find_gaps(ts_ns: np.ndarray, step: int) -> list[Gap]:
    """Holes in a sorted series of bar open times ``step`` ns apart (kept, never filled)."""
    if len(ts_ns) < 2:
        return []
    diffs = np.diff(ts_ns)
    idx = np.nonzero(diffs > step)[0]
    return [
        Gap(
            after=iso(_ts(ts_ns[i])),
            before=iso(_ts(ts_ns[i + 1])),
            missing_bars=int(diffs[i] // step) - 1,
        )
        for i in idx
    ]


def _ts(ns: int) -> pd.Timestamp:
    return pd.Timestamp(int(ns), tz="UTC")


class CandleSetInfo(BaseModel):
    """One line of ``data ls`` for candles."""

    symbol: str
    timeframe: str
    first: str | None
    last: str | None
    rows: int
    partitions: int
    gap_count: int
    missing_bars: int
    zero_volume_bars: int
    gaps: list[Gap]


class NewsSetInfo(BaseModel):
    """One line of ``data ls`` for news."""

    dataset: str
    first: str | None
    last: str | None
    rows: int
    partitions: int


class StoreListing(BaseModel):
    """What the store holds."""

    store: str
    candles: list[CandleSetInfo]
    news: list[NewsSetInfo]


def candle_set_info(store: Path, symbol: str, timeframe: str) -> CandleSetInfo:
    """Range, rows, gaps and zero-volume bars of one stored candle set."""
    arrays = read_candle_set(store, symbol, timeframe)
    step = int(TIMEFRAMES[timeframe].value)
    gaps = find_gaps(arrays.ts, step)
    n = len(arrays)
    return CandleSetInfo(
        symbol=symbol,
        timeframe=timeframe,
        first=iso(_ts(arrays.ts[0])) if n else None,
        last=iso(_ts(arrays.ts[-1])) if n else None,
        rows=n,
        partitions=len(partition_files(candle_dir(store, symbol, timeframe))),
        gap_count=len(gaps),
        missing_bars=sum(g.missing_bars for g in gaps),
        zero_volume_bars=int(np.count_nonzero(arrays.volume == 0)),
        gaps=gaps,
    )


def list_store(store: Path | None = None) -> StoreListing:
    """Everything in the store: candle sets with ranges, rows and gaps; news datasets."""
    root = resolve_store(store)
    candles = [candle_set_info(root, s, tf) for s, tf in stored_candle_sets(root)]
    news: list[NewsSetInfo] = []
    for ds in stored_news_sets(root):
        files = partition_files(news_dir(root, ds))
        if files:
            ts = pa.concat_tables(pq.read_table(p, columns=["ts"]) for p in files).column("ts")
            vals = ts.cast(pa.int64()).to_numpy() * _NS_PER_MS
            first, last = iso(_ts(vals.min())), iso(_ts(vals.max()))
        else:
            vals, first, last = np.empty(0), None, None
        news.append(
            NewsSetInfo(dataset=ds, first=first, last=last, rows=len(vals), partitions=len(files))
        )
    return StoreListing(store=str(root), candles=candles, news=news)
