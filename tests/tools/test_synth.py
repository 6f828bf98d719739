"""The seeded synthetic market: labelled, deterministic to the byte, with three regimes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.candles import load_candles
from tools.synth import write_synth


def files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("synth") / "store"
    write_synth(11, store=store, days_per_regime=2, progress=False)
    return store


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, synth_store: Path) -> None:
    again = tmp_path / "again"
    write_synth(11, store=again, days_per_regime=2, progress=False)
    assert files(again) == files(synth_store)
    other = tmp_path / "other"
    write_synth(12, store=other, days_per_regime=2, progress=False)
    assert files(other).keys() == files(synth_store).keys()
    assert files(other) != files(synth_store)


def test_names_cannot_be_mistaken_for_real_data(synth_store: Path) -> None:
    names = sorted(p.name for p in (synth_store / "candles").iterdir())
    assert names == [
        "SYNTH-BTCUSDT_1m",
        "SYNTH-DOGEUSDT_1m",
        "SYNTH-ETHUSDT_1m",
        "SYNTH-SOLUSDT_1m",
    ]


def test_up_chop_down_regimes(synth_store: Path) -> None:
    report = write_synth(11, store=synth_store, days_per_regime=2, progress=False)
    assert report.partitions_written == 0  # idempotent
    assert [r.kind for r in report.regimes] == ["up", "chop", "down"]
    moves = []
    for r in report.regimes:
        bars = load_candles("SYNTH-BTCUSDT", "1m", r.start, r.end, store=synth_store)
        assert len(bars) == 2 * 1440
        moves.append(bars["close"].iloc[-1] / bars["open"].iloc[0] - 1)
    up, chop, down = moves
    assert up > 0.04 and down < -0.04 and abs(chop) < 0.03
    hourly = load_candles("SYNTH-ETHUSDT", "1h", report.start, report.end, store=synth_store)
    assert len(hourly) == 6 * 24
