"""Import candle and news files into the store: validate everything, then write atomically.

Accepted inputs (a file, or a folder searched recursively):

* candle CSV in the ``../shared/data`` format, ``BTCUSDT_1m.csv`` or ``.csv.gz``:
  ``ts,open,high,low,close,volume`` with ISO-8601 UTC open times;
* freqtrade JSON candles ``[[open_ms, o, h, l, c, v], ...]`` named like ``BTC_USDT-1m.json``
  (or ``.json.gz``);
* news CSV (``ts,title,source,url,currencies`` + optional ``summary`` and source-specific
  extras), stored under a dataset named after the file (``cryptobuzz``, ``kaggle_cryptonews``).

Date-only headlines: a news ``ts`` of exactly midnight UTC (``00:00:00``, no seconds or fraction)
is taken to carry a date but no time of day (the Kaggle file has such rows). Counting it as
published at 00:00 would let a memo at 10:00 that day read a headline that may be from 23:00 —
look-ahead. So it becomes known at the END of its day: the stored ``ts`` is that day
``23:59:59``, and the stamp as given is kept in the partition column ``ts_stamped`` (equal to
``ts`` for every other headline). A 00:00:30 or 00:10 stamp is a real time and is kept.

The order of work is what makes import safe: (1) parse and validate every file, (2) merge with
what is stored and refuse conflicting values, (3) only then write, one partition at a time via
temp file + ``os.replace``, skipping partitions whose content is unchanged (so a second import of
the same file rewrites nothing).
"""

from __future__ import annotations

import gzip
import html
import io
import json
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tools.errors import DataValidationError
from tools.store import (
    NEWS_SCHEMA,
    NS_PER_DAY,
    VALUE_COLUMNS,
    Gap,
    candle_dir,
    candle_table,
    clean_temp_files,
    news_dir,
    partition_name,
    read_candle_files,
    resolve_store,
    write_partition,
)
from tools.symbols import currencies_to_symbols, tag_symbols
from tools.timeutil import iso
from tools.validate import CandleBatch, parse_timestamps, validate_candle_frame, validate_candles

_CSV_NAME = re.compile(r"^(?P<symbol>[A-Z0-9][A-Z0-9-]*)_(?P<tf>\d+[mhdw])\.csv(\.gz)?$")
_JSON_NAME = re.compile(
    r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)(?:_[A-Z0-9]+)?-(?P<tf>\d+[mhdw])(?:-[a-z]+)?"
    r"\.json(\.gz)?$"
)
_DATE_SUFFIX = re.compile(r"(_\d{4}-\d{2}(-\d{2})?)+$")
_DATASET_ALIASES = {"cryptobuzz_reddit_headlines": "cryptobuzz"}
NEWS_REQUIRED: tuple[str, ...] = ("ts", "title", "source", "url", "currencies")
_SUFFIXES = (".csv", ".csv.gz", ".json", ".json.gz")
NS_PER_SECOND = 1_000_000_000
DATE_ONLY_KNOWN_AFTER_NS = NS_PER_DAY - NS_PER_SECOND  # a date-only headline counts at 23:59:59
NEWS_PARTITION_SCHEMA = NEWS_SCHEMA.append(pa.field("ts_stamped", NEWS_SCHEMA.field("ts").type))
"""What a news partition holds: the store's news columns plus ``ts_stamped`` (the file's stamp)."""
_WRITERS = 4


# ---------------------------------------------------------------- reading files


