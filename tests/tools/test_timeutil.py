"""Times are tz-aware UTC in, ``…Z`` strings out; naive times are refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tools.timeutil import TimeParseError, iso, parse_utc, timeframe_delta


def _reference(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def test_iso_fast_path_equals_the_pandas_formatting() -> None:
    for ns in np.random.default_rng(1).integers(0, 4 * 10**18, 2000):
        t = pd.Timestamp(int(ns), tz="UTC")
        assert iso(t) == _reference(t)
        assert iso(t.tz_convert("Asia/Tokyo")) == _reference(t)
        assert iso(t.floor("s").to_pydatetime()) == _reference(t)
    assert iso(pd.Timestamp("2023-04-20 12:00")) == "2023-04-20T12:00:00Z"  # naive = UTC


def test_parse_utc_needs_a_zone_and_names_the_value() -> None:
    assert parse_utc("2023-04-20T14:00:00+02:00") == pd.Timestamp("2023-04-20T12:00:00Z")
    with pytest.raises(TimeParseError, match="'2023-04-20T12:00:00' has no timezone"):
        parse_utc("2023-04-20T12:00:00")
    with pytest.raises(TimeParseError, match="'yesterday' is not ISO-8601"):
        parse_utc("yesterday")
    with pytest.raises(ValueError, match="timeframe '7m' is not one of 1m, 5m"):
        timeframe_delta("7m")
