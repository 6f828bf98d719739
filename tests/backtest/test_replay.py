"""Replay: the desk's cycle over real history beside the baselines (``backtest.replay``)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.replay import LINES, ReplaySpec, bars_frame, run_replay, step_times
from backtest.replay_files import write_replay
from decisions.ledger import Ledger
from decisions.review import ReviewLearner
from memos.market import MarketData
from tools.timeutil import parse_utc

pytestmark = pytest.mark.data
SYMS = ("BTCUSDT", "ETHUSDT")
M_KEYS = {"return_pct", "sharpe", "sortino", "max_drawdown_pct", "trades", "win_rate_pct",
          "fees", "exposure_pct"}  # fmt: skip


def _spec(**kw: object) -> ReplaySpec:
    base = {"symbols": SYMS, "start": "2023-04-10T00:00:00Z", "end": "2023-04-12T00:00:00Z",
            "every": "4h"}  # fmt: skip
    return ReplaySpec(**{**base, **kw})  # type: ignore[arg-type]


def _replay(store: Path, out: Path, run_id: str, spec: ReplaySpec, **kw: object):  # type: ignore[no-untyped-def]
    out.mkdir(parents=True)
    ledger = Ledger(f"sqlite:///{out / 'ledger.sqlite'}")
    try:
        result = run_replay(
            spec, store=store, run_id=run_id, ledger=ledger, ailog_dir=out,
            learner_factory=lambda: ReviewLearner(
                ledger=ledger, market=kw.get("market") or result_market(store, spec),
                horizon=spec.horizon,
            ),
            **kw,  # type: ignore[arg-type]
        )  # fmt: skip
        report = write_replay(result, out, ledger)
    finally:
        ledger.close()
    return result, report


_MARKETS: dict[tuple[str, str], MarketData] = {}


def result_market(store: Path, spec: ReplaySpec) -> MarketData:
    from backtest.replay import load_market

    key = (str(store), spec.start)
    if key not in _MARKETS:
        _MARKETS[key] = load_market(spec, store)
    return _MARKETS[key]


@pytest.fixture(scope="module")
def first(real_store: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("replay") / "replay-a"
    return out, *_replay(real_store, out, "replay-a", _spec())


def test_the_report_has_the_desk_beside_every_baseline(first) -> None:  # type: ignore[no-untyped-def]
    out, result, report = first
    steps = step_times(parse_utc("2023-04-10T00:00Z"), parse_utc("2023-04-12T00:00Z"), "4h")
    assert len(steps) == 13 and report["meetings"] == 13 * len(SYMS) * 2  # desk and ablation
    assert set(report["results"]) == set(LINES)
    for m in report["results"].values():
        assert set(m) >= M_KEYS
    assert set(report["per_symbol"]) == set(SYMS)
    for per in report["per_symbol"].values():
        assert set(per) == set(LINES)
    for name in ("report.json", "ledger.json", "ailog.ndjson", "ailog.desk_no_debate.ndjson",
                 "equity.png", "trades_BTCUSDT.png", "trades_ETHUSDT.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    # the portfolio equity of the desk is the sum of its sleeves' (one shared account)
    desk = result.lines["desk"]
    total = sum(desk.symbol_equity[s] for s in SYMS)
    assert np.allclose(total.to_numpy(), desk.equity.to_numpy(), atol=1e-6)
    # fees are the sum of the fills' fees on both sides of the books
    assert report["results"]["desk"]["fees"] == pytest.approx(
        sum(report["per_symbol"][s]["desk"]["fees"] for s in SYMS), abs=1e-5
    )


def test_orders_fill_no_earlier_than_the_bar_after_the_decision(first) -> None:  # type: ignore[no-untyped-def]
    out, _, _ = first
    ledger = json.loads((out / "ledger.json").read_text())
    decided = {d["id"]: d["at"] for d in ledger["decisions"]}
    entries = [f for f in ledger["fills"] if f["decision_id"]]
    assert entries, "the desk traded"
    for f in entries:
        assert f["ts"] >= decided[f["decision_id"]], f


def test_a_closed_trade_books_its_exit_fills_against_its_decision(first) -> None:  # type: ignore[no-untyped-def]
    """The stop-loss and take-profit legs are created by the exchange when the entry fills:
    their fills still belong to the entry's decision, so its trade PnL is the whole trade."""
    out, _, _ = first
    ledger = json.loads((out / "ledger.json").read_text())
    closed = [d for d in ledger["decisions"] if d["record"].get("trade")]
    assert closed, "some trade closed in the window"
    for d in closed:
        fills = [f for f in ledger["fills"] if f["decision_id"] == d["id"]]
        assert any(f["realized_pnl"] != 0 for f in fills), d["id"]  # the exit is linked
        net = sum(f["realized_pnl"] - f["fee"] for f in fills)
        assert d["record"]["trade"]["net_pnl"] == pytest.approx(net, abs=1e-9)


def test_the_cycle_records_every_stage_in_the_ai_log(first) -> None:  # type: ignore[no-untyped-def]
    out, _, _ = first
    recs = [json.loads(x) for x in (out / "ailog.ndjson").read_text().splitlines()]
    stages = {r["stage"] for r in recs}
    assert {"SCAN", "QUALIFY", "ENTER", "MANAGE"} <= stages
    assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1))
    assert {r["run_id"] for r in recs} == {"replay-a"}


