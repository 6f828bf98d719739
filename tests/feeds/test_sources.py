"""Collectors on recorded responses (RSS/Atom, CryptoPanic), the file replayer's pacing, and
the Telegram source as far as it can be tested offline."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import vcr

from feeds.models import RawItem
from feeds.sources import (
    CryptoPanicSource,
    FileReplayer,
    PollingSource,
    Rejected,
    RssSource,
)
from tests.feeds.conftest import many_rows, write_news

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "news"
NOW = datetime(2023, 4, 20, 12, 15, tzinfo=UTC)
my_vcr = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="none",
    filter_query_parameters=["auth_token"],
)


def _split(cands: list) -> tuple[list[RawItem], list[Rejected]]:
    return [c for c in cands if isinstance(c, RawItem)], [
        c for c in cands if isinstance(c, Rejected)
    ]


def test_rss_and_atom_feeds_become_items_and_a_bad_entry_or_feed_is_skipped_with_a_reason() -> None:
    src = RssSource(
        [
            "https://feeds.example-news.com/rss.xml",
            "https://atom.example-news.org/feed",
            "https://broken.example-news.net/rss",
        ],
        clock=lambda: NOW,
    )
    # the 503 answer is replayed for each of the three tries
    with my_vcr.use_cassette("rss_feeds.yaml", allow_playback_repeats=True):
        items, rejected = _split(src.poll())
    assert [i.title for i in items] == [
        "SEC sues major exchange over unregistered securities",
        "Ethereum rallies 8% after the Shapella upgrade",
        "Dogecoin community weighs a new logo",
        "Solana validators patch an outage bug",
    ]
    sec, eth, doge, sol = items
    assert sec.source == "Example Crypto News" and sec.collector == "rss"
    assert sec.published_at == datetime(2023, 4, 20, 12, 1, tzinfo=UTC)
    assert sec.seen_at == sec.collected_at == NOW
    assert sec.summary == "The regulator filed its complaint on Thursday. More to follow."
    assert eth.symbols == ["ETHUSDT"] and doge.symbols == ["DOGEUSDT"]
    assert doge.published_at == NOW  # no pubDate: first-seen time
    assert (
        sol.source == "Example Atom Wire" and sol.url == "https://atom.example-news.org/sol-outage"
    )
    assert sol.published_at == datetime(2023, 4, 20, 12, 5, tzinfo=UTC)
    reasons = {r.where: r.reason for r in rejected}
    assert "title" in reasons["feeds.example-news.com entry 3"]
    assert reasons["broken.example-news.net"] == "fetch failed: HTTPStatusError"


def test_cryptopanic_posts_become_items_and_the_token_stays_out_of_everything() -> None:
    token = "cp-secret-token-123456"
    src = CryptoPanicSource(token, clock=lambda: NOW)
    with my_vcr.use_cassette("cryptopanic_posts.yaml") as cass:
        items, rejected = _split(src.poll())
        assert cass.play_count == 1
    assert [i.title for i in items] == [
        "Bitcoin slides below $28K as liquidations top $200M",
        "XRP and ADA lead altcoin losses",
    ]
    btc, alts = items
    assert btc.source == "coindesk.com" and btc.symbols == ["BTCUSDT"]
    assert btc.published_at == datetime(2023, 4, 20, 12, 0, 5, tzinfo=UTC)
    assert alts.symbols == ["XRPUSDT", "ADAUSDT"]
    assert [r.where for r in rejected] == ["posts result 3", "posts result 4"]
    assert "published_at='yesterday-ish'" in rejected[0].reason
    assert token not in repr(items) + repr(rejected)
    assert (
        "auth_token"
        not in (CASSETTES / "cryptopanic_posts.yaml").read_text().split("interactions:")[1]
    )


def test_cryptopanic_refusal_is_one_reason_without_the_token() -> None:
    src = CryptoPanicSource("cp-secret-token-123456", currencies=["ETH"], clock=lambda: NOW)
    with my_vcr.use_cassette("cryptopanic_posts.yaml"):
        out = src.poll()
    assert out == [Rejected("cryptopanic", "posts", "HTTP 401")]


def test_polling_source_repeats_rounds_until_done() -> None:
    class Counting:
        name = "count"
        calls = 0

        def poll(self) -> list:
            Counting.calls += 1
            return [Rejected("count", str(Counting.calls), "x")]

    out = list(PollingSource(Counting(), interval=0.0, rounds=3).items(threading.Event()))
    assert [r.where for r in out] == ["1", "2", "3"]

    class Exploding:
        name = "boom"

        def poll(self) -> list:
            raise KeyError("surprise")

    [bad] = list(PollingSource(Exploding(), interval=0.0, rounds=1).items(threading.Event()))
    assert bad == Rejected("boom", "poll", "KeyError: 'surprise'")


def test_replayer_plays_in_time_order_at_the_asked_pace(tmp_path: Path) -> None:
    rows = many_rows(5)  # a minute apart
    path = write_news(tmp_path / "n.csv", list(reversed(rows)))
    waits: list[float] = []

    def sleep(stop: threading.Event, s: float) -> None:
        waits.append(s)
        time.sleep(s)

    src = FileReplayer([path], speed=600.0, sleep=sleep)
    items = [c for c in src.items(threading.Event()) if isinstance(c, RawItem)]
    assert [i.title for i in items] == [r[1] for r in rows]  # sorted by time
    # a minute of headlines at 600x is 0.1 s of wall clock between items
    assert len(waits) == 4 and all(0.05 < w <= 0.1 + 1e-9 for w in waits)
    fixed = FileReplayer([path], rate=50.0, sleep=sleep, limit=3)
    waits.clear()
    assert len([c for c in fixed.items(threading.Event()) if isinstance(c, RawItem)]) == 3
    assert all(w <= 0.04 + 1e-9 for w in waits)


def test_replayer_date_only_stamps_count_from_the_end_of_their_day(tmp_path: Path) -> None:
    path = write_news(tmp_path / "n.csv", [("2021-11-02T00:00:00Z", "Bitcoin news", "s", "u")])
    [item] = list(FileReplayer([path]).items(threading.Event()))
    assert isinstance(item, RawItem)
    assert item.published_at == datetime(2021, 11, 2, tzinfo=UTC)
    assert item.seen_at == datetime(2021, 11, 2, 23, 59, 59, tzinfo=UTC)


def test_replayer_refuses_bad_settings_and_paths(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="speed=0"):
        FileReplayer([], speed=0)
    with pytest.raises(FileNotFoundError, match="no such file"):
        FileReplayer.discover(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"no \.csv"):
        FileReplayer.discover(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("when,headline\n1,2\n")
    with pytest.raises(ValueError, match="lack ts and title"):
        FileReplayer([bad]).rows()


def test_telegram_posts_become_items_and_missing_telethon_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from feeds import telegram as tg

    item = tg.message_to_item(
        "wublockchain",
        4242,
        "Binance halts BTC withdrawals\nDetails in thread.",
        datetime(2023, 4, 20, 12, 0, tzinfo=UTC),
        NOW,
    )
    assert isinstance(item, RawItem)
    assert item.title == "Binance halts BTC withdrawals" and item.summary == "Details in thread."
    assert item.url == "https://t.me/wublockchain/4242" and item.source == "t.me/wublockchain"
    assert item.symbols == ["BTCUSDT"] and item.seen_at == NOW
    media = tg.message_to_item("wublockchain", 1, None, None, NOW)
    assert isinstance(media, Rejected) and "without text" in media.reason
    assert tg.parse_channels("@wublockchain, coindesk;cointelegraph") == [
        "wublockchain",
        "coindesk",
        "cointelegraph",
    ]
    with pytest.raises(tg.TelegramUnavailable, match="AURAQUANT_TELEGRAM_CHANNELS"):
        tg.TelegramSource([], 1, "h", tmp_path / "s")
    with pytest.raises(tg.TelegramUnavailable, match="TELEGRAM_API_ID"):
        tg.TelegramSource(["a"], None, None, tmp_path / "s")
    monkeypatch.setattr(tg, "telethon_available", lambda: False)
    src = tg.TelegramSource(["a", "b", "c"], 1, "hash", tmp_path / "s")
    with pytest.raises(tg.TelegramUnavailable, match=r"pip install 'auraquant\[telegram\]'"):
        next(src.items(threading.Event()))
