"""Notifiers against loopback servers (Telegram Bot API and Discord webhook shapes), the
console, and which items become alerts with how many stars."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rich.console import Console

from feeds.alerts import decide_alert, format_alert, item_age_hours, stars_for
from feeds.bus import MemoryBus, Topology
from feeds.labeler import OfflineLabeler
from feeds.models import Alert, RawItem, item_id, to_fields
from feeds.notifiers import ConsoleNotifier, DiscordNotifier, NotifierError, TelegramNotifier
from feeds.services import NotifyService

T0 = datetime(2023, 4, 20, 12, 0, tzinfo=UTC)
TOKEN = "123456:AAE-secret-bot-token"
WEBHOOK_SECRET = "wh-secret-abcdef"


class Loopback:
    """A tiny HTTP server on 127.0.0.1:<free port> answering from a queue of (status, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.answers: list[tuple[int, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((self.path, json.loads(body)))
                status, text = outer.answers.pop(0) if outer.answers else (200, "{}")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                if text:
                    self.wfile.write(text.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def loopback() -> Iterator[Loopback]:
    lb = Loopback()
    yield lb
    lb.close()


def _alert(importance: float = 0.95) -> Alert:
    raw = RawItem(
        id=item_id("a.com", "https://a.com/1", "x"),
        title="Exchange hacked, BTC stolen",
        url="https://a.com/1",
        source="a.com",
        collector="replay",
        published_at=T0,
        seen_at=T0,
        collected_at=T0,
    )
    item = OfflineLabeler(lambda: T0).label(raw).model_copy(update={"importance": importance})
    alert = decide_alert(item, T0 + timedelta(milliseconds=250), threshold=0.7)
    assert alert is not None
    return alert


def test_telegram_bot_sends_the_alert_to_the_chat(loopback: Loopback) -> None:
    loopback.answers = [(200, '{"ok": true, "result": {"message_id": 1}}')]
    TelegramNotifier(TOKEN, "-100200300", base_url=loopback.url).send(_alert())
    [(path, payload)] = loopback.requests
    assert path == f"/bot{TOKEN}/sendMessage"
    assert payload["chat_id"] == "-100200300"
    assert "★★★ BTCUSDT" in payload["text"] and "Exchange hacked" in payload["text"]


def test_telegram_errors_are_retried_then_reported_without_the_token(loopback: Loopback) -> None:
    n = TelegramNotifier(TOKEN, "1", base_url=loopback.url)
    loopback.answers = [(502, ""), (200, '{"ok": true}')]
    n.send(_alert())  # one 502, then delivered
    assert len(loopback.requests) == 2
    loopback.answers = [(400, '{"ok": false, "description": "chat not found"}')]
    with pytest.raises(NotifierError) as e:
        n.send(_alert())
    assert str(e.value) == "telegram: HTTP 400" and TOKEN not in str(e.value)
    loopback.answers = [(200, '{"ok": false}')]
    with pytest.raises(NotifierError, match="did not answer ok"):
        n.send(_alert())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(NotifierError) as e2:
        TelegramNotifier(TOKEN, "1", base_url=dead).send(_alert())
    assert TOKEN not in str(e2.value) and "ConnectError" in str(e2.value)


def test_discord_webhook_posts_the_content(loopback: Loopback) -> None:
    url = f"{loopback.url}/api/webhooks/42/{WEBHOOK_SECRET}"
    loopback.answers = [(204, "")]
    DiscordNotifier(url).send(_alert())
    [(path, payload)] = loopback.requests
    assert path == f"/api/webhooks/42/{WEBHOOK_SECRET}"
    assert payload["content"].startswith("★★★ BTCUSDT")
    loopback.answers = [(429, '{"retry_after": 0.01}'), (204, "")]
    DiscordNotifier(url).send(_alert())  # rate limited once, then delivered
    assert len(loopback.requests) == 3
    loopback.answers = [(404, '{"message": "Unknown Webhook"}')]
    with pytest.raises(NotifierError) as e:
        DiscordNotifier(url).send(_alert())
    assert WEBHOOK_SECRET not in str(e.value)


def test_console_prints_headlines_as_plain_text() -> None:
    con = Console(record=True, width=200)
    a = _alert().model_copy(update={"summary": "[bold red]not markup[/] text"})
    ConsoleNotifier(con).send(a)
    out = con.export_text()
    assert "[bold red]not markup[/] text" in out and "★★★ BTCUSDT" in out and "latency 0.25s" in out


def test_a_failing_notifier_does_not_stop_the_others() -> None:
    class Broken:
        name = "broken"

        def send(self, alert: Alert) -> None:
            raise NotifierError("broken: HTTP 500")

    class Ok:
        name = "ok"

        def __init__(self) -> None:
            self.got: list[Alert] = []

        def send(self, alert: Alert) -> None:
            self.got.append(alert)

    bus, topo = MemoryBus(), Topology("m")
    bus.ensure_groups(topo)
    bus.add(topo.alerts, to_fields(_alert()))
    ok = Ok()
    svc = NotifyService(bus, topo, [Broken(), ok])
    [(eid, fields)] = bus.read(topo.alerts, "notify", "c", 10, 10)
    svc.handle(eid, fields)
    assert len(ok.got) == 1
    assert bus.stats(topo.stats) == {"notified": 1, "notify_failures": 1}
    assert bus.pending(topo.alerts, "notify") == 0


def test_stars_span_threshold_to_one_and_importance_decays_with_age() -> None:
    assert [stars_for(v, 0.7) for v in (0.7, 0.79, 0.8, 0.89, 0.9, 1.0)] == [1, 1, 2, 2, 3, 3]
    a = _alert(0.95)
    assert a.stars == 3 and a.latency_seconds == 0.25
    raw = RawItem(
        id="x",
        title="Exchange hacked",
        source="s",
        collector="rss",
        published_at=T0,
        seen_at=T0 + timedelta(hours=6),
        collected_at=T0 + timedelta(hours=6),
    )
    item = OfflineLabeler(lambda: T0).label(raw).model_copy(update={"importance": 0.95})
    now = T0 + timedelta(hours=6)
    assert item_age_hours(item, now) == 6.0  # published six hours before it was collected
    assert decide_alert(item, now, threshold=0.7) is None  # 0.95 / 2 < 0.7
    assert decide_alert(item, now, threshold=0.4) is not None
    assert "bearish" in format_alert(a)
