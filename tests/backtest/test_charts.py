"""Chart time axes name the right month: every tick says its month, the axis ends where the
data ends (no ``2023-May`` under an April chart), and the year is in the axis label."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from backtest import charts


def _labels(index: pd.DatetimeIndex) -> tuple[list[str], str]:
    fig = Figure(figsize=(11, 5))
    ax = fig.subplots()
    ax.plot(index, range(len(index)))
    charts._dates(ax, index)
    fig.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()], ax.get_xlabel()


@pytest.mark.parametrize(
    ("start", "end", "freq", "month"),
    [
        ("2023-04-01", "2023-04-29 23:59", "15min", "Apr"),  # a month: ticks by day
        ("2023-04-17", "2023-04-20", "1h", "Apr"),  # three days: ticks by 12 h
    ],
)
def test_ticks_name_the_month_of_the_data(start: str, end: str, freq: str, month: str) -> None:
    idx = pd.date_range(start, end, freq=freq, tz="UTC")
    labels, xlabel = _labels(idx)
    assert len(labels) >= 4
    assert all(label.startswith(month) for label in labels), labels
    assert xlabel == "Time (UTC), 2023"


def test_a_span_over_years_says_the_years() -> None:
    idx = pd.date_range("2020-09-01", "2021-12-31", freq="1D", tz="UTC")
    labels, xlabel = _labels(idx)
    assert xlabel == "Time (UTC), 2020–2021"
    assert any("2021" in label for label in labels) and not any("2022" in x for x in labels)


def test_the_benchmark_is_not_labelled_as_the_strategy() -> None:
    from backtest.line_names import HOLD_BENCHMARK, HOLD_STRATEGY, line_label

    assert line_label(HOLD_BENCHMARK) != line_label(HOLD_STRATEGY)
    assert "benchmark" in line_label(HOLD_BENCHMARK).lower()
    assert "strategy" in line_label(HOLD_STRATEGY).lower()
    assert charts._LINE_STYLE[HOLD_STRATEGY][3] == line_label(HOLD_STRATEGY)
