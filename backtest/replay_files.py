"""A replay's run directory: the report, the ledger export and the charts, each written once and
atomically (``report.json`` last: its presence means the run is complete)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backtest import charts
from backtest.replay import ReplayResult, bars_frame, build_replay_report, equity_curves
from decisions.ledger import Ledger
from tools.runs import write_json
from tools.timeutil import iso

CHARTS = ("equity.png",)


def run_relative(obj: Any, run_id: str) -> Any:
    """``obj`` without the run directory's name: ``run_id`` keys dropped and the id replaced in
    strings, so a rerun (``…-2``) exports the same bytes."""
    if isinstance(obj, dict):
        return {k: run_relative(v, run_id) for k, v in obj.items() if k != "run_id"}
    if isinstance(obj, list):
        return [run_relative(v, run_id) for v in obj]
    if isinstance(obj, str):
        return obj.replace(run_id, "<run>")
    return obj


def write_replay(result: ReplayResult, out: Path, ledger: Ledger | None) -> dict[str, Any]:
    """Write the charts, ``ledger.json`` and ``report.json`` into ``out``; returns the report."""
    spec = result.spec
    report = build_replay_report(result)
    span = f"{iso(result.steps[0])[:16]} → {iso(result.steps[-1])[:16]} UTC"
    title = f"Replay {', '.join(spec.symbols)} every {spec.every} — {span}"
    files = {"equity.png": charts.replay_equity_chart(equity_curves(result), spec.initial, title)}
    desk = result.lines["desk"]
    start, end = result.steps[0], result.steps[-1]
    for s in spec.symbols:
        frame = bars_frame(result.market.base(s))
        close = frame["close"][(frame.index >= start) & (frame.index <= end)]
        files[f"trades_{s}.png"] = charts.trades_chart(close, desk.trades[s], f"{s} · desk")
    for name, blob in files.items():
        tmp = out / f".{name}.tmp"
        tmp.write_bytes(blob)
        tmp.replace(out / name)
    report["charts"] = sorted(files)
    if ledger is not None:
        write_json(
            out / "ledger.json", run_relative(ledger.export_run(result.run_id), result.run_id)
        )
    # model usage depends on the call cache's state, so it stays out of the reproducible report
    write_json(out / "usage.json", {k: v.usage for k, v in result.lines.items()})
    write_json(out / "report.json", report)
    return report
