"""Labelled headlines: the offline labelling rules, decay at read time, and the labelled store.

Offline labelling (deterministic, no model): a headline gets

- ``category``: the first rule in :data:`CATEGORY_RULES` whose keyword it contains, else
  ``general``;
- ``sentiment`` (-1..1): :func:`tools.sentiment.score_headline`, the same lexicon scorer the
  memos use;
- ``symbols``: its own tags plus the symbols its title names (:func:`tools.sentiment.item_symbols`);
- ``importance`` (0..1): the category's base weight, plus up to 0.3 for a strong sentiment,
  plus 0.1 when it names a listed symbol; clipped to 0..1;
- ``summary``: one sentence (the item's own summary when it has one, else its title), at most
  200 characters.

Scores are stored as labelled and decayed when read (:func:`decay_factor`), never frozen:
``importance_now = importance x 0.5 ** (age_hours / half_life_hours)``, the same half-life the
sentiment bias uses.

Labelled partitions live under ``<store>/news/<dataset>/`` beside imported datasets and hold the
store's news columns plus :data:`LABEL_COLUMNS`; :func:`tools.news_store.load_news` (and so every
memo) reads them like any other dataset, by ``ts`` (when the item was first seen), so a memo at
``at`` never sees an item collected after ``at``.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tools.sentiment import HALF_LIFE_HOURS, clean_title, item_symbols, score_headline
from tools.store import (
    NEWS_SCHEMA,
    NS_PER_DAY,
    news_dir,
    partition_files,
    partition_name,
    resolve_store,
    write_partition,
)
from tools.timeutil import parse_utc

CATEGORIES: tuple[str, ...] = (
    "security",
    "regulation",
    "etf",
    "exchange",
    "macro",
    "adoption",
    "market",
    "technology",
    "general",
)
# (category, base importance, keywords): first match wins, so the most market-moving come first.
CATEGORY_RULES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    (
        "security",
        0.6,
        ("hack", "exploit", "drained", "breach", "stolen", "rug pull", "rugpull", "attack"),
    ),
    (
        "regulation",
        0.45,
        (
            "sec ",
            "sec'",
            "lawsuit",
            "sues",
            "sued",
            "regulat",
            "ban ",
            "bans",
            "crackdown",
            "subpoena",
            "court",
            "cftc",
            "doj",
            "charges",
            "legal",
            "law ",
        ),
    ),
    ("etf", 0.5, ("etf",)),
    (
        "exchange",
        0.4,
        (
            "binance",
            "coinbase",
            "kraken",
            "ftx",
            "listing",
            "delist",
            "withdrawals",
            "bankrupt",
            "insolven",
            "chapter 11",
            "halt",
            "outage",
        ),
    ),
    (
        "macro",
        0.4,
        (
            "fed ",
            "federal reserve",
            "inflation",
            "cpi",
            "interest rate",
            "rate hike",
            "recession",
            "treasury",
            "bank run",
            "banking",
            "svb",
            "silvergate",
        ),
    ),
    (
        "adoption",
        0.3,
        (
            "adopt",
            "partnership",
            "partners",
            "payments",
            "accepts",
            "legal tender",
            "launches",
            "integrat",
        ),
    ),
    (
        "market",
        0.3,
        (
            "price",
            "rally",
            "surge",
            "plunge",
            "soar",
            "crash",
            "dump",
            "pump",
            "bull",
            "bear",
            "all-time high",
            "ath",
            "liquidat",
            "whale",
            "record",
            "falls",
            "rises",
            "drops",
            "jumps",
            "tumbl",
            "%",
        ),
    ),
    (
        "technology",
        0.2,
        (
            "upgrade",
            "fork",
            "mainnet",
            "testnet",
            "layer 2",
            "protocol",
            "network",
            "blockchain",
            "nft",
            "defi",
        ),
    ),
)
GENERAL_BASE = 0.15
SENTIMENT_BONUS = 0.3
SYMBOL_BONUS = 0.1
SUMMARY_CHARS = 200

LABEL_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("id", pa.string()),
    ("category", pa.string()),
    ("importance", pa.float64()),
    ("sentiment", pa.float64()),
    ("published_at", pa.timestamp("ms", tz="UTC")),
    ("labeler", pa.string()),
)
LABELLED_SCHEMA = pa.schema(list(NEWS_SCHEMA) + [pa.field(n, t) for n, t in LABEL_COLUMNS])
_NS_PER_MS = 1_000_000
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'])")


@dataclass(frozen=True)
class HeadlineLabel:
    """What the offline rules say about one headline."""

    category: str
    importance: float
    sentiment: float
    symbols: list[str]
    summary: str


def categorise(title: str) -> tuple[str, float]:
    """``(category, base importance)`` of a headline by the first matching keyword rule."""
    text = f" {clean_title(title).lower()} "
    for category, base, words in CATEGORY_RULES:
        if any(w in text for w in words):
            return category, base
    return "general", GENERAL_BASE


def importance_score(base: float, sentiment: float, symbols: Sequence[str]) -> float:
    """Importance 0..1: base weight + up to 0.3 for strong sentiment + 0.1 when it names a coin."""
    value = base + SENTIMENT_BONUS * abs(sentiment) + (SYMBOL_BONUS if symbols else 0.0)
    return round(min(1.0, max(0.0, value)), 4)


def one_sentence(title: str, summary: str | None) -> str:
    """The first sentence of the summary (or the title), at most 200 characters."""
    text = clean_title(summary) if summary and clean_title(summary) else clean_title(title)
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    if len(first) > SUMMARY_CHARS:
        first = first[: SUMMARY_CHARS - 1].rstrip() + "…"
    return first


def label_headline(
    title: str, summary: str | None = None, symbols: Sequence[str] | None = None
) -> HeadlineLabel:
    """The offline label of one headline (see the module docstring)."""
    sentiment = round(score_headline(title), 4)
    syms = item_symbols(list(symbols or []), clean_title(title))
    category, base = categorise(title)
    return HeadlineLabel(
        category=category,
        importance=importance_score(base, sentiment, syms),
        sentiment=sentiment,
        symbols=syms,
        summary=one_sentence(title, summary),
    )


def decay_factor(age_hours: float, half_life_hours: float = HALF_LIFE_HOURS) -> float:
    """``0.5 ** (age / half_life)``; an age below zero (clock skew) counts as zero."""
    return float(0.5 ** (max(0.0, age_hours) / half_life_hours))


# ---------------------------------------------------------------- the labelled store


def labelled_table(rows: Sequence[dict[str, object]]) -> pa.Table:
    """Labelled rows (keys: the schema's columns; times as tz-aware timestamps) -> a table."""

    def ms(v: object) -> int:
        return int(parse_utc(v).value // _NS_PER_MS)  # type: ignore[arg-type]

    cols: dict[str, list[object]] = {n: [] for n in LABELLED_SCHEMA.names}
    for r in rows:
        for n in LABELLED_SCHEMA.names:
            v = r.get(n)
            if n in ("ts", "published_at"):
                v = ms(v)
            elif n == "symbols":
                v = list(v or [])  # type: ignore[call-overload]
            cols[n].append(v)
    arrays = []
    for field in LABELLED_SCHEMA:
        if pa.types.is_timestamp(field.type):
            arrays.append(pa.array(cols[field.name], type=pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(cols[field.name], type=field.type))
    return pa.Table.from_arrays(arrays, schema=LABELLED_SCHEMA)


@contextmanager
def _dataset_lock(directory: Path) -> Iterator[None]:
    """One writer per labelled dataset at a time (across processes): partitions are
    read-modify-written, and two writers racing on one day would lose items."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def append_labelled_news(
    rows: Sequence[dict[str, object]],
    dataset: str,
    store: Path | None = None,
    *,
    fsync: bool = True,
) -> int:
    """Merge labelled rows into their daily partitions; an ``id`` already stored is kept once
    (so a batch re-delivered after a crash is not stored twice). Returns rows newly stored."""
    if not rows:
        return 0
    directory = news_dir(resolve_store(store), dataset)
    new = labelled_table(rows)
    ts = new.column("ts").cast(pa.int64()).to_numpy() * _NS_PER_MS
    days = ts - ts % NS_PER_DAY
    added = 0
    with _dataset_lock(directory):
        for day in np.unique(days):
            part = new.filter(pa.array(days == day))
            path = directory / partition_name(int(day))
            old = _read_labelled(path)
            merged = pa.concat_tables([old, part]) if old is not None else part
            before = old.num_rows if old is not None else 0
            frame = merged.to_pandas()
            frame = frame.drop_duplicates(subset=["id"], keep="first")
            if len(frame) == before:
                continue
            added += len(frame) - before
            order = frame.sort_values(["ts", "id"], kind="stable").index
            table = merged.take(pa.array(order.to_numpy()))
            write_partition(path, table.combine_chunks(), fsync=fsync)
    return added


def _read_labelled(path: Path) -> pa.Table | None:
    if not path.exists():
        return None
    return pq.read_table(path).select(LABELLED_SCHEMA.names).cast(LABELLED_SCHEMA)


def load_labelled_news(
    dataset: str,
    at: str | pd.Timestamp,
    *,
    window_hours: float = 48.0,
    half_life_hours: float = HALF_LIFE_HOURS,
    store: Path | None = None,
) -> pd.DataFrame:
    """Labelled items known at ``at`` (``at - window <= ts <= at``), newest first, with the
    scores decayed to ``at``: ``importance_now`` and ``sentiment_now`` (never items after ``at``)."""
    at_ts = parse_utc(at)
    lo = at_ts - pd.Timedelta(hours=window_hours)
    files = [
        p
        for p in partition_files(news_dir(resolve_store(store), dataset))
        if partition_name(lo.value - lo.value % NS_PER_DAY)
        <= p.name
        <= partition_name(at_ts.value - at_ts.value % NS_PER_DAY)
    ]
    if not files:
        return labelled_frame(labelled_table([]))
    table = pa.concat_tables([_read_labelled(p) for p in files if p.exists()])  # type: ignore[misc]
    df = labelled_frame(table)
    df = df[(df["ts"] >= lo) & (df["ts"] <= at_ts)].copy()
    age = (at_ts - df["ts"]).dt.total_seconds() / 3600.0
    factor = np.exp2(-np.maximum(age.to_numpy(dtype=float), 0.0) / half_life_hours)
    df["importance_now"] = df["importance"].to_numpy(dtype=float) * factor
    df["sentiment_now"] = df["sentiment"].to_numpy(dtype=float) * factor
    return df.sort_values(["ts", "id"], ascending=False, kind="stable").reset_index(drop=True)


def labelled_frame(table: pa.Table) -> pd.DataFrame:
    """A labelled table as a frame: ``ts``/``published_at`` tz-aware UTC, symbols as lists."""
    out = {}
    for field in LABELLED_SCHEMA:
        col = table.column(field.name)
        if pa.types.is_timestamp(field.type):
            ns = col.cast(pa.int64()).to_numpy(zero_copy_only=False).astype("datetime64[ms]")
            out[field.name] = pd.DatetimeIndex(ns).tz_localize("UTC").as_unit("ns")
        else:
            out[field.name] = col.to_pylist()
    return pd.DataFrame(out)


def stored_ids(dataset: str, store: Path | None = None) -> list[str]:
    """Every stored item id of a labelled dataset (for reconciliation)."""
    ids: list[str] = []
    for p in partition_files(news_dir(resolve_store(store), dataset)):
        ids += [str(x) for x in pq.read_table(p, columns=["id"]).column("id").to_pylist()]
    return ids
