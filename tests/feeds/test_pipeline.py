"""The whole pipeline (collector -> raw -> labeler -> labeled + store -> alerts -> notifiers) on
the real Redis and on in-memory queues: counts reconcile, duplicates and malformed rows are
dropped with a reason, each story is alerted once, and the memos read what was labelled."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from feeds.bus import Bus, MemoryBus
from feeds.models import Alert
from feeds.pipeline import Pipeline, PipelineConfig
from feeds.sources import FileReplayer
from tests.feeds.conftest import many_rows, write_news
from tools.news_labels import load_labelled_news, stored_ids


class Recorder:
    """A notifier that keeps what it was sent."""

    name = "recorder"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


def run_until_drained(pipe: Pipeline, timeout: float = 30.0) -> None:
    pipe.start()
    deadline = time.monotonic() + timeout
    try:
        while not pipe.drained():
            assert time.monotonic() < deadline, f"not drained in {timeout}s: {pipe.stats()}"
            assert not pipe.errors, pipe.errors
            time.sleep(0.05)
    finally:
        pipe.shutdown()


@pytest.fixture(params=["redis", "memory"])
def backend(request: pytest.FixtureRequest) -> tuple[Bus, str]:
    if request.param == "memory":
        return MemoryBus(), "mem"
    request.applymarker(pytest.mark.redis)
    return request.getfixturevalue("redis_bus"), request.getfixturevalue("redis_prefix")


def _messy_file(tmp_path: Path) -> Path:
    rows = many_rows(40)
    rows.append(("2023-04-20T01:00:00Z", "Another wording", "other.com", rows[3][3]))  # same URL
    rows.append(("2023-04-20T01:01:00Z", rows[7][1].upper() + "!!", "other.com", "https://o/x"))
    rows.append(("not a time", "Bitcoin bad row", "x.com", "https://x.com/1"))
    rows.append(("2023-04-20T01:02:00", "Naive stamp row", "x.com", "https://x.com/2"))
    rows.append(("2023-04-20T01:03:00Z", "   ", "x.com", "https://x.com/3"))
    return write_news(tmp_path / "messy.csv", rows)


def test_every_item_is_collected_labelled_stored_and_alerted_once(
    backend: tuple[Bus, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bus, prefix = backend
    store = tmp_path / "store"
    rec = Recorder()
    cfg = PipelineConfig(prefix=prefix, store=store, fsync=False, claim_idle_ms=2000)
    src = FileReplayer([_messy_file(tmp_path)])
    pipe = Pipeline(bus, cfg, [src], notifiers=[rec])
    with caplog.at_level(logging.INFO, logger="feeds"):
        run_until_drained(pipe)
    st = pipe.stats()
    assert st["collected"] == 40
    assert st["duplicates"] == 2
    assert st["malformed"] == 3
    assert st["labelled"] == 40
    assert len(bus.entries(pipe.topo.labelled)) == 40
    ids = stored_ids(cfg.dataset, store)
    assert len(ids) == len(set(ids)) == 40
    # the 8 hack headlines (every 5th) are over the threshold; nothing else is
    assert st["alerts"] == 8 == len(rec.alerts) == len(bus.entries(pipe.topo.alerts))
    assert all("hacked" in a.title for a in rec.alerts)
    assert {a.stars for a in rec.alerts} <= {1, 2, 3}
    assert all(a.symbol == "BTCUSDT" for a in rec.alerts)
    assert all(0 <= a.latency_seconds < 10 for a in rec.alerts)
    text = caplog.text
    assert "messy.csv row 43" in text and "ts='not a time'" in text
    assert "messy.csv row 44" in text and "no timezone" in text
    assert "messy.csv row 45" in text and "title=''" in text
    assert "duplicate url" in text and "duplicate title" in text


def test_labelled_fields_are_in_range_and_decay_when_read(tmp_path: Path) -> None:
    store = tmp_path / "store"
    cfg = PipelineConfig(prefix="mem", store=store, fsync=False)
    pipe = Pipeline(
        MemoryBus(), cfg, [FileReplayer([write_news(tmp_path / "a.csv", many_rows(20))])]
    )
    run_until_drained(pipe)
    at = pd.Timestamp("2023-04-20T00:20:00Z")
    df = load_labelled_news(cfg.dataset, at, store=store)
    assert len(df) == 20
    for col in ("category", "importance", "sentiment", "symbols", "source", "summary", "id"):
        assert col in df.columns
    assert df["importance"].between(0, 1).all() and df["sentiment"].between(-1, 1).all()
    hack = df[df["title"].str.contains("hacked")]
    assert (hack["category"] == "security").all() and (hack["sentiment"] < 0).all()
    assert all(s == ["BTCUSDT"] for s in hack["symbols"])
    assert (df["summary"].str.len() > 0).all()
    # read 6 hours (one half-life) later: the same items, half the importance
    later = load_labelled_news(cfg.dataset, at + pd.Timedelta(hours=6), store=store)
    merged = df.merge(later, on="id", suffixes=("", "_later"))
    ratio = merged["importance_now_later"] / merged["importance_now"]
    assert ratio.round(6).eq(0.5).all()
    assert load_labelled_news(cfg.dataset, "2023-04-19T23:59:00Z", store=store).empty


def test_the_same_story_is_alerted_once(tmp_path: Path) -> None:
    title = "Exchange hacked: $200 million stolen from Bitcoin hot wallet"
    rows = [
        ("2023-04-20T00:00:30Z", title, "a.com", "https://a.com/1"),
        ("2023-04-20T00:30:00Z", title + " ", "b.com", "https://b.com/2"),
    ]
    rec = Recorder()
    # no collector dedup window, so both reach the alert service as separate items
    cfg = PipelineConfig(prefix="mem", store=tmp_path / "s", fsync=False, dedup_window=timedelta(0))
    pipe = Pipeline(
        MemoryBus(), cfg, [FileReplayer([write_news(tmp_path / "a.csv", rows)])], notifiers=[rec]
    )
    run_until_drained(pipe)
    st = pipe.stats()
    assert st["labelled"] == 2 and st["alerts"] == 1 and st["story_repeats"] == 1
    assert len(rec.alerts) == 1


def test_threshold_is_configurable(tmp_path: Path) -> None:
    path = write_news(tmp_path / "a.csv", many_rows(20))
    counts = {}
    for thr in (0.99, 0.0):
        cfg = PipelineConfig(prefix="mem", store=tmp_path / f"s{thr}", fsync=False, threshold=thr)
        pipe = Pipeline(MemoryBus(), cfg, [FileReplayer([path])])
        run_until_drained(pipe)
        counts[thr] = pipe.stats().get("alerts", 0)
    assert counts[0.0] == 20 and counts[0.99] < 4


def test_memos_read_the_labelled_news_and_not_before_it_was_seen(tmp_path: Path) -> None:
    from memos.builder import build_memo
    from memos.market import MarketData
    from tools.synth import write_synth

    store = tmp_path / "store"
    write_synth(7, store=store, days_per_regime=1, progress=False)
    rows = [
        (
            "2024-01-02T10:00:00Z",
            "Major crypto exchange hacked, withdrawals paused",
            "a.com",
            "https://a.com/h",
        ),
        ("2024-01-02T13:00:00Z", "Crypto lender files for bankruptcy", "b.com", "https://b.com/b"),
    ]
    pipe = Pipeline(
        MemoryBus(),
        PipelineConfig(prefix="mem", store=store, fsync=False),
        [FileReplayer([write_news(tmp_path / "n.csv", rows)])],
    )
    run_until_drained(pipe)
    at = pd.Timestamp("2024-01-02T12:00:00Z")
    market = MarketData.from_store(["SYNTH-BTCUSDT"], store=store, at=at)
    memo = build_memo("SYNTH-BTCUSDT", at, market=market, timeframe="1h")
    texts = " ".join(f.text for f in memo.facts if f.kind == "news")
    assert "withdrawals paused" in texts  # labelled at 10:00, seen by the memo at 12:00
    assert "bankruptcy" not in texts  # seen at 13:00: after the memo's moment
    bias = next(f for f in memo.facts if f.id.startswith("news") and "sentiment" in f.text.lower())
    assert bias.value < 0
