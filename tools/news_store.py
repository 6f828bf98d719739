"""Headlines out of the store, by time window and symbol, without look-ahead.

Every news dataset under ``<store>/news/`` is read once, kept sorted by time in memory, and
sliced per call; the cache is dropped when a dataset folder changes or we write a partition.

``ts`` is when a headline counts as known: the importer stores a date-only stamp (exactly
00:00:00 UTC) as 23:59:59 of that day and keeps the stamp as given in the partition column
``ts_stamped`` (not returned here), so slicing by ``ts <= at`` never reads a headline early.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tools.store import (
    NEWS_SCHEMA,
    FolderSnapshot,
    day_name,
    generation,
    news_dir,
    resolve_store,
    snapshot_folder,
    stored_news_sets,
)
from tools.timeutil import parse_utc

NEWS_COLUMNS: tuple[str, ...] = tuple(NEWS_SCHEMA.names)
_cache: dict[Path, tuple[tuple[object, ...], dict[str, FolderSnapshot], pd.DataFrame]] = {}
_lock = threading.Lock()


def _key(root: Path) -> tuple[object, ...]:
    parts: list[object] = [generation()]
    for ds in stored_news_sets(root):
        try:
            st = os.stat(news_dir(root, ds))
        except FileNotFoundError:
            continue
        parts.append((ds, st.st_mtime_ns, st.st_ino))
    return tuple(parts)


def news_table_frame(table: pa.Table) -> pd.DataFrame:
    """A news Arrow table (store partitions or an import batch) as the news frame: ``ts`` UTC
    (when each headline counts as known), then title, source, url, symbols, dataset, summary."""
    ts = table.column("ts").cast(pa.int64()).to_numpy().astype("datetime64[ms]")
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts).tz_localize("UTC").as_unit("ns"),
            **{c: table.column(c).to_pylist() for c in NEWS_COLUMNS if c != "ts"},
        }
    )


def _read_all(root: Path) -> tuple[dict[str, FolderSnapshot], pd.DataFrame]:
    snaps: dict[str, FolderSnapshot] = {}
    tables = []
    for ds in stored_news_sets(root):
        snap, files = snapshot_folder(news_dir(root, ds))
        if snap is None:
            continue
        snaps[ds] = snap
        tables += [pq.ParquetFile(p).read() for p in files]
    if not tables:
        return snaps, _empty()
    table = pa.concat_tables([t.select(list(NEWS_COLUMNS)).cast(NEWS_SCHEMA) for t in tables])
    df = news_table_frame(table)
    df = df.sort_values(["ts", "dataset", "title", "url"], kind="stable").reset_index(drop=True)
    return snaps, df


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex([], dtype="datetime64[ns, UTC]"),
            **{c: pd.Series([], dtype=object) for c in NEWS_COLUMNS if c != "ts"},
        }
    )


def all_news(
    store: Path | None = None, window: tuple[pd.Timestamp, pd.Timestamp] | None = None
) -> pd.DataFrame:
    """Every stored headline, sorted by time (cached; do not modify the returned frame).

    The cache is dropped when a dataset folder changes, when this process writes, or when a
    partition inside ``window`` was rewritten in place.
    """
    root = resolve_store(store).resolve()
    key = _key(root)
    hit = _cache.get(root)
    if hit is not None and hit[0] == key:
        if window is None:
            return hit[2]
        first, last = day_name(window[0].value), day_name(window[1].value)
        if not any(
            snap.changed_within(news_dir(root, ds), first, last) for ds, snap in hit[1].items()
        ):
            return hit[2]
    snaps, df = _read_all(root)
    with _lock:
        _cache[root] = (key, snaps, df)
    return df


def load_news(
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    symbols: list[str] | tuple[str, ...] | None = None,
    *,
    store: Path | None = None,
) -> pd.DataFrame:
    """Headlines with ``start <= ts <= end`` (sorted by ts); with ``symbols``, only those tagged
    with any of them. Columns: ts, title, source, url, symbols (list[str]), dataset, summary."""
    start_ts, end_ts = parse_utc(start), parse_utc(end)
    df = all_news(store, (start_ts, end_ts))
    if df.empty:
        return _empty()
    ts = df["ts"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    i0 = int(np.searchsorted(ts, start_ts.as_unit("ns").value, side="left"))
    i1 = int(np.searchsorted(ts, end_ts.as_unit("ns").value, side="right"))
    out = df.iloc[i0:i1]
    if symbols is not None:
        wanted = set(symbols)
        mask = [bool(wanted.intersection(s)) for s in out["symbols"]]
        out = out[mask]
    out = out.reset_index(drop=True).copy()
    out["symbols"] = [list(s) for s in out["symbols"]]
    return out