def _open_bytes(path: Path) -> bytes:
    """File content, gunzipped when it is gzip (by magic bytes, whatever its name says)."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _header(raw: bytes) -> list[str]:
    first = raw.split(b"\n", 1)[0].decode("utf-8-sig").strip("\r")
    return [c.strip() for c in first.split(",")]


def news_dataset_name(path: Path) -> str:
    """Dataset name of a news file: ``kaggle_cryptonews_2021-10_2021-12.csv.gz`` ->
    ``kaggle_cryptonews``; ``cryptobuzz_reddit_headlines.csv.gz`` -> ``cryptobuzz``."""
    stem = path.name.removesuffix(".gz").removesuffix(".csv")
    stem = _DATE_SUFFIX.sub("", stem)
    return _DATASET_ALIASES.get(stem, stem)


def read_candle_csv(path: Path, label: str | None = None) -> CandleBatch:
    """A ``SYMBOL_tf.csv[.gz]`` candle file -> validated batch."""
    file = label or path.name
    m = _CSV_NAME.match(path.name)
    if not m:
        raise DataValidationError(
            file,
            None,
            "file name",
            path.name,
            "cannot tell symbol and timeframe from the file name; name it like BTCUSDT_1m.csv.gz",
        )
    raw = _open_bytes(path)
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype={"ts": str}, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataValidationError(file, None, "-", str(exc)[:200], "not a readable CSV") from None
    return validate_candle_frame(file, m["symbol"], m["tf"], frame)


def read_freqtrade_json(path: Path, label: str | None = None) -> CandleBatch:
    """A freqtrade ``BASE_QUOTE-tf.json[.gz]`` file ``[[open_ms, o, h, l, c, v], ...]``."""
    file = label or path.name
    m = _JSON_NAME.match(path.name)
    if not m:
        raise DataValidationError(
            file,
            None,
            "file name",
            path.name,
            "cannot tell symbol and timeframe from the file name; name it like BTC_USDT-1m.json",
        )
    try:
        rows = json.loads(_open_bytes(path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataValidationError(file, None, "-", str(exc)[:200], "not valid JSON") from None
    return candles_from_rows(file, m["base"] + m["quote"], m["tf"], rows)


def candles_from_rows(file: str, symbol: str, timeframe: str, rows: Any) -> CandleBatch:
    """``[[open_ms, o, h, l, c, v, ...], ...]`` (freqtrade, Binance klines) -> validated batch.

    Fields after the sixth are ignored (Binance klines carry 12). Numbers may be strings.
    """
    names = ("ts", *VALUE_COLUMNS)
    if not isinstance(rows, list) or not rows:
        raise DataValidationError(
            file, None, "-", type(rows).__name__, "expected a non-empty list of candles"
        )
    try:
        arr = np.array([r[:6] for r in rows], dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 6:
            raise ValueError
    except (ValueError, TypeError, IndexError, KeyError):
        for i, r in enumerate(rows):
            if not isinstance(r, list) or len(r) < 6:
                raise DataValidationError(
                    file, i + 1, "-", r, "expected [open_ms, open, high, low, close, volume]"
                ) from None
            for name, v in zip(names, r[:6], strict=True):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise DataValidationError(file, i + 1, name, v, "not a number") from None
        raise
    ms = arr[:, 0]
    bad = np.flatnonzero(~np.isfinite(ms) | (ms != np.round(ms)) | (ms < 0))
    if len(bad):
        i = int(bad[0])
        raise DataValidationError(
            file, i + 1, "ts", rows[i][0], "open time is not integer milliseconds"
        )
    ts = ms.astype(np.int64) * 1_000_000
    values = {c: np.ascontiguousarray(arr[:, k + 1]) for k, c in enumerate(VALUE_COLUMNS)}
    return validate_candles(file, symbol, timeframe, ts, values)


@dataclass
class NewsBatch:
    """Validated headlines of one file, in the store's column layout."""

    file: str
    dataset: str
    table: pa.Table  # NEWS_PARTITION_SCHEMA, sorted by ts, title, url
    rows_in: int
    duplicates_dropped: int
    date_only: int = 0  # headlines stamped exactly 00:00:00, moved to 23:59:59 of their day


def known_from(stamped_ns: np.ndarray) -> np.ndarray:
    """When each headline counts as known: its stamp, or 23:59:59 that day when the stamp is
    exactly midnight UTC (date-only; see the module docstring)."""
    stamped_ns = np.asarray(stamped_ns, dtype=np.int64)
    midnight = stamped_ns % NS_PER_DAY == 0
    return np.where(midnight, stamped_ns + DATE_ONLY_KNOWN_AFTER_NS, stamped_ns)


