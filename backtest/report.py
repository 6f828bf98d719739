"""Turn a backtest result into ``runs/<run_id>/``: report.json, equity.csv and three charts.

The run id is a hash of what determines the result (the configuration snapshot, the data hash
and the git commit), and report.json holds no wall-clock time, so running the same thing twice
writes byte-identical report.json files into the same directory.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from backtest import charts
from backtest.assumptions import ASSUMPTIONS
from backtest.engine import ENGINE_VERSION, BacktestResult, data_fingerprint
from backtest.metrics import summary
from tools.hashing import canonical_json, git_commit, stable_hash
from tools.runs import atomic_write_text, run_dir, write_json
from tools.timeutil import iso

REPORT_SCHEMA_VERSION = 1
CHART_FILES = ("equity.png", "trades.png", "pnl.png")
HEADLINE = (
    "total_return_pct",
    "final_equity",
    "max_drawdown_pct",
    "max_drawdown_duration_days",
    "sharpe",
    "sortino",
    "calmar",
    "trades",
    "win_rate_pct",
    "profit_factor",
    "expectancy",
    "expectancy_r",
    "exposure_pct",
    "turnover",
    "fees",
)


class RunSpec(BaseModel):
    """The configuration snapshot: everything besides data and code that decides the result."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = REPORT_SCHEMA_VERSION
    engine_version: int = ENGINE_VERSION
    mode: str = Field(description="strategy or decisions")
    symbol: str
    timeframe: str = Field(description="strategy timeframe; execution is always on 1m bars")
    start: str
    end: str
    strategy: str | None = None
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    size_fraction: float | None = None
    exchange: dict[str, Any] = Field(default_factory=dict)
    decisions_sha256: str | None = None
    assumptions: dict[str, str] = Field(default_factory=lambda: dict(ASSUMPTIONS))


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("numpy", "pandas", "matplotlib", "pydantic"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN and infinities become None, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def equity_csv(result: BacktestResult) -> str:
    """One row per 1m bar: close time is not used; ``ts`` is the bar open like the candles."""
    frame = pd.DataFrame(
        {"equity": result.equity.to_numpy(), "position": result.position},
        index=pd.DatetimeIndex(result.equity.index).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    frame.index.name = "ts"
    return frame.to_csv(float_format="%.17g", lineterminator="\n")  # round-trips a float


def equity_daily(equity: pd.Series) -> pd.Series:
    """Each UTC day's last equity, keyed by the time it was measured: the close of the day's
    last bar (``equity`` is indexed by bar open time and holds the equity at that bar's close)."""
    eq = equity.dropna()
    idx = pd.DatetimeIndex(eq.index)
    last = pd.Series(range(len(eq)), index=idx).groupby(idx.floor("1D")).max()
    rows = last.to_numpy()
    return pd.Series(eq.to_numpy()[rows], index=idx[rows] + pd.Timedelta(minutes=1))


def build_report(result: BacktestResult, spec: RunSpec) -> dict[str, Any]:
    """The report as a dict (JSON-safe, deterministic, no wall-clock times)."""
    data = {"symbol": result.symbol, "timeframe": "1m", **data_fingerprint(result.bars)}
    config = spec.model_dump(mode="json")
    commit = git_commit()
    run_id = stable_hash({"config": config, "data_sha256": data["sha256"], "git_commit": commit})
    metrics = summary(
        result.equity,
        result.position,
        result.trades,
        result.fill_notional,
        result.initial_equity,
        result.bars,
    )
    # funding moves the wallet but sits on no trade row: Σ net_pnl + funding = final − initial
    metrics["funding"] = result.funding
    csv_text = equity_csv(result)
    daily = equity_daily(result.equity)
    report = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "run_id": run_id,
        "git_commit": commit,
        "config": config,
        "config_sha256": hashlib.sha256(canonical_json(config).encode()).hexdigest(),
        "data": data,
        "package_versions": _versions(),
        "headline": {k: metrics.get(k) for k in HEADLINE},
        "metrics": metrics,
        "execution": {
            "bars": result.bars_total,
            "bars_stepped_through_exchange": result.bars_stepped,
            "intents": result.intents,
            "intents_ignored": result.intents_ignored,
            "fills": len(result.fills),
            "end_of_data_close": result.end_of_data_close,
        },
        "trades": [t.to_dict() for t in result.trades],
        "equity_daily": {
            iso(ts): float(v) for ts, v in zip(pd.DatetimeIndex(daily.index), daily, strict=True)
        },
        "equity_curve": {
            "file": "equity.csv",
            "rows": len(result.equity),
            "sha256": hashlib.sha256(csv_text.encode()).hexdigest(),
        },
        "charts": list(CHART_FILES),
    }
    return _clean(report)


def render_charts(result: BacktestResult, spec: RunSpec) -> dict[str, bytes]:
    """The three PNGs, keyed by file name."""
    label = f"{spec.symbol} · {spec.strategy or 'decision feed'} ({spec.timeframe})"
    span = f"{iso(result.bars.index[0])[:16]} → {iso(result.bars.index[-1])[:16]} UTC"
    first_open = float(result.bars["open"].iloc[0])
    benchmark = result.initial_equity * result.bars["close"] / first_open
    return {
        "equity.png": charts.equity_chart(
            result.equity, benchmark, f"{label} — equity, {span}", result.initial_equity
        ),
        "trades.png": charts.trades_chart(result.bars["close"], result.trades, label),
        "pnl.png": charts.pnl_chart(result.trades, label),
    }


def write_run(
    result: BacktestResult, spec: RunSpec, home: Path | None = None, *, with_charts: bool = True
) -> tuple[Path, dict[str, Any]]:
    """Compute everything first, then write; report.json goes last so its presence means done."""
    report = build_report(result, spec)
    pngs = render_charts(result, spec) if with_charts else {}
    csv_text = equity_csv(result)
    out = run_dir(report["run_id"], home)
    for name, blob in pngs.items():
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(blob)
        tmp.replace(out / name)
    atomic_write_text(out / "equity.csv", csv_text)
    write_json(out / "report.json", report)
    return out, report
