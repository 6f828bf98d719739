"""Date-only headlines (stamped exactly 00:00:00 UTC) count as known at the end of their day."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from tools.importer import NEWS_PARTITION_SCHEMA, import_path, known_from, read_news_csv
from tools.news_store import load_news
from tools.store import NEWS_SCHEMA

HEADER = "ts,title,source,url,currencies,summary"
ROWS = [
    "2021-12-01T00:00:00Z,Date only headline,CryptoNews,https://x/1,BTC,",
    "2021-12-01T00:10:00Z,Ten past midnight,CryptoNews,https://x/2,BTC,",
    "2021-12-01T00:00:30Z,Thirty seconds past,CryptoNews,https://x/3,BTC,",
]


def _csv(folder: Path, rows: list[str] = ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mynews.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def _titles(start: str, end: str, store: Path) -> list[str]:
    return load_news(start, end, store=store)["title"].tolist()


def test_known_from_moves_only_exact_midnight() -> None:
    ns = [
        1_638_316_800_000_000_000,  # 2021-12-01T00:00:00Z
        1_638_316_800_000_000_001,  # a nanosecond later: a real time
        1_638_317_400_000_000_000,  # 00:10
    ]
    out = known_from(ns).tolist()
    assert out == [1_638_316_800_000_000_000 + 86_399_000_000_000, ns[1], ns[2]]


def test_midnight_headline_is_not_known_during_its_day(tmp_path: Path) -> None:
    store = tmp_path / "store"
    report = import_path(_csv(tmp_path / "in"), store, progress=False)
    assert report.files[0].date_only_headlines == 1
    # at 10:00 on the day: the 00:10 and 00:00:30 headlines are known, the date-only one is not
    morning = _titles("2021-11-30T00:00:00Z", "2021-12-01T10:00:00Z", store)
    assert morning == ["Thirty seconds past", "Ten past midnight"]
    # by the next midnight it is
    assert "Date only headline" in _titles("2021-11-30T00:00:00Z", "2021-12-02T00:00:00Z", store)
    late = load_news("2021-12-01T23:59:59Z", "2021-12-01T23:59:59Z", store=store)
    assert late["title"].tolist() == ["Date only headline"]


def test_the_stamp_as_given_is_kept(tmp_path: Path) -> None:
    store = tmp_path / "store"
    import_path(_csv(tmp_path / "in"), store, progress=False)
    t = pq.read_table(store / "news" / "mynews" / "2021-12-01.parquet")
    assert t.schema.equals(NEWS_PARTITION_SCHEMA)
    rows = {r["title"]: r for r in t.to_pylist()}
    date_only = rows["Date only headline"]
    assert date_only["ts"].isoformat() == "2021-12-01T23:59:59+00:00"
    assert date_only["ts_stamped"].isoformat() == "2021-12-01T00:00:00+00:00"
    ten = rows["Ten past midnight"]
    assert ten["ts"] == ten["ts_stamped"] and ten["ts"].isoformat() == "2021-12-01T00:10:00+00:00"


def test_reimport_is_idempotent(tmp_path: Path) -> None:
    store = tmp_path / "store"
    src = _csv(tmp_path / "in")
    first = import_path(src, store, progress=False)
    part = store / "news" / "mynews" / "2021-12-01.parquet"
    before = part.read_bytes()
    again = import_path(src, store, progress=False)
    assert (first.partitions_written, again.partitions_written) == (1, 0)
    assert again.partitions_unchanged == 1 and part.read_bytes() == before


def test_partition_from_before_the_rule_is_upgraded_not_duplicated(tmp_path: Path) -> None:
    """A store imported before the rule holds the headline at 00:00 and no ts_stamped column;
    re-importing replaces that row instead of keeping it twice (once early)."""
    store = tmp_path / "store"
    src = _csv(tmp_path / "in")
    batch = read_news_csv(src)
    old = batch.table.set_column(0, "ts", batch.table.column("ts_stamped")).select(
        NEWS_SCHEMA.names
    )
    part = store / "news" / "mynews" / "2021-12-01.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(old.sort_by("ts").cast(NEWS_SCHEMA), part)
    assert "Date only headline" in _titles("2021-12-01T00:00:00Z", "2021-12-01T10:00:00Z", store)
    report = import_path(src, store, progress=False)
    assert report.partitions_written == 1
    df = load_news("2021-12-01T00:00:00Z", "2021-12-02T00:00:00Z", store=store)
    assert sorted(df["title"]) == sorted(
        ["Date only headline", "Ten past midnight", "Thirty seconds past"]
    )
    assert "Date only headline" not in _titles(
        "2021-12-01T00:00:00Z", "2021-12-01T10:00:00Z", store
    )
    assert pq.read_table(part).schema.equals(NEWS_PARTITION_SCHEMA)


def test_real_kaggle_midnight_rows_are_end_of_day(real_store: Path) -> None:
    df = load_news("2021-10-01T00:00:00Z", "2022-01-01T00:00:00Z", store=real_store)
    kaggle = df[df["dataset"] == "kaggle_cryptonews"]
    assert len(kaggle) == 344
    assert not (kaggle["ts"] == kaggle["ts"].dt.floor("D")).any()  # no headline at 00:00 left
    assert (kaggle["ts"].dt.strftime("%H:%M:%S") == "23:59:59").sum() >= 1