def read_news_csv(path: Path, label: str | None = None, dataset: str | None = None) -> NewsBatch:
    """A news CSV -> validated batch (titles unescaped, symbols tagged, date-only stamps moved
    to the end of their day)."""
    file = label or path.name
    ds = dataset or news_dataset_name(path)
    raw = _open_bytes(path)
    frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    cols = [str(c) for c in frame.columns]
    for col in NEWS_REQUIRED:
        if col not in cols:
            raise DataValidationError(file, None, col, ",".join(cols), "missing column")
    if len(frame) == 0:
        raise DataValidationError(file, None, "ts", "", "file has no data rows")
    empty_ts = np.flatnonzero(frame["ts"].str.strip().eq("").to_numpy())
    if len(empty_ts):
        raise DataValidationError(file, int(empty_ts[0]) + 1, "ts", "", "missing timestamp")
    ts = parse_timestamps(file, frame["ts"])
    titles = [html.unescape(t).strip() for t in frame["title"]]
    for i, t in enumerate(titles):
        if not t:
            raise DataValidationError(file, i + 1, "title", frame["title"].iloc[i], "empty title")
    symbols: list[list[str]] = []
    for cur, title in zip(frame["currencies"], titles, strict=True):
        syms = currencies_to_symbols(cur)
        syms += [s for s in tag_symbols(title) if s not in syms]
        symbols.append(syms)
    summary = list(frame["summary"]) if "summary" in cols else [""] * len(frame)
    df = pd.DataFrame(
        {
            "ts": known_from(ts) // 1_000_000,
            "ts_stamped": ts // 1_000_000,
            "title": titles,
            "source": list(frame["source"]),
            "url": list(frame["url"]),
            "symbols": symbols,
            "dataset": ds,
            "summary": summary,
        }
    )
    before = len(df)
    df = df.drop_duplicates(subset=["ts", "title", "url"]).sort_values(
        ["ts", "title", "url"], kind="stable"
    )
    return NewsBatch(
        file,
        ds,
        _news_table(df),
        rows_in=before,
        duplicates_dropped=before - len(df),
        date_only=int((df["ts"] != df["ts_stamped"]).sum()),
    )


def _ms(values: pd.Series) -> pa.Array:
    return pa.array(values.to_numpy(np.int64), type=pa.int64()).cast(NEWS_SCHEMA.field("ts").type)


def _news_table(df: pd.DataFrame) -> pa.Table:
    """A news frame (``ts``/``ts_stamped`` in int64 ms) -> a partition table."""
    arrays = [_ms(df["ts"])]
    for name in ("title", "source", "url"):
        arrays.append(pa.array(list(df[name]), type=pa.string()))
    arrays.append(pa.array([list(s) for s in df["symbols"]], type=pa.list_(pa.string())))
    arrays.append(pa.array(list(df["dataset"]), type=pa.string()))
    arrays.append(pa.array(list(df["summary"]), type=pa.string()))
    arrays.append(_ms(df["ts_stamped"]))
    return pa.Table.from_arrays(arrays, schema=NEWS_PARTITION_SCHEMA)


def _stored_news(path: Path) -> pa.Table | None:
    """A stored news partition in the current layout (older ones lack ``ts_stamped``: their
    ``ts`` was the stamp as given)."""
    if not path.exists():
        return None
    table = pq.read_table(path)
    if "ts_stamped" not in table.column_names:
        table = table.append_column("ts_stamped", table.column("ts"))
    return table.select(NEWS_PARTITION_SCHEMA.names).cast(NEWS_PARTITION_SCHEMA)


