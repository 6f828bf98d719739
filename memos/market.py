"""A warm, in-memory view of candles and news that memos slice by ``at`` without look-ahead.

Replay builds tens of thousands of memos, so everything that does not depend on ``at`` is done
once here: candles become numpy arrays (bar open times in int64 ns), coarser bars are resampled
from the finest stored ones, returns are aligned to BTC's, and every headline is scored and
tagged. A memo then only slices with ``np.searchsorted``:

- a bar opened at ``t`` is known from ``t + bar``, so at ``at`` we use the bars with
  ``open + bar <= at`` (at 12:30 the 12:00 1h bar is not used; the 12:29 1m bar is);
- a headline is known from its ``ts``, so at ``at`` we use the ones with ``ts <= at``.

Precomputing is safe because each precomputed value depends only on its own bar or headline
(and earlier bars): a resampled 1h bar is only used once it has closed, and then all its minutes
have closed too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tools.candles import resample_frame
from tools.correlation import adjacent_log_returns, align_to
from tools.news_store import news_table_frame
from tools.sentiment import GENERAL_WEIGHT, clean_title, item_symbols, score_headlines
from tools.symbols import currencies_to_symbols
from tools.timeutil import TIMEFRAMES, iso, timeframe_delta

if TYPE_CHECKING:
    from tools.importer import NewsBatch
    from tools.validate import CandleBatch

BTC = "BTCUSDT"
OHLCV = ("open", "high", "low", "close", "volume")


class MarketDataError(ValueError):
    """The data asked for is not in this market view."""


@dataclass(frozen=True)
class Bars:
    """One symbol's bars at one timeframe as numpy arrays, oldest first."""

    symbol: str
    timeframe: str
    ts: np.ndarray  # int64 ns, bar open time
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def bar_ns(self) -> int:
        return int(timeframe_delta(self.timeframe).value)

    def closed(self, at_ns: int) -> int:
        """How many bars have closed at or before ``at_ns`` (``open + bar <= at``)."""
        return int(np.searchsorted(self.ts, at_ns - self.bar_ns, side="right"))

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def source(self) -> str:
        return f"candles:{self.symbol}_{self.timeframe}"


@dataclass(frozen=True)
class NewsView:
    """The headlines relevant to one symbol (its own and market-wide), sorted by time."""

    ts: np.ndarray  # int64 ns
    score: np.ndarray
    base_weight: np.ndarray  # 1 for the symbol's own news, general_weight for market-wide
    item: np.ndarray  # index into MarketData.news_items


@dataclass(frozen=True)
class NewsItem:
    """One headline, cleaned and scored (the title stays untrusted text)."""

    ts_ns: int
    title: str
    source: str
    url: str
    dataset: str
    symbols: tuple[str, ...]
    score: float

    @property
    def ts_iso(self) -> str:
        return iso(pd.Timestamp(self.ts_ns, tz="UTC"))


def _to_ns(index: pd.Index) -> np.ndarray:
    idx = pd.DatetimeIndex(index)
    if idx.tz is None:
        raise MarketDataError("candle index must be tz-aware UTC (bar open times)")
    return idx.tz_convert("UTC").as_unit("ns").asi8


def infer_timeframe(frame: pd.DataFrame) -> str:
    """The timeframe code of a candle frame: its smallest step between bars."""
    ts = _to_ns(frame.index)
    if len(ts) < 2:
        raise MarketDataError("cannot infer the timeframe of fewer than two bars; pass it")
    step = int(np.diff(ts).min())
    for code, delta in TIMEFRAMES.items():
        if delta.value == step:
            return code
    raise MarketDataError(f"bar spacing {pd.Timedelta(step)} is not a known timeframe")