def test_a_rerun_is_byte_identical(first, real_store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _, _ = first
    out2 = tmp_path / "replay-a-2"
    _replay(real_store, out2, "replay-a-2", _spec())
    for name in ("report.json", "ledger.json"):
        assert (out / name).read_bytes() == (out2 / name).read_bytes(), name

    def strip(p: Path) -> list[str]:
        """Records without wall clock (timestamps, a model call's latency) and run id; sorted,
        since seats of one step speak in parallel and their records land in either order."""
        out = []
        for x in p.read_text().splitlines():
            r = {k: v for k, v in json.loads(x).items() if k not in ("timestamp", "run_id", "seq")}
            if r.get("kind") == "llm_call":
                r["output"] = {
                    k: v for k, v in r["output"].items() if k not in ("latency_s", "started")
                }
                r["explanation"] = re.sub(r"\d+\.\d+ s,", "<t> s,", r["explanation"])
            out.append(json.dumps(r, sort_keys=True))
        return sorted(out)

    assert strip(out / "ailog.ndjson") == strip(out2 / "ailog.ndjson")


def _scaled_after(md: MarketData, store: Path, when: pd.Timestamp, tf: str) -> MarketData:
    """``md`` with every bar not closed by ``when`` scaled by 3 (news as stored)."""
    from tools.news_store import load_news

    frames = {}
    for sym in md.symbols:
        f = bars_frame(md.base(sym)).copy()
        later = f.index + pd.Timedelta(md.base(sym).bar_ns, unit="ns") > when
        f.loc[later, ["open", "high", "low", "close"]] *= 3.0
        frames[sym] = f
    news = load_news("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", store=store)
    return MarketData(candles=frames, news=news).warm(list(SYMS), tf)


def test_the_future_after_the_window_changes_nothing(real_store: Path, tmp_path: Path) -> None:
    """Bars after `end` are multiplied by 3: a replay that peeked (a fill, a weight, a
    baseline, an outcome) would change. The report is identical."""
    spec = _spec(end="2023-04-11T00:00:00Z")
    md = result_market(real_store, spec)
    _, a = _replay(real_store, tmp_path / "a", "a", spec, market=md)
    future = _scaled_after(md, real_store, parse_utc(spec.end), spec.timeframe)
    assert future.base("BTCUSDT").close[-1] != md.base("BTCUSDT").close[-1]
    _, bb = _replay(real_store, tmp_path / "b", "b", spec, market=future)
    # control: the same change from six hours before the end does change the report
    inside = _scaled_after(md, real_store, parse_utc("2023-04-10T18:00:00Z"), spec.timeframe)
    _, cc = _replay(real_store, tmp_path / "c", "c", spec, market=inside)
    assert cc["results"]["desk"] != a["results"]["desk"]
    assert json.dumps(a, sort_keys=True) == json.dumps(bb, sort_keys=True)


def test_replay_runs_on_the_2017_2021_hourly_history(real_store: Path, tmp_path: Path) -> None:
    spec = _spec(symbols=("BTCUSDT", "ETHUSDT"), start="2021-03-01T00:00:00Z",
                 end="2021-03-04T00:00:00Z", every="4h")  # fmt: skip
    result, report = _replay(real_store, tmp_path / "h", "h", spec)
    assert result.market.base("BTCUSDT").timeframe == "1h"
    assert report["meetings"] == 19 * 2 * 2
    fills = json.loads((tmp_path / "h" / "ledger.json").read_text())["fills"]
    assert fills, "the desk traded on 1h bars"
    # a coarse bar is shown to the exchange as its last minute: fills at minute 59
    assert all(f["ts"][14:16] == "59" for f in fills), {f["ts"] for f in fills}
    assert report["results"]["buy_and_hold"]["trades"] >= 1


@pytest.mark.slow
def test_parallel_meetings_give_the_same_report(first, real_store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _, _ = first
    out2 = tmp_path / "replay-a-3"
    _replay(real_store, out2, "replay-a-3", _spec(), workers=2)
    assert (out / "report.json").read_bytes() == (out2 / "report.json").read_bytes()
    assert (out / "ledger.json").read_bytes() == (out2 / "ledger.json").read_bytes()
    shutil.rmtree(out2)


def test_a_second_replay_with_a_real_model_makes_zero_calls(
    real_store: Path, aq_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a loopback OpenAI-compatible server that counts calls: the LLM call cache
    (SQLite under the home) answers every call of the second replay, which writes the same
    report and ledger bytes."""
    from tests.agents.loopback_llm import serve

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("AURAQUANT_LLM_CACHE", raising=False)
    counts = []
    with serve("openai") as srv:
        spec = _spec(symbols=("SOLUSDT",), start="2023-04-19T08:00:00Z",
                     end="2023-04-19T12:00:00Z", every="4h", model="openai:gpt-4o-mini",
                     base_url=srv.url)  # fmt: skip
        for name in ("llm-a", "llm-b"):
            before = srv.calls
            _replay(real_store, tmp_path / name, name, spec)
            counts.append(srv.calls - before)
    assert counts[0] > 0 and counts[1] == 0, counts
    for f in ("report.json", "ledger.json"):
        assert (tmp_path / "llm-a" / f).read_bytes() == (tmp_path / "llm-b" / f).read_bytes()
    assert (aq_home / "llm_cache.sqlite").exists()
    first = json.loads((tmp_path / "llm-a" / "usage.json").read_text())
    second = json.loads((tmp_path / "llm-b" / "usage.json").read_text())
    # the server saw every call not answered from the cache (the ablation repeats some of the
    # desk's prompts, e.g. the analysts' opening turns, and finds them cached)
    assert sum(u["calls"] - u["cached_calls"] for u in first.values()) == counts[0]
    assert second["desk"]["cached_calls"] == second["desk"]["calls"] == first["desk"]["calls"]
