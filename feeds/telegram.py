"""Telegram channels as a news source (Telethon, the optional ``telegram`` extra).

Telethon is imported only when this source runs; without it the collector fails with one clear
line saying how to install it. The client needs an API id/hash (my.telegram.org) and a session
file that was authorised once interactively (``auraquant news collect --telegram`` asks for the
login code the first time). Each channel is polled for messages newer than the last one seen.

Tested offline: the import guard, the configuration checks and :func:`message_to_item`
(a channel post -> item). The Telethon session itself cannot be exercised without Telegram.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feeds.models import utc_now
from feeds.sources import Candidate, Clock, Rejected, make_item
from tools.symbols import tag_symbols

TITLE_CHARS = 300


class TelegramUnavailable(RuntimeError):
    """Telethon is missing or the Telegram configuration is incomplete."""


def telethon_available() -> bool:
    """True when the optional Telethon package is installed."""
    return importlib.util.find_spec("telethon") is not None


def require_telethon() -> Any:
    """The telethon module, or one clear error saying how to get it."""
    if not telethon_available():
        raise TelegramUnavailable(
            "the Telegram collector needs Telethon: pip install 'auraquant[telegram]'"
        )
    import telethon

    return telethon


def parse_channels(value: str) -> list[str]:
    """``'@wublockchain, coindesk'`` -> ``['wublockchain', 'coindesk']`` (3-5 expected)."""
    return [c.strip().lstrip("@") for c in value.replace(";", ",").split(",") if c.strip()]


def message_to_item(
    channel: str, msg_id: int, text: str | None, date: datetime | None, now: datetime
) -> Candidate:
    """A channel post as an item: its first line is the title, the rest the summary."""
    where = f"@{channel}/{msg_id}"
    body = (text or "").strip()
    if not body:
        return Rejected("telegram", where, "text='': a post without text (media only)")
    first, _, rest = body.partition("\n")
    title = first.strip()[:TITLE_CHARS]
    published = date.astimezone(UTC) if date and date.tzinfo else now
    return make_item(
        collector="telegram",
        source=f"t.me/{channel}",
        title=title,
        url=f"https://t.me/{channel}/{msg_id}",
        published_at=published,
        seen_at=now,
        collected_at=now,
        symbols=tag_symbols(body),
        summary=" ".join(rest.split())[:1000],
        where=where,
    )


class TelegramSource:
    """New posts of 3-5 public channels, polled every ``interval`` seconds."""

    name = "telegram"

    def __init__(
        self,
        channels: Sequence[str],
        api_id: int | None,
        api_hash: str | None,
        session: Path,
        *,
        interval: float = 30.0,
        first_batch: int = 20,
        clock: Clock = utc_now,
    ) -> None:
        if not channels:
            raise TelegramUnavailable(
                "AURAQUANT_TELEGRAM_CHANNELS is empty: name 3-5 channels, e.g. wublockchain,coindesk"
            )
        if not api_id or not api_hash:
            raise TelegramUnavailable(
                "TELEGRAM_API_ID and TELEGRAM_API_HASH are needed (from my.telegram.org)"
            )
        self.channels, self.api_id, self.api_hash = list(channels), int(api_id), api_hash
        self.session, self.interval, self.first_batch = session, interval, first_batch
        self.clock = clock
        self._last: dict[str, int] = {}

    def items(self, stop: threading.Event) -> Iterator[Candidate]:
        telethon = require_telethon()
        loop = asyncio.new_event_loop()  # this thread's own loop; Telethon binds to the current one
        asyncio.set_event_loop(loop)
        client = telethon.TelegramClient(str(self.session), self.api_id, self.api_hash)
        try:
            loop.run_until_complete(client.start())
            while not stop.is_set():
                for ch in self.channels:
                    yield from loop.run_until_complete(self._fetch(client, ch))
                stop.wait(self.interval)
        finally:
            loop.run_until_complete(client.disconnect())
            loop.close()

    async def _fetch(self, client: Any, channel: str) -> list[Candidate]:
        out: list[Candidate] = []
        last = self._last.get(channel, 0)
        kwargs: dict[str, Any] = {"min_id": last} if last else {"limit": self.first_batch}
        try:
            msgs = [m async for m in client.iter_messages(channel, **kwargs)]
        except Exception as exc:  # one bad channel must not stop the others
            return [Rejected(self.name, f"@{channel}", f"fetch failed: {type(exc).__name__}")]
        for m in sorted(msgs, key=lambda m: m.id):
            self._last[channel] = max(self._last.get(channel, 0), int(m.id))
            out.append(message_to_item(channel, int(m.id), m.message, m.date, self.clock()))
        return out