def resample_bars(frame: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """OHLCV bars at ``timeframe`` from finer ones, by the store's resampler with its edges kept:
    the memo slices these by ``at`` (only closed windows), and dropping a window because the
    data ends inside it would make a memo depend on whether later bars exist."""
    return resample_frame(frame, infer_timeframe(frame), timeframe, keep_edges=True)


def _bars_from_frame(symbol: str, timeframe: str, frame: pd.DataFrame) -> Bars:
    f = frame.sort_index(kind="mergesort")
    cols = {c: np.ascontiguousarray(f[c].to_numpy(dtype=np.float64)) for c in OHLCV}
    return Bars(
        symbol=symbol, timeframe=timeframe, ts=np.ascontiguousarray(_to_ns(f.index)), **cols
    )


@dataclass
class MarketData:
    """Warm candles and news for memo building; slice by ``at`` with :meth:`Bars.closed`.

    ``candles`` maps symbol to its finest stored bars (index = bar open time, UTC). ``news`` has
    columns ``ts, title, source, url`` and optionally ``symbols`` (list), ``dataset``.
    """

    candles: Mapping[str, pd.DataFrame]
    news: pd.DataFrame | None = None
    timeframes: Mapping[str, str] | None = None  # finest timeframe per symbol (inferred if None)
    general_weight: float = GENERAL_WEIGHT
    _base: dict[str, Bars] = field(default_factory=dict, init=False, repr=False)
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)
    _cache: dict[tuple[str, str], Bars] = field(default_factory=dict, init=False, repr=False)
    _btc_ret: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False
    )
    _news_views: dict[str, NewsView] = field(default_factory=dict, init=False, repr=False)
    news_items: list[NewsItem] = field(default_factory=list, init=False, repr=False)
    stored_ranges: dict[str, list[tuple[str, pd.Timestamp, pd.Timestamp]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        for sym, frame in self.candles.items():
            if frame is None or len(frame) == 0:
                continue
            tf = (self.timeframes or {}).get(sym) or infer_timeframe(frame)
            frame = frame.sort_index(kind="mergesort")
            self._frames[sym] = frame
            self._base[sym] = _bars_from_frame(sym, tf, frame)
        self._prepare_news(self.news)

    # --- candles ------------------------------------------------------------------------------
    @property
    def symbols(self) -> list[str]:
        return sorted(self._base)

    def has(self, symbol: str) -> bool:
        return symbol in self._base

    def base(self, symbol: str) -> Bars:
        """The finest bars of ``symbol``."""
        try:
            return self._base[symbol]
        except KeyError:
            known = ", ".join(self.symbols) or "none"
            raise MarketDataError(
                f"symbol {symbol!r} has no candles here (have: {known})"
            ) from None

    def bars(self, symbol: str, timeframe: str) -> Bars:
        """Bars at ``timeframe``, resampled once from the finest ones and cached."""
        base = self.base(symbol)
        if timeframe == base.timeframe:
            return base
        key = (symbol, timeframe)
        if key not in self._cache:
            if timeframe_delta(timeframe) < timeframe_delta(base.timeframe):
                raise MarketDataError(
                    f"timeframe {timeframe!r} is finer than {symbol}'s finest stored bars "
                    f"({base.timeframe})"
                )
            self._cache[key] = _bars_from_frame(
                symbol, timeframe, resample_bars(self._frames[symbol], timeframe)
            )
        return self._cache[key]

    def coverage(self, symbol: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        """(first bar open, last bar close) of the finest bars."""
        b = self.base(symbol)
        return (
            pd.Timestamp(int(b.ts[0]), tz="UTC"),
            pd.Timestamp(int(b.ts[-1]) + b.bar_ns, tz="UTC"),
        )

    def returns_with_btc(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        """(symbol's one-bar log returns, BTC's at the same bar times) on the symbol's bars.

        NaN across gaps and where BTC has no bar; empty BTC when BTC is not loaded.
        """
        if symbol not in self._btc_ret:
            b = self.base(symbol)
            r = adjacent_log_returns(b.ts, b.close, b.bar_ns)
            if self.has(BTC) and self.base(BTC).timeframe == b.timeframe:
                bb = self.base(BTC)
                br = align_to(b.ts, bb.ts, adjacent_log_returns(bb.ts, bb.close, bb.bar_ns))
            else:
                br = np.full(len(r), np.nan)
            self._btc_ret[symbol] = (r, br)
        return self._btc_ret[symbol]

    # --- news -----------------------------------------------------------------------------------
    def _prepare_news(self, news: pd.DataFrame | None) -> None:
        if news is None or len(news) == 0:
            return
        df = news.copy()
        df["ts"] = pd.to_datetime(df["ts"], utc=True)
        df = df.sort_values("ts", kind="mergesort").reset_index(drop=True)
        titles = [clean_title(t) for t in df["title"].fillna("").tolist()]
        scores = score_headlines(titles)
        ts_ns = df["ts"].dt.as_unit("ns").astype("int64").to_numpy()
        n = len(df)
        syms = df["symbols"].tolist() if "symbols" in df else [None] * n
        curs = df["currencies"].tolist() if "currencies" in df else [None] * n
        sources = df["source"].tolist() if "source" in df else [""] * n
        urls = df["url"].tolist() if "url" in df else [""] * n
        datasets = df["dataset"].tolist() if "dataset" in df else [""] * n
        for i, title in enumerate(titles):
            own: list[str] = []
            tags, cur = syms[i], curs[i]
            if isinstance(tags, list | tuple | np.ndarray):
                own = [str(s) for s in tags]
            elif isinstance(cur, str):
                own = currencies_to_symbols(cur)
            self.news_items.append(
                NewsItem(
                    ts_ns=int(ts_ns[i]),
                    title=title,
                    source=_text(sources[i]),
                    url=_text(urls[i]),
                    dataset=_text(datasets[i]),
                    symbols=tuple(item_symbols(own, title)),
                    score=float(scores[i]),
                )
            )

    def news_view(self, symbol: str) -> NewsView:
        """Headlines that count for ``symbol``: its own (weight 1) and market-wide ones."""
        if symbol not in self._news_views:
            idx, w = [], []
            for i, item in enumerate(self.news_items):
                if symbol in item.symbols:
                    idx.append(i)
                    w.append(1.0)
                elif not item.symbols:
                    idx.append(i)
                    w.append(self.general_weight)
            ia = np.array(idx, dtype=np.int64)
            self._news_views[symbol] = NewsView(
                ts=np.array([self.news_items[i].ts_ns for i in idx], dtype=np.int64),
                score=np.array([self.news_items[i].score for i in idx], dtype=np.float64),
                base_weight=np.array(w, dtype=np.float64),
                item=ia,
            )
        return self._news_views[symbol]

    def warm(self, symbols: Iterable[str], timeframe: str) -> MarketData:
        """Do every per-symbol precomputation now (resample, returns, news), not on first use."""
        for s in symbols:
            if self.has(s):
                self.bars(s, timeframe)
                self.returns_with_btc(s)
            self.news_view(s)
        return self

    # --- edges: build from the store or from the shared CSVs ------------------------------------
    @classmethod
    def from_store(
        cls,
        symbols: Iterable[str],
        store: Path | None = None,
        *,
        at: pd.Timestamp | None = None,
        with_btc: bool = True,
        news: bool = True,
    ) -> MarketData:
        """Load the finest stored bars of ``symbols`` (and BTC) and all news from the store.

        With ``at``, each symbol uses the finest stored timeframe whose range covers ``at``
        (BTC's 1h history of 2017-2021 and its 1m bars of 2023 are different sets); a symbol
        with no set covering ``at`` is left out. Without ``at`` the finest set is used, whatever
        its range. ``stored_ranges`` records every stored (timeframe, first close, last close).
        """
        from tools.candles import to_frame
        from tools.store import read_candle_set, resolve_store

        root = resolve_store(store)
        frames: dict[str, pd.DataFrame] = {}
        tfs: dict[str, str] = {}
        ranges: dict[str, list[tuple[str, pd.Timestamp, pd.Timestamp]]] = {}
        for sym in _wanted(symbols, with_btc):
            ranges[sym] = _stored_ranges(root, sym)
            tf = _choose(ranges[sym], at)
            if tf is not None:
                # the stored set itself: load_candles would resample a finer set over it
                frames[sym], tfs[sym] = to_frame(read_candle_set(root, sym, tf)), tf
        md_news = None
        if news:
            from tools.news_store import load_news

            md_news = load_news("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", store=root)
        md = cls(candles=frames, news=md_news, timeframes=tfs)
        md.stored_ranges = {s: r for s, r in ranges.items() if r}
        return md

    @staticmethod
    def store_key(
        symbols: Iterable[str],
        store: Path | None = None,
        *,
        at: pd.Timestamp | None = None,
        with_btc: bool = True,
    ) -> tuple[object, ...]:
        """What :meth:`from_store` with these arguments would load, as a hashable key: the
        chosen (symbol, timeframe) sets and the on-disk state of the candle and news folders.

        Two moments served by the same stored sets share a key; a 2021 and a 2023 moment do
        not, and any write to the store (in this process or another) changes the key, so a
        cache of MarketData keyed by it never serves data that do not cover ``at`` or that
        are out of date. Cheap: stats of a few folders (the candle arrays are cached by
        :func:`tools.store.read_candle_set`).
        """
        from tools.store import (
            candle_dir,
            generation,
            news_dir,
            resolve_store,
            stored_news_sets,
        )

        root = resolve_store(store).resolve()
        parts: list[object] = [str(root), generation()]
        for sym in _wanted(symbols, with_btc):
            tf = _choose(_stored_ranges(root, sym), at)
            parts.append((sym, tf, _folder_state(candle_dir(root, sym, tf)) if tf else None))
        for ds in stored_news_sets(root):
            parts.append((ds, _folder_state(news_dir(root, ds))))
        return tuple(parts)

    @classmethod
    def from_csv_dir(
        cls, data_dir: Path, symbols: Iterable[str], timeframe: str = "1m"
    ) -> MarketData:
        """Read ``../shared/data``-format CSVs directly (for benchmarks and tests without a
        store), through the importer's validating readers, so they see what an import stores."""
        from tools.importer import read_candle_csv, read_news_csv

        frames = {}
        for sym in symbols:
            path = Path(data_dir) / "candles" / f"{sym}_{timeframe}.csv.gz"
            if path.exists():
                frames[sym] = candle_frame(read_candle_csv(path))
        news = [
            news_frame(read_news_csv(p)) for p in sorted((Path(data_dir) / "news").glob("*.csv.gz"))
        ]
        return cls(
            candles=frames,
            news=pd.concat(news, ignore_index=True) if news else None,
            timeframes=dict.fromkeys(frames, timeframe),
        )


def _wanted(symbols: Iterable[str], with_btc: bool) -> list[str]:
    return list(dict.fromkeys([*symbols, *([BTC] if with_btc else [])]))


def _stored_ranges(root: Path, symbol: str) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """(timeframe, first bar close, last bar close) of each stored set of ``symbol``, finest first."""
    from tools.candles import stored_timeframes
    from tools.store import read_candle_set

    out = []
    for tf in stored_timeframes(symbol, root):
        ts = read_candle_set(root, symbol, tf).ts
        if len(ts):
            bar = int(timeframe_delta(tf).value)
            out.append(
                (
                    tf,
                    pd.Timestamp(int(ts[0]) + bar, tz="UTC"),
                    pd.Timestamp(int(ts[-1]) + bar, tz="UTC"),
                )
            )
    return out


def _choose(
    ranges: list[tuple[str, pd.Timestamp, pd.Timestamp]], at: pd.Timestamp | None
) -> str | None:
    """The finest stored timeframe whose range covers ``at`` (the finest of all without ``at``)."""
    for tf, first, last in ranges:
        if at is None or first <= at <= last:
            return tf
    return None


def _folder_state(directory: Path) -> tuple[int, int] | None:
    try:
        st = directory.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino)


def candle_frame(batch: CandleBatch) -> pd.DataFrame:
    """A validated candle batch as a frame indexed by bar open time (UTC), float64 OHLCV."""
    index = pd.DatetimeIndex(batch.ts.astype("datetime64[ns]"), name="ts").tz_localize("UTC")
    return pd.DataFrame(
        {c: np.asarray(batch.values[c], dtype=np.float64) for c in OHLCV}, index=index
    )


def news_frame(batch: NewsBatch) -> pd.DataFrame:
    """A validated news batch as a frame (``ts`` = when each headline counts as known)."""
    return news_table_frame(batch.table)


def _text(v: object) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else str(v)


__all__ = [
    "BTC",
    "Bars",
    "MarketData",
    "MarketDataError",
    "NewsItem",
    "NewsView",
    "candle_frame",
    "news_frame",
    "resample_bars",
]
