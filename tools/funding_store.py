"""Funding-rate (and mark-price) history in the store, in Binance's funding-rate history shape.

Input: Binance USDⓈ-M ``GET /fapi/v1/fundingRate`` rows, as a JSON array or a CSV with the same
header: ``symbol, fundingTime`` (epoch ms), ``fundingRate`` and optionally ``markPrice`` (the
mark price at the settlement; empty or absent when unknown). Every row is checked before
anything is written; a bad one is refused with the file, row, field and value.

Layout, beside the candles (one small file per symbol and UTC year; three settlements a day)::

    <store>/funding/<SYMBOL>/<YYYY>.parquet   ts (timestamp[ms, UTC]), funding_rate, mark_price

An import merges into what is stored (a row at a stored time replaces it) and writes each
touched year atomically (``tools.store.write_partition``). The times are stored as given; the
exchange puts them on its 00/08/16 UTC grid (``exchange.funding.on_funding_grid``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from tools.errors import DataValidationError
from tools.store import resolve_store, write_partition
from tools.symbols import normalize_symbol

FUNDING_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("ms", tz="UTC")),
        ("funding_rate", pa.float64()),
        ("mark_price", pa.float64()),
    ]
)
#: A rate beyond ±100 % per funding period is not a funding rate (Binance caps are a few %).
MAX_ABS_RATE = 1.0
_YEAR_RE = re.compile(r"^\d{4}\.parquet$")
_NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class FundingSeries:
    """One symbol's stored settlements, oldest first: ``times_ns`` (epoch ns as stored),
    ``rates`` and ``marks`` (NaN where the mark price is unknown)."""

    symbol: str
    times_ns: np.ndarray
    rates: np.ndarray
    marks: np.ndarray

    def rate_by_time(self) -> dict[int, float]:
        return dict(zip(self.times_ns.tolist(), self.rates.tolist(), strict=True))

    def mark_by_time(self) -> dict[int, float]:
        return {
            t: m
            for t, m in zip(self.times_ns.tolist(), self.marks.tolist(), strict=True)
            if math.isfinite(m)
        }


class FundingImport(BaseModel):
    """What ``import_funding`` stored, per symbol."""

    file: str
    symbol: str
    rows: int
    with_mark_price: int
    first: str
    last: str
    stored_rows: int
    files_written: int


def funding_dir(store: Path, symbol: str) -> Path:
    """``<store>/funding/<SYMBOL>``."""
    return store / "funding" / symbol


# ----------------------------------------------------------------------------- reading a file


def _rows(path: Path) -> list[dict[str, Any]]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataValidationError(name, None, "file", path.name, f"not UTF-8 text ({exc})") from exc
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataValidationError(name, None, "file", exc.msg, "not a JSON array") from exc
        for n, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise DataValidationError(name, n, "row", row, "each item must be a JSON object")
        return list(rows)
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    for required in ("fundingTime", "fundingRate"):
        if required not in header:
            raise DataValidationError(
                name, None, required, ",".join(header), "missing from the header"
            )
    return list(reader)


def _epoch_ms(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        ms = value
    elif isinstance(value, float) and value.is_integer():
        ms = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        ms = int(value.strip())
    else:
        raise ValueError
    if ms <= 0:
        raise ValueError
    return ms


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError
    x = float(value)
    if not math.isfinite(x):
        raise ValueError
    return x


def parse_funding_rows(
    path: Path, symbol: str | None = None
) -> dict[str, dict[int, tuple[float, float]]]:
    """``{SYMBOL: {time_ms: (rate, mark or NaN)}}`` from a Binance-shaped file; ``symbol``
    names the rows of a file without a ``symbol`` field (and must agree with those that have
    one). Raises ``DataValidationError`` naming the row, field and value."""
    name = path.name
    out: dict[str, dict[int, tuple[float, float]]] = {}
    wanted = normalize_symbol(symbol) if symbol is not None else None
    for n, row in enumerate(_rows(path), 1):
        raw_sym = row.get("symbol")
        if raw_sym in (None, ""):
            if wanted is None:
                raise DataValidationError(
                    name, n, "symbol", raw_sym, "missing; give --symbol for a file without one"
                )
            sym = wanted
        else:
            try:
                sym = normalize_symbol(str(raw_sym))
            except ValueError as exc:
                raise DataValidationError(name, n, "symbol", raw_sym, str(exc)) from exc
            if wanted is not None and sym != wanted:
                raise DataValidationError(name, n, "symbol", raw_sym, f"is not {wanted}")
        raw_t = row.get("fundingTime")
        try:
            ms = _epoch_ms(raw_t)
        except (TypeError, ValueError):
            raise DataValidationError(
                name, n, "fundingTime", raw_t, "must be a positive integer epoch time in ms"
            ) from None
        raw_r = row.get("fundingRate")
        try:
            rate = _number(raw_r)
        except (TypeError, ValueError):
            raise DataValidationError(
                name, n, "fundingRate", raw_r, "must be a finite number (0.0001 = 0.01 %)"
            ) from None
        if abs(rate) > MAX_ABS_RATE:
            raise DataValidationError(
                name, n, "fundingRate", raw_r, f"|rate| above {MAX_ABS_RATE} per funding period"
            )
        raw_m = row.get("markPrice")
        mark = math.nan
        if raw_m not in (None, ""):
            try:
                mark = _number(raw_m)
            except (TypeError, ValueError):
                mark = -1.0
            if mark <= 0:
                raise DataValidationError(
                    name, n, "markPrice", raw_m, "must be a positive finite price (or empty)"
                )
        rows = out.setdefault(sym, {})
        seen = rows.get(ms)
        if seen is not None and not _same(seen, (rate, mark)):
            raise DataValidationError(
                name, n, "fundingTime", raw_t, f"appears twice for {sym} with different values"
            )
        rows[ms] = (rate, mark)
    if not out:
        raise DataValidationError(name, None, "file", name, "holds no funding-rate rows")
    return out


def _same(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] == b[0] and (a[1] == b[1] or (math.isnan(a[1]) and math.isnan(b[1])))


# ------------------------------------------------------------------------------- the store


def _year(ms: int) -> str:
    return str(np.datetime64(ms, "ms").astype("datetime64[Y]"))


def _read_dir(directory: Path) -> dict[int, tuple[float, float]]:
    out: dict[int, tuple[float, float]] = {}
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return out
    for n in names:
        if not _YEAR_RE.match(n):
            continue
        t = pq.read_table(directory / n)
        ms = t.column("ts").cast(pa.int64()).to_numpy()
        rates = t.column("funding_rate").to_numpy()
        marks = t.column("mark_price").to_numpy(zero_copy_only=False).astype(np.float64)
        for a, r, m in zip(ms.tolist(), rates.tolist(), marks.tolist(), strict=True):
            out[a] = (r, m if m is not None and math.isfinite(m) else math.nan)
    return out


def _table(rows: list[tuple[int, tuple[float, float]]]) -> pa.Table:
    ms = np.asarray([t for t, _ in rows], dtype=np.int64)
    marks = np.asarray([v[1] for _, v in rows], dtype=np.float64)
    return pa.Table.from_arrays(
        [
            pa.array(ms, type=pa.int64()).cast(FUNDING_SCHEMA.field("ts").type),
            pa.array(np.asarray([v[0] for _, v in rows], dtype=np.float64)),
            pa.array(marks, mask=np.isnan(marks)),
        ],
        schema=FUNDING_SCHEMA,
    )


def import_funding(
    path: Path, *, symbol: str | None = None, store: Path | None = None, fsync: bool = True
) -> list[FundingImport]:
    """Validate a funding-rate history file and merge it into the store (idempotent)."""
    root = resolve_store(store)
    parsed = parse_funding_rows(Path(path), symbol)  # everything checked before any write
    reports: list[FundingImport] = []
    for sym, new in sorted(parsed.items()):
        directory = funding_dir(root, sym)
        merged = _read_dir(directory)
        merged.update(new)
        years = {_year(ms) for ms in new}
        written = 0
        for year in sorted(years):
            rows = sorted((t, v) for t, v in merged.items() if _year(t) == year)
            write_partition(directory / f"{year}.parquet", _table(rows), fsync=fsync)
            written += 1
        first, last = min(new), max(new)
        reports.append(
            FundingImport(
                file=Path(path).name,
                symbol=sym,
                rows=len(new),
                with_mark_price=sum(1 for _, m in new.values() if math.isfinite(m)),
                first=_iso_ms(first),
                last=_iso_ms(last),
                stored_rows=len(merged),
                files_written=written,
            )
        )
    return reports


def _iso_ms(ms: int) -> str:
    return str(np.datetime64(ms, "ms").astype("datetime64[s]")) + "Z"


def load_funding(symbol: str, store: Path | None = None) -> FundingSeries | None:
    """The stored funding series of ``symbol`` (None when nothing is stored)."""
    rows = _read_dir(funding_dir(resolve_store(store), symbol))
    if not rows:
        return None
    items = sorted(rows.items())
    return FundingSeries(
        symbol=symbol,
        times_ns=np.asarray([t for t, _ in items], dtype=np.int64) * _NS_PER_MS,
        rates=np.asarray([v[0] for _, v in items], dtype=np.float64),
        marks=np.asarray([v[1] for _, v in items], dtype=np.float64),
    )
