"""Where alerts go: the console, a Telegram bot, a Discord webhook (httpx + tenacity).

A failed delivery raises :class:`NotifierError` with a message that never contains the bot token
or the webhook URL (both are secrets): httpx puts the URL in its exception texts, so those are
never passed on.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from rich.console import Console
from rich.text import Text
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from feeds.alerts import format_alert
from feeds.models import Alert

TELEGRAM_API = "https://api.telegram.org"


class NotifierError(RuntimeError):
    """A delivery that failed (message safe to print)."""


class Notifier(Protocol):
    name: str

    def send(self, alert: Alert) -> None: ...


class ConsoleNotifier:
    """Prints each alert (data as plain text: no markup is read from headlines)."""

    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()

    def send(self, alert: Alert) -> None:
        self.console.print(Text(format_alert(alert) + f"\n(latency {alert.latency_seconds:.2f}s)"))


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.TransportError):
        return True
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return False


def _post(client: httpx.Client, url: str, payload: dict[str, object], who: str) -> httpx.Response:
    @retry(
        retry=retry_if_exception(_retryable),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.2, max=2),
        reraise=True,
    )
    def go() -> httpx.Response:
        resp = client.post(url, json=payload)
        resp.raise_for_status()
        return resp

    try:
        return go()
    except httpx.HTTPStatusError as exc:
        raise NotifierError(f"{who}: HTTP {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        raise NotifierError(f"{who}: {type(exc).__name__}") from None


class TelegramNotifier:
    """``sendMessage`` of the Bot API to one chat."""

    name = "telegram"

    def __init__(
        self,
        token: str,
        chat_id: str,
        *,
        base_url: str = TELEGRAM_API,
        client: httpx.Client | None = None,
    ) -> None:
        if not token or not chat_id:
            raise NotifierError("telegram: TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are both needed")
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self.chat_id = chat_id
        self.client = client or httpx.Client(timeout=10.0)

    def send(self, alert: Alert) -> None:
        payload = {
            "chat_id": self.chat_id,
            "text": format_alert(alert),
            "disable_web_page_preview": True,
        }
        resp = _post(self.client, self._url, payload, "telegram")
        try:
            ok = bool(resp.json().get("ok"))
        except ValueError:
            ok = False
        if not ok:
            raise NotifierError("telegram: the Bot API did not answer ok")


class DiscordNotifier:
    """A message to a Discord channel webhook (``204 No Content`` on success)."""

    name = "discord"

    def __init__(self, webhook_url: str, *, client: httpx.Client | None = None) -> None:
        if not webhook_url:
            raise NotifierError("discord: DISCORD_WEBHOOK_URL is empty")
        self._url = webhook_url
        self.client = client or httpx.Client(timeout=10.0)

    def send(self, alert: Alert) -> None:
        _post(self.client, self._url, {"content": format_alert(alert)[:2000]}, "discord")