def discover(path: Path) -> list[Path]:
    """The importable files at ``path`` (a file, or a folder searched recursively), sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or folder")
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.name.endswith(_SUFFIXES)
    )


def read_file(path: Path) -> CandleBatch | NewsBatch:
    """Parse and validate one file, deciding its kind from its name and header."""
    name = path.name
    if name.endswith((".json", ".json.gz")):
        return read_freqtrade_json(path)
    if not name.endswith((".csv", ".csv.gz")):
        raise DataValidationError(
            name, None, "file name", name, "not a .csv(.gz) or .json(.gz) file"
        )
    head = _header(_open_bytes(path)[:4096])
    if "title" in head:
        return read_news_csv(path)
    return read_candle_csv(path)


# ---------------------------------------------------------------- reports


class FileReport(BaseModel):
    """What one imported file held."""

    file: str
    kind: str  # candles | news
    symbol: str | None = None
    timeframe: str | None = None
    dataset: str | None = None
    rows: int
    duplicates_dropped: int
    out_of_order_sorted: bool = False
    first: str | None = None
    last: str | None = None
    gap_count: int = 0
    missing_bars: int = 0
    zero_volume_bars: int = 0
    gaps: list[Gap] = []
    date_only_headlines: int = 0  # news stamped exactly 00:00:00, counted from 23:59:59


class ImportReport(BaseModel):
    """What an import did: the files, and the partitions it wrote or found unchanged."""

    store: str
    files: list[FileReport]
    rows: int
    partitions_written: int
    partitions_unchanged: int
    temp_files_removed: int
    seconds: float


def _candle_report(b: CandleBatch) -> FileReport:
    return FileReport(
        file=b.file,
        kind="candles",
        symbol=b.symbol,
        timeframe=b.timeframe,
        rows=b.rows_in,
        duplicates_dropped=b.duplicates_dropped,
        out_of_order_sorted=b.out_of_order,
        first=iso(pd.Timestamp(int(b.ts[0]), tz="UTC")),
        last=iso(pd.Timestamp(int(b.ts[-1]), tz="UTC")),
        gap_count=len(b.gaps),
        missing_bars=sum(g.missing_bars for g in b.gaps),
        zero_volume_bars=b.zero_volume_bars,
        gaps=b.gaps,
    )


def _news_report(b: NewsBatch) -> FileReport:
    ts = b.table.column("ts").cast(pa.int64()).to_numpy() * 1_000_000
    return FileReport(
        file=b.file,
        kind="news",
        dataset=b.dataset,
        rows=b.rows_in,
        duplicates_dropped=b.duplicates_dropped,
        date_only_headlines=b.date_only,
        first=iso(pd.Timestamp(int(ts.min()), tz="UTC")),
        last=iso(pd.Timestamp(int(ts.max()), tz="UTC")),
    )


# ---------------------------------------------------------------- merging


@dataclass
class _Write:
    path: Path
    table: pa.Table


def _day_bounds(ts: np.ndarray) -> Iterable[tuple[int, int, int]]:
    """(day_start_ns, i0, i1) for each UTC day present in sorted ``ts``."""
    if len(ts) == 0:
        return
    days = ts // NS_PER_DAY
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    ends = np.r_[starts[1:], len(ts)]
    for s, e in zip(starts, ends, strict=True):
        yield int(days[s]) * NS_PER_DAY, int(s), int(e)


def _plan_candles(store: Path, batches: list[CandleBatch]) -> tuple[list[_Write], int]:
    """Merge batches of one (symbol, timeframe) with the stored partitions they touch.

    Refuses (raises) on a timestamp whose values differ between a file and the store or between
    two files. Returns the partitions to write and how many are unchanged.
    """
    symbol, timeframe = batches[0].symbol, batches[0].timeframe
    directory = candle_dir(store, symbol, timeframe)
    days = sorted({d for b in batches for d in np.unique(b.ts // NS_PER_DAY).tolist()})
    existing_files = [directory / partition_name(d * NS_PER_DAY) for d in days]
    existing_files = [p for p in existing_files if p.exists()]
    stored = read_candle_files(existing_files)
    origins = ["the stored bar"] + [b.file for b in batches]
    m_ts = stored.ts
    m_vals = {c: stored.column(c) for c in VALUE_COLUMNS}
    m_origin = np.zeros(len(m_ts), dtype=np.int64)
    m_rows = np.zeros(len(m_ts), dtype=np.int64)
    for k, b in enumerate(batches, start=1):
        _, im, ib = np.intersect1d(m_ts, b.ts, assume_unique=True, return_indices=True)
        if len(ib):
            for c in VALUE_COLUMNS:
                diff = np.flatnonzero(m_vals[c][im] != b.values[c][ib])
                if len(diff):
                    j = int(diff[0])
                    o = int(m_origin[im[j]])
                    other = origins[o] if o == 0 else f"{origins[o]} row {int(m_rows[im[j]])}"
                    raise DataValidationError(
                        b.file,
                        int(b.rows[ib[j]]),
                        c,
                        float(b.values[c][ib[j]]),
                        f"conflicts with {other} for {symbol} {timeframe} at "
                        f"{iso(pd.Timestamp(int(b.ts[ib[j]]), tz='UTC'))} "
                        f"(which has {float(m_vals[c][im[j]])!r})",
                    )
        new = np.ones(len(b.ts), dtype=bool)
        new[ib] = False
        m_ts = np.concatenate([m_ts, b.ts[new]])
        m_vals = {c: np.concatenate([m_vals[c], b.values[c][new]]) for c in VALUE_COLUMNS}
        m_origin = np.concatenate([m_origin, np.full(int(new.sum()), k)])
        m_rows = np.concatenate([m_rows, b.rows[new]])
        order = np.argsort(m_ts, kind="stable")
        m_ts, m_origin, m_rows = m_ts[order], m_origin[order], m_rows[order]
        m_vals = {c: v[order] for c, v in m_vals.items()}

    stored_days = {int(d): (s, e) for d, s, e in _day_bounds(stored.ts)}
    writes: list[_Write] = []
    unchanged = 0
    for day, s, e in _day_bounds(m_ts):
        if day in stored_days:
            ss, se = stored_days[day]
            if np.array_equal(stored.ts[ss:se], m_ts[s:e]) and all(
                np.array_equal(stored.column(c)[ss:se], m_vals[c][s:e]) for c in VALUE_COLUMNS
            ):
                unchanged += 1
                continue
        table = candle_table(m_ts[s:e], {c: m_vals[c][s:e] for c in VALUE_COLUMNS})
        writes.append(_Write(directory / partition_name(day), table))
    return writes, unchanged


def _plan_news(store: Path, batches: list[NewsBatch]) -> tuple[list[_Write], int]:
    """Merge news batches of one dataset with stored partitions; a re-import replaces items
    with the same (ts, title, url) and leaves the others."""
    directory = news_dir(store, batches[0].dataset)
    new = pa.concat_tables([b.table for b in batches]).to_pandas()
    new["_day"] = new["ts"].astype("datetime64[ns, UTC]").dt.floor("D")
    writes: list[_Write] = []
    unchanged = 0
    for day, part in new.groupby("_day", sort=True):
        path = directory / partition_name(pd.Timestamp(day).value)
        part = part.drop(columns="_day")
        old = _stored_news(path)
        merged = pd.concat([old.to_pandas(), part], ignore_index=True) if old is not None else part
        # keyed by the stamp as given: a headline stored before the date-only rule (ts = 00:00)
        # is replaced by its re-import (ts = 23:59:59), not kept twice
        merged = merged.drop_duplicates(subset=["ts_stamped", "title", "url"], keep="last")
        merged = merged.sort_values(["ts", "title", "url"], kind="stable").reset_index(drop=True)
        for col in ("ts", "ts_stamped"):
            merged[col] = merged[col].astype("datetime64[ms, UTC]").astype("int64")
        table = _news_table(merged)
        if old is not None and old.equals(table):
            unchanged += 1
            continue
        writes.append(_Write(path, table))
    return writes, unchanged


# ---------------------------------------------------------------- the entry points


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def store_batches(
    candles: list[CandleBatch],
    news: list[NewsBatch],
    store: Path | None = None,
    *,
    progress: bool = True,
    fsync: bool = True,
) -> tuple[int, int, int]:
    """Merge validated batches into the store; returns (written, unchanged, temp_removed).

    Plans every partition first (conflicts raise before any write), then writes them atomically.
    The one path by which import, download and synth put data on disk.
    """
    root = resolve_store(store)
    groups: dict[tuple[str, str], list[CandleBatch]] = {}
    for b in candles:
        groups.setdefault((b.symbol, b.timeframe), []).append(b)
    news_groups: dict[str, list[NewsBatch]] = {}
    for n in news:
        news_groups.setdefault(n.dataset, []).append(n)
    writes: list[_Write] = []
    unchanged = 0
    for _key, bs in sorted(groups.items()):
        w, u = _plan_candles(root, bs)
        writes += w
        unchanged += u
    for _ds, ns in sorted(news_groups.items()):
        w, u = _plan_news(root, ns)
        writes += w
        unchanged += u
    removed = 0
    for directory in {w.path.parent for w in writes}:
        removed += clean_temp_files(directory)
    with _progress(progress) as bar, ThreadPoolExecutor(max_workers=_WRITERS) as pool:
        task = bar.add_task("writing partitions", total=len(writes))
        # Parquet encoding and fsync release the GIL: a few writers overlap the disk waits.
        futures = [pool.submit(write_partition, w.path, w.table, fsync=fsync) for w in writes]
        try:
            for fut in as_completed(futures):
                fut.result()
                bar.advance(task)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return len(writes), unchanged, removed


def import_path(
    path: Path, store: Path | None = None, *, progress: bool = True, fsync: bool = True
) -> ImportReport:
    """Import a file or folder into the store; nothing is written unless every file is valid.

    ``fsync=False`` skips the per-partition fsync (still atomic against a killed process).
    """
    started = time.perf_counter()
    root = resolve_store(store)
    files = discover(Path(path))
    if not files:
        raise FileNotFoundError(f"{path}: no .csv(.gz) or .json(.gz) files to import")
    candles: list[CandleBatch] = []
    news: list[NewsBatch] = []
    with _progress(progress) as bar:
        task = bar.add_task("validating files", total=len(files))
        for f in files:
            batch = read_file(f)
            (candles if isinstance(batch, CandleBatch) else news).append(batch)  # type: ignore[arg-type]
            bar.advance(task)
    written, unchanged, removed = store_batches(candles, news, root, progress=progress, fsync=fsync)
    reports = [_candle_report(b) for b in candles] + [_news_report(n) for n in news]
    return ImportReport(
        store=str(root),
        files=reports,
        rows=sum(r.rows for r in reports),
        partitions_written=written,
        partitions_unchanged=unchanged,
        temp_files_removed=removed,
        seconds=round(time.perf_counter() - started, 3),
    )
